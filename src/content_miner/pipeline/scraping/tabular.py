"""Importer for generic post exports: JSON Lines, a JSON array, or CSV.

Each record has `id`, `text`, `created_at` (ISO 8601), `likes`, `reposts`, `replies` and an
optional `views`. The file's structure must be sound (a broken JSON line or a missing CSV column
fails the import with the line or column named); a record's values are checked in Stage 2, which
drops and counts the unusable ones.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from content_miner.common.json_input import JsonInputError, parse_json
from content_miner.pipeline.models import RawPost
from content_miner.pipeline.scraping.base import ScrapeError
from content_miner.pipeline.scraping.file_importer import FileImporter

REQUIRED_FIELDS = ("id", "text", "created_at", "likes", "reposts", "replies")
OPTIONAL_FIELDS = ("views",)
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv",)


class TabularImporter(FileImporter):
    name = "tabular"
    label = "tabular"

    def parse(self, text: str, path: Path) -> list[RawPost]:
        if path.suffix.lower() in CSV_SUFFIXES:
            return parse_csv(text, label=path.name)
        return parse_json_records(text, label=path.name)


def looks_like_tabular(path: Path) -> bool:
    return path.suffix.lower() in JSON_SUFFIXES + CSV_SUFFIXES


def parse_json_records(text: str, *, label: str) -> list[RawPost]:
    """Posts from a JSON array of objects, or from JSON Lines (one object per non-blank line)."""
    if text.lstrip().startswith("["):
        try:
            records = parse_json(text)
        except JsonInputError as exc:
            where = f" at line {exc.line}" if exc.line else ""
            raise ScrapeError(f"{label} is malformed or truncated: {exc.reason}{where}") from None
        if not isinstance(records, list):
            raise ScrapeError(f"{label} is malformed: expected a list of post objects")
        numbered = [(f"item {index}", record) for index, record in enumerate(records)]
    else:
        numbered = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((f"line {number}", parse_json(line)))
            except JsonInputError as exc:
                raise ScrapeError(
                    f"{label} line {number} is not valid JSON ({exc.reason}); "
                    "the file is malformed or truncated"
                ) from None
    posts = []
    for where, record in numbered:
        if not isinstance(record, dict):
            raise ScrapeError(f"{label} {where} is not a JSON object")
        posts.append(_raw_post({str(key).strip().lower(): value for key, value in record.items()}))
    return posts


def parse_csv(text: str, *, label: str) -> list[RawPost]:
    """Posts from CSV text with a header row naming at least the required columns."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ScrapeError(f"{label} is empty (expected a header row)")
        columns = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED_FIELDS if name not in columns]
        if missing:
            raise ScrapeError(f"{label} is missing column(s): {', '.join(missing)}")
        posts = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            cells = dict(zip(columns, row, strict=False))  # a short row leaves the last columns absent
            posts.append(_raw_post({key: value for key, value in cells.items() if value != ""}))
    except csv.Error as exc:
        raise ScrapeError(f"{label} is not valid CSV at line {reader.line_num}: {exc}") from None
    return posts


def _raw_post(record: dict[str, Any]) -> RawPost:
    return RawPost(
        id=_text_field(record.get("id")),
        text=_text_field(record.get("text")),
        created_at=_text_field(record.get("created_at")),
        likes=record.get("likes"),  # None when absent: Stage 2 counts it as missing
        reposts=record.get("reposts"),
        replies=record.get("replies"),
        views=record.get("views"),
    )


def _text_field(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""
