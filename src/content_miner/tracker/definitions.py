"""Stage definitions: which stages each source (module) goes through, what they are called, and how
long they should take. Data, not code: the built-in defaults below, overridable from a TOML file.

    [module1]                      # a source: the `source` its events are written under
    display = "Module 1"           # how the operator's lines name it
    pipeline = true                # its lines keep the spec's exact format (no name in front)
    [[module1.stages]]
    number = 3
    name = "Vector Database"
    description = "embed posts and index them"
    expected_s = 60                # typical duration (the ETA uses the history first)
    max_s = 1800                   # past this the stage is `stalled`

A file's stages are merged into the defaults by number (a listed number replaces the default stage,
a new number is added); a source the defaults do not know is added whole. Any other key, or a value
out of range, is refused with one line naming it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PIPELINE_SOURCE = "module1"
MAX_FILE_BYTES = 256 * 1024


class DefinitionsError(ValueError):
    """The stage definitions file cannot be used; str() is the one-line reason."""


@dataclass(frozen=True)
class StageDef:
    number: int
    name: str
    description: str = ""
    expected_s: float | None = None
    max_s: float | None = None


@dataclass(frozen=True)
class SourceDef:
    source: str
    display: str
    pipeline: bool = False
    stages: Mapping[int, StageDef] = field(default_factory=dict)

    def last_stage(self) -> int | None:
        return max(self.stages) if self.stages else None


@dataclass(frozen=True)
class StageDefinitions:
    sources: Mapping[str, SourceDef]

    def source(self, source: str) -> SourceDef:
        """The source's definition; an unknown source gets Module 1's stages under its own name."""
        found = self.sources.get(source)
        if found is not None:
            return found
        base = self.sources.get(PIPELINE_SOURCE)
        return SourceDef(source, source, False, base.stages if base else {})

    def stage(self, source: str, number: object) -> StageDef | None:
        return self.source(source).stages.get(number) if isinstance(number, int) else None

    def name(self, source: str, number: object) -> str:
        """The stage's name for `source`; an unknown number is named `Stage N`."""
        found = self.stage(source, number)
        return found.name if found else f"Stage {number}"

    def later_stages(self, source: str, number: int) -> list[StageDef]:
        """The stages of `source` after `number`, in order (what a running account still has ahead)."""
        return [stage for n, stage in sorted(self.source(source).stages.items()) if n > number]


def _stages(*stages: StageDef) -> dict[int, StageDef]:
    return {stage.number: stage for stage in stages}


# The spec's eight stages for Module 1 (SPEC.md, DESIGN.md), and Module 2's own. The maxima are
# generous limits for a 10,000-post account on 2 cores: past them a stage is surely stuck.
DEFAULTS = StageDefinitions({
    "module1": SourceDef("module1", "Module 1", True, _stages(
        StageDef(0, "Initialization", "start-up, watchdog waiting cycles"),
        StageDef(1, "Data Scraping", "fetch the account's posts from a provider, or reuse the cache", 5, 1800),
        StageDef(2, "Data Retrieval", "parse, validate, de-duplicate, normalise posts", 2, 600),
        StageDef(3, "Vector Database", "embed posts and index them", 30, 3600),
        StageDef(4, "Time Series Analysis", "engagement by hour, weekday, trend, outliers", 2, 600),
        StageDef(5, "Content Generation", "the recommendations", 10, 1800),
        StageDef(6, "Exportation", "write the content plan files", 2, 600),
        StageDef(7, "Complete", "the plan is ready"),
    )),
    "module2": SourceDef("module2", "Module 2", False, _stages(
        StageDef(0, "Initialization", "start-up of the image generator and query handler"),
        StageDef(1, "Image Rendering", "a card for each recommendation of a new or changed plan", 2, 600),
    )),
    "miner": SourceDef("miner", "Miner", False, {}),
})


