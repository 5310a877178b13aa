"""Job records: one per account submitted to Module 1, the single answer to "where is it now?".

One SQLite database (`jobs.sqlite3`, WAL) in the data directory. A job is created when an account is
submitted (by the miner for a validator, by `--mock` for the sample, or by Module 1 itself for a file
dropped in `AccountInfo/` by hand) and moved through its states by Module 1:

    queued -> running -> done (plan fingerprint, recommendations) | failed (reason)
    running -> queued   when Module 1 was stopped mid-account (the file went back to the inbox)

The inbox file of a submitted job is named after it (`job-<id>.json`), so Module 1 never guesses
which job a file belongs to, and the miner never guesses a job's state from folders or timestamps.
Submissions coalesce (an account already queued or running is not queued twice) and obey limits (per
submitter and in total); Module 1 takes queued jobs in a fair order: round-robin by submitter, the
larger stake first among equals, then oldest first.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from content_miner.common.account import AccountKey

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
OUTSTANDING = (QUEUED, RUNNING)
OPERATOR = "operator"  # the submitter of files dropped into the inbox by hand
JOB_FILE = re.compile(r"job-([0-9a-f]{32})\.json")
MAX_REASON_CHARS = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    username TEXT NOT NULL,
    submitter TEXT NOT NULL,
    stake REAL NOT NULL DEFAULT 0,
    force_fresh INTEGER NOT NULL DEFAULT 0,
    max_posts INTEGER,
    state TEXT NOT NULL,
    stage INTEGER,
    stage_name TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    failure_reason TEXT,
    plan_fingerprint TEXT,
    recommendations INTEGER,
    inbox_file TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_account ON jobs (platform, username, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_file ON jobs (inbox_file);
"""


@dataclass(frozen=True)
class Job:
    id: str
    platform: str
    username: str
    submitter: str
    stake: float
    force_fresh: bool
    max_posts: int | None
    state: str
    stage: int | None
    stage_name: str | None
    attempts: int
    failure_reason: str | None
    plan_fingerprint: str | None
    recommendations: int | None
    inbox_file: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float

    @property
    def key(self) -> AccountKey:
        return AccountKey(self.platform, self.username)

    @property
    def outstanding(self) -> bool:
        return self.state in OUTSTANDING


@dataclass(frozen=True)
class JobLimits:
    max_per_submitter: int = 20  # outstanding (queued or running) jobs of one submitter
    max_queued: int = 500  # queued jobs in all


@dataclass(frozen=True)
class Submission:
    job: Job | None  # the new job, or the one the submission coalesced with; None when refused
    created: bool  # a new job was queued (its inbox file is the caller's to write)
    refused: str = ""  # why no job was queued (a limit); "" otherwise


@dataclass(frozen=True)
class QueueSummary:
    queued: int
    running: int
    oldest_queued_at: float | None
    by_submitter: dict[str, int]  # outstanding jobs per submitter


def job_file_name(job_id: str) -> str:
    return f"job-{job_id}.json"


def job_id_of(file_name: str) -> str | None:
    """The job a submitted inbox file belongs to (Module 1 may have added a time stamp since)."""
    stem = file_name.split(".", 1)[0]
    match = JOB_FILE.fullmatch(stem + ".json")
    return match.group(1) if match else None


