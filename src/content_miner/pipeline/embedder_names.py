"""The embedders' names, importable without loading any model library (the entry point checks flags
against them before its heavy imports)."""

from __future__ import annotations

from typing import Final

MINILM_NAME: Final = "all-MiniLM-L6-v2-onnx-int8"
LEXICAL_NAME: Final = "lexical-char-hashing-fallback"
EMBEDDER_NAMES: Final = (MINILM_NAME, LEXICAL_NAME)
