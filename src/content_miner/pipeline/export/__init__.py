"""Stage 6, Exportation: the content plan as files (see `exporter`)."""

from content_miner.pipeline.export.exporter import ExportedFiles, ExportError, export_directory, export_plan

__all__ = ["ExportError", "ExportedFiles", "export_directory", "export_plan"]
