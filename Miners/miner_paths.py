"""Where everything lives: the data directory and the names inside it, defined once.

The running system writes only under the data directory: `--data-dir` (passed down as
`MINER_DATA_DIR`), else the `MINER_DATA_DIR` environment variable, else `~/.content-miner`.
`MINER_STATUS_FILE` overrides the status file alone.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "MINER_DATA_DIR"
STATUS_FILE_ENV = "MINER_STATUS_FILE"
DEFAULT_DATA_DIR = Path("~/.content-miner")

STATUS_FILE_NAME = "miner_status.json"
HISTORY_FILE_NAME = "stage_history.sqlite3"
ACCOUNT_INBOX = "AccountInfo"
RAW_CACHE = "raw_cache"
VECTOR_INDEX = "vector_index"
EXPORTS = "exports"
IMAGES = "images"
LOGS = "logs"
TOOL_FILES = "tool_files"

# Libraries that keep files of their own under $HOME unless told otherwise: matplotlib (font cache,
# config: MPLCONFIGDIR) and onnxruntime (a device id and a telemetry database under
# $XDG_CACHE_HOME/Microsoft, measured with HOME pointing at an empty folder).
_TOOL_DIRS = {"MPLCONFIGDIR": "matplotlib", "XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config"}


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: `explicit`, else `$MINER_DATA_DIR`, else the default. Not created here."""
    chosen = explicit or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().absolute()


def status_file(explicit_data_dir: str | os.PathLike[str] | None = None) -> Path:
    """`$MINER_STATUS_FILE` if set, else `miner_status.json` in the data directory."""
    override = os.environ.get(STATUS_FILE_ENV)
    if override:
        return Path(override).expanduser().absolute()
    return data_dir(explicit_data_dir) / STATUS_FILE_NAME


def keep_tool_files_inside(data: Path) -> None:
    """Point the libraries' own cache and config folders into `<data>/tool_files/`, for this
    process and the ones it starts. Call before importing matplotlib or onnxruntime."""
    for variable, folder in _TOOL_DIRS.items():
        os.environ[variable] = str(data / TOOL_FILES / folder)