class JobStore:
    """Job records in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Iterable[object] = ()) -> list[Job]:
        with self._lock:
            return [Job(**dict(row)) for row in self._db.execute(sql, tuple(params))]

    # -- submitting ---------------------------------------------------------------------------

    def submit(self, key: AccountKey, *, submitter: str, stake: float = 0.0, force_fresh: bool = False,
               max_posts: int | None = None, limits: JobLimits | None = None) -> Submission:
        """Queue `key` unless it is queued or running already (the submission joins that job) or a
        limit forbids it. Looking and inserting happen in one transaction."""
        limits = limits or JobLimits()
        now = self.clock()
        with self._write() as db:
            current = db.execute(
                "SELECT * FROM jobs WHERE platform = ? AND username = ? AND state IN (?, ?) "
                "ORDER BY created_at DESC LIMIT 1", (key.platform, key.username, *OUTSTANDING)).fetchone()
            if current is not None:
                return Submission(Job(**dict(current)), created=False)
            mine = db.execute("SELECT COUNT(*) FROM jobs WHERE submitter = ? AND state IN (?, ?)",
                              (submitter, *OUTSTANDING)).fetchone()[0]
            if mine >= limits.max_per_submitter:
                return Submission(None, False, f"{submitter} already has {mine} accounts queued or in progress "
                                               f"(at most {limits.max_per_submitter})")
            queued = db.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (QUEUED,)).fetchone()[0]
            if queued >= limits.max_queued:
                return Submission(None, False, f"the queue is full ({queued} accounts waiting, at most "
                                               f"{limits.max_queued}); ask again later")
            job_id = uuid.uuid4().hex
            db.execute(
                "INSERT INTO jobs (id, platform, username, submitter, stake, force_fresh, max_posts, state, "
                "inbox_file, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, key.platform, key.username, submitter, float(stake), int(force_fresh), max_posts, QUEUED,
                 job_file_name(job_id), now, now))
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Submission(Job(**dict(row)), created=True)

    def register_file(self, key: AccountKey, inbox_file: str, *, force_fresh: bool = False,
                      max_posts: int | None = None) -> Job:
        """The job of an inbox file dropped by hand (created the first time Module 1 sees the file)."""
        now = self.clock()
        with self._write() as db:
            row = db.execute("SELECT * FROM jobs WHERE inbox_file = ? AND submitter = ? AND state IN (?, ?)",
                             (inbox_file, OPERATOR, *OUTSTANDING)).fetchone()
            if row is None:
                job_id = uuid.uuid4().hex
                db.execute(
                    "INSERT INTO jobs (id, platform, username, submitter, force_fresh, max_posts, state, inbox_file, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job_id, key.platform, key.username, OPERATOR, int(force_fresh), max_posts, QUEUED, inbox_file,
                     now, now))
                row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job(**dict(row))

    # -- Module 1 moves a job along -----------------------------------------------------------

    def _update(self, job_id: str, **fields: object) -> None:
        fields["updated_at"] = self.clock()
        names = ", ".join(f"{name} = ?" for name in fields)
        with self._write() as db:
            db.execute(f"UPDATE jobs SET {names} WHERE id = ?", (*fields.values(), job_id))

    def start(self, job_id: str) -> None:
        now = self.clock()
        with self._write() as db:
            db.execute("UPDATE jobs SET state = ?, attempts = attempts + 1, started_at = ?, stage = NULL, "
                       "stage_name = NULL, failure_reason = NULL, updated_at = ? WHERE id = ?",
                       (RUNNING, now, now, job_id))

    def set_stage(self, job_id: str, stage: int, stage_name: str) -> None:
        self._update(job_id, stage=stage, stage_name=stage_name)

    def finish(self, job_id: str, *, plan_fingerprint: str, recommendations: int) -> None:
        self._update(job_id, state=DONE, plan_fingerprint=plan_fingerprint, recommendations=recommendations,
                     finished_at=self.clock())

    def fail(self, job_id: str, reason: str) -> None:
        self._update(job_id, state=FAILED, failure_reason=" ".join(reason.split())[:MAX_REASON_CHARS],
                     finished_at=self.clock())

    def requeue(self, job_id: str, *, inbox_file: str | None = None) -> None:
        """Module 1 stopped mid-account; its file is back in the inbox (renamed `inbox_file`, if given)
        and the job waits again."""
        fields: dict[str, object] = {"state": QUEUED, "stage": None, "stage_name": None}
        if inbox_file is not None:
            fields["inbox_file"] = inbox_file
        self._update(job_id, **fields)

    # -- reading ------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        found = self._rows("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return found[0] if found else None

    def latest(self, key: AccountKey) -> Job | None:
        """The account's most recent job (an outstanding one before any finished one)."""
        found = self._rows(
            "SELECT * FROM jobs WHERE platform = ? AND username = ? "
            "ORDER BY state IN ('queued', 'running') DESC, created_at DESC LIMIT 1", (key.platform, key.username))
        return found[0] if found else None

    def latest_done(self, key: AccountKey) -> Job | None:
        found = self._rows("SELECT * FROM jobs WHERE platform = ? AND username = ? AND state = ? "
                           "ORDER BY finished_at DESC LIMIT 1", (key.platform, key.username, DONE))
        return found[0] if found else None

    def in_state(self, *states: str) -> list[Job]:
        marks = ", ".join("?" for _ in states)
        return self._rows(f"SELECT * FROM jobs WHERE state IN ({marks}) ORDER BY created_at", states)

    def fair_order(self, jobs: list[Job]) -> list[Job]:
        """`jobs` (queued ones) in the order Module 1 takes them: the submitter served longest ago
        first (round-robin), then the larger stake, then the oldest job."""
        with self._lock:
            served = {row[0]: row[1] for row in self._db.execute(
                "SELECT submitter, MAX(started_at) FROM jobs WHERE started_at IS NOT NULL GROUP BY submitter")}
        return sorted(jobs, key=lambda job: (served.get(job.submitter) or 0.0, -job.stake, job.created_at))

    def queue_position(self, job: Job) -> int:
        """1 for the job Module 1 takes next."""
        order = self.fair_order(self.in_state(QUEUED))
        return next((index for index, queued in enumerate(order, start=1) if queued.id == job.id), len(order) + 1)

    def summary(self) -> QueueSummary:
        with self._lock:
            counts = dict(self._db.execute(
                "SELECT state, COUNT(*) FROM jobs WHERE state IN (?, ?) GROUP BY state", OUTSTANDING).fetchall())
            oldest = self._db.execute("SELECT MIN(created_at) FROM jobs WHERE state = ?", (QUEUED,)).fetchone()[0]
            per = dict(self._db.execute("SELECT submitter, COUNT(*) FROM jobs WHERE state IN (?, ?) GROUP BY submitter",
                                        OUTSTANDING).fetchall())
        return QueueSummary(counts.get(QUEUED, 0), counts.get(RUNNING, 0), oldest, per)

    # -- housekeeping -------------------------------------------------------------------------

    def prune(self, *, keep_days: float, keep_finished: int) -> int:
        """Forget finished jobs older than `keep_days`, and all but the newest `keep_finished`."""
        cutoff = self.clock() - keep_days * 86400.0
        with self._write() as db:
            gone = db.execute(
                "DELETE FROM jobs WHERE state IN (?, ?) AND updated_at < ?", (DONE, FAILED, cutoff)).rowcount
            gone += db.execute(
                "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN (?, ?) "
                "ORDER BY updated_at DESC LIMIT -1 OFFSET ?)", (DONE, FAILED, keep_finished)).rowcount
        return gone
