"""Where everything lives: the data directory and every path inside it, defined once.

The running system writes only under the data directory: `--data-dir`, else the `MINER_DATA_DIR`
environment variable, else `~/.content-miner`. `MINER_STATUS_FILE` overrides the status file alone.
Entry points resolve the directory once (`DataLayout.from_settings`) and pass the layout down; no
other module reads those variables or builds a data-directory path by hand.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from content_miner.common.account import AccountKey

DATA_DIR_ENV = "MINER_DATA_DIR"
STATUS_FILE_ENV = "MINER_STATUS_FILE"
DEFAULT_DATA_DIR = Path("~/.content-miner")

STATUS_FILE_NAME = "miner_status.json"
STAGE_LOG_FILE_NAME = "stage_log.sqlite3"
STAGE_SPILL_PREFIX = "stage_log.spill-"  # + <pid>-<token>.jsonl
STAGE_SPILL_SUFFIX = ".jsonl"
JOBS_FILE_NAME = "jobs.sqlite3"
ACCOUNT_INBOX = "AccountInfo"
RAW_CACHE = "raw_cache"
VECTOR_INDEX = "vector_index"
VECTOR_CACHE = "vector_cache"
RETRIEVED_CACHE = "retrieved_cache"
MODELS = "models"
EXPORTS = "exports"
IMAGES = "images"
LOGS = "logs"
TOOL_FILES = "tool_files"
WALLETS = "wallets"
RUN = "run"
SAMPLES = "samples"

# Libraries that keep files of their own under $HOME unless told otherwise: matplotlib (font cache,
# config: MPLCONFIGDIR) and onnxruntime (a device id and a telemetry database under
# $XDG_CACHE_HOME/Microsoft, measured with HOME pointing at an empty folder).
_TOOL_DIRS = {"MPLCONFIGDIR": "matplotlib", "XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config"}


def data_dir(explicit: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The data directory: `explicit`, else `$MINER_DATA_DIR`, else the default. Not created here."""
    env = os.environ if environ is None else environ
    chosen = explicit or env.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().absolute()


def status_file(explicit_data_dir: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None) -> Path:
    """`$MINER_STATUS_FILE` if set, else `miner_status.json` in the data directory."""
    env = os.environ if environ is None else environ
    override = env.get(STATUS_FILE_ENV)
    if override:
        return Path(override).expanduser().absolute()
    return data_dir(explicit_data_dir, env) / STATUS_FILE_NAME


def stage_log_beside(status_file: Path) -> Path:
    """The stage log (SQLite) lives beside the status file, so `MINER_STATUS_FILE` moves both."""
    return status_file.with_name(STAGE_LOG_FILE_NAME)


def stage_spill_file(status_file: Path, pid: int, token: str) -> Path:
    """Where a process keeps the stage events it could not write into the log before it exited."""
    return status_file.with_name(f"{STAGE_SPILL_PREFIX}{pid}-{token}{STAGE_SPILL_SUFFIX}")


def stage_spill_files(status_file: Path) -> list[Path]:
    """Spill files waiting to be merged into the stage log, oldest first."""
    found = []
    for path in status_file.parent.glob(f"{STAGE_SPILL_PREFIX}*{STAGE_SPILL_SUFFIX}"):
        try:
            found.append((path.stat().st_mtime, path.name, path))
        except OSError:  # merged and removed by another process meanwhile
            continue
    return [path for _, _, path in sorted(found)]


def keep_tool_files_inside(data: Path) -> None:
    """Point the libraries' own cache and config folders into `<data>/tool_files/`, for this
    process and the ones it starts. Call before importing matplotlib or onnxruntime."""
    for variable, folder in _TOOL_DIRS.items():
        os.environ[variable] = str(data / TOOL_FILES / folder)