def load_definitions(path: str | Path | None, base: StageDefinitions = DEFAULTS) -> StageDefinitions:
    """`base` with the file's definitions merged in; `base` itself without a file."""
    if path is None:
        return base
    where = Path(path)
    try:
        raw = where.read_bytes()
    except OSError as exc:
        raise DefinitionsError(f"stage definitions {where}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DefinitionsError(f"stage definitions {where}: larger than {MAX_FILE_BYTES} bytes")
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DefinitionsError(f"stage definitions {where}: not valid TOML ({exc})") from None
    sources = dict(base.sources)
    for source, table in document.items():
        sources[source] = _source(where, source, table, sources.get(source))
    return StageDefinitions(sources)


def as_document(definitions: StageDefinitions) -> dict[str, Any]:
    """The definitions as a stage file's document (JSON-ready): what the miner publishes in the stage
    log, so that readers in other processes (the status command) judge stages by the same limits."""
    return {source.source: {"display": source.display, "pipeline": source.pipeline, "stages": [
        {key: value for key, value in (("number", stage.number), ("name", stage.name),
                                       ("description", stage.description), ("expected_s", stage.expected_s),
                                       ("max_s", stage.max_s)) if value is not None}
        for _, stage in sorted(source.stages.items())]}
        for source in definitions.sources.values()}


def from_document(document: object, origin: str) -> StageDefinitions:
    """The definitions `as_document` gave (every source whole); DefinitionsError when malformed."""
    if not isinstance(document, dict):
        raise DefinitionsError(f"stage definitions {origin}: not a table of sources")
    return StageDefinitions({source: _source(Path(origin), source, table, None) for source, table in document.items()})


def _source(where: Path, source: str, table: object, default: SourceDef | None) -> SourceDef:
    prefix = f"stage definitions {where}: [{source}]"
    if not isinstance(table, dict):
        raise DefinitionsError(f"{prefix} must be a table")
    unknown = set(table) - {"display", "pipeline", "stages"}
    if unknown:
        raise DefinitionsError(f"{prefix}: unknown key {sorted(unknown)[0]!r} (known: display, pipeline, stages)")
    display = _text(prefix, "display", table.get("display", default.display if default else source))
    pipeline = table.get("pipeline", default.pipeline if default else False)
    if not isinstance(pipeline, bool):
        raise DefinitionsError(f"{prefix}: pipeline must be true or false")
    stages = dict(default.stages) if default else {}
    listed = table.get("stages", [])
    if not isinstance(listed, list):
        raise DefinitionsError(f"{prefix}: stages must be a list of tables ([[{source}.stages]])")
    for entry in listed:
        stage = _stage(prefix, entry)
        stages[stage.number] = stage
    return replace(default or SourceDef(source, display), source=source, display=display, pipeline=pipeline,
                   stages=stages)


def _stage(prefix: str, entry: object) -> StageDef:
    if not isinstance(entry, dict):
        raise DefinitionsError(f"{prefix}: each stage must be a table")
    number = entry.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 999:
        raise DefinitionsError(f"{prefix}: a stage's number must be an integer 0-999, got {number!r}")
    where = f"{prefix} stage {number}"
    unknown = set(entry) - {"number", "name", "description", "expected_s", "max_s"}
    if unknown:
        raise DefinitionsError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    expected = _seconds(where, "expected_s", entry.get("expected_s"))
    most = _seconds(where, "max_s", entry.get("max_s"))
    if expected is not None and most is not None and most < expected:
        raise DefinitionsError(f"{where}: max_s ({most:g}) is below expected_s ({expected:g})")
    return StageDef(number, _text(where, "name", entry.get("name")),
                    _text(where, "description", entry.get("description", ""), allow_empty=True, limit=500),
                    expected, most)


def _text(where: str, key: str, value: Any, *, allow_empty: bool = False, limit: int = 60) -> str:
    if not isinstance(value, str) or (not value.strip() and not allow_empty):
        raise DefinitionsError(f"{where}: {key} must be a non-empty string")
    if len(value) > limit or not value.isprintable():
        raise DefinitionsError(f"{where}: {key} must be at most {limit} printable characters")
    return value.strip()


def _seconds(where: str, key: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise DefinitionsError(f"{where}: {key} must be a number of seconds > 0, got {value!r}")
    return float(value)