@dataclass(frozen=True)
class DataLayout:
    """Every path under one data directory. Nothing is created here."""

    root: Path
    status_override: Path | None = None  # $MINER_STATUS_FILE

    @classmethod
    def from_settings(cls, explicit: str | os.PathLike[str] | None = None,
                      environ: Mapping[str, str] | None = None) -> DataLayout:
        """The layout an entry point uses: `--data-dir`, else the environment, else the default."""
        env = os.environ if environ is None else environ
        override = env.get(STATUS_FILE_ENV)
        return cls(data_dir(explicit, env), Path(override).expanduser().absolute() if override else None)

    # -- the stage tracker --------------------------------------------------------------------
    @property
    def status_file(self) -> Path:
        return self.status_override or self.root / STATUS_FILE_NAME

    @property
    def stage_log(self) -> Path:
        return stage_log_beside(self.status_file)

    # -- Module 1 -----------------------------------------------------------------------------
    @property
    def inbox(self) -> Path:
        return self.root / ACCOUNT_INBOX

    @property
    def inbox_processing(self) -> Path:
        return self.inbox / "processing"

    @property
    def inbox_processed(self) -> Path:
        return self.inbox / "processed"

    @property
    def inbox_failed(self) -> Path:
        return self.inbox / "failed"

    @property
    def jobs(self) -> Path:
        return self.root / JOBS_FILE_NAME

    @property
    def module1_lock(self) -> Path:
        return self.root / "module1.lock"

    @property
    def raw_cache(self) -> Path:
        return self.root / RAW_CACHE

    @property
    def retrieved_cache(self) -> Path:
        """Stage 2's output for the raw cache file it was made from (re-runs skip the parsing)."""
        return self.root / RETRIEVED_CACHE

    def account_retrieved(self, key: AccountKey) -> Path:
        directory = key.directory(self.retrieved_cache)
        return directory.with_name(directory.name + ".json")

    @property
    def vector_index(self) -> Path:
        return self.root / VECTOR_INDEX

    @property
    def vector_cache(self) -> Path:
        """Each account's post vectors as Stage 3 last wrote them to the index (re-runs read them here)."""
        return self.root / VECTOR_CACHE

    def account_vectors(self, key: AccountKey, collection: str) -> Path:
        directory = key.directory(self.vector_cache / collection)
        return directory.with_name(directory.name + ".npz")

    @property
    def models(self) -> Path:
        return self.root / MODELS

    def account_model_dir(self, key: AccountKey) -> Path:
        """The account's fitted engagement model (`predict` reads it) and the fits a re-run reuses."""
        return key.directory(self.models)

    def account_engagement_model(self, key: AccountKey) -> Path:
        return self.account_model_dir(key) / "engagement_model.npz"

    def account_fit_cache(self, key: AccountKey) -> Path:
        return self.account_model_dir(key) / "fits.npz"

    @property
    def exports(self) -> Path:
        return self.root / EXPORTS

    def account_exports(self, key: AccountKey) -> Path:
        return key.directory(self.exports)

    def account_backtest(self, key: AccountKey) -> Path:
        """The account's last back-test (`Miners/main.py backtest`), beside its plan."""
        return self.account_exports(key) / "backtest.json"

    def account_raw_cache(self, key: AccountKey) -> Path:
        return key.directory(self.raw_cache)

    # -- Module 2 -----------------------------------------------------------------------------
    @property
    def images(self) -> Path:
        return self.root / IMAGES

    def account_images(self, key: AccountKey) -> Path:
        return key.directory(self.images)

    # -- the miner and its processes ----------------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.root / LOGS

    def module_log(self, source: str) -> Path:
        return self.logs / f"{source}.log"

    @property
    def wallets(self) -> Path:
        return self.root / WALLETS

    @property
    def run(self) -> Path:
        """Files that say how to reach a running process (its ports), rewritten at each start."""
        return self.root / RUN

    def endpoint_file(self, process: str) -> Path:
        return self.run / f"{process}.json"

    @property
    def samples(self) -> Path:
        return self.root / SAMPLES

    @property
    def tool_files(self) -> Path:
        return self.root / TOOL_FILES
