"""Importer for generic post exports: JSON Lines, a JSON array, or CSV.

Each record has `id`, `text`, `created_at`, `likes`, `reposts`, and optionally `replies` and
`views`, under any of the names public dumps use (`record_fields.FIELD_ALIASES`: `tweet`,
`full_text`, `likes_count`, `favorite_count`, `retweets`, `retweet_count`, `replies_count`,
`id_str`, `timestamp`, ...). `created_at` may be ISO 8601 (without an offset it is taken as UTC),
X's classic format, or epoch seconds or milliseconds; twint's `date` + `time` pair works too.
Format fields a dump has (replies, quotes, media, links, re-posts) are kept (`post_format`).

The file's structure must be sound (a broken JSON line or a missing CSV column fails the import
with the line or column named); a record's values are checked in Stage 2, which drops and counts
the unusable ones.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from content_miner.common.account import AccountKey
from content_miner.common.json_input import JsonInputError, parse_json
from content_miner.pipeline.models import RawPost
from content_miner.pipeline.scraping.base import ScrapeError
from content_miner.pipeline.scraping.file_importer import FileImporter
from content_miner.pipeline.scraping.post_format import format_flags
from content_miner.pipeline.scraping.record_fields import (
    REQUIRED,
    described,
    first_present,
    lower_keys,
    missing_columns,
    text_field,
)

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv",)


class TabularImporter(FileImporter):
    name = "tabular"
    label = "tabular"

    def parse(self, text: str, path: Path, account: AccountKey | None = None) -> list[RawPost]:
        if path.suffix.lower() in CSV_SUFFIXES:
            return parse_csv(text, label=path.name, account=account)
        return parse_json_records(text, label=path.name, account=account)


def looks_like_tabular(path: Path) -> bool:
    return path.suffix.lower() in JSON_SUFFIXES + CSV_SUFFIXES


def parse_json_records(text: str, *, label: str, account: AccountKey | None = None) -> list[RawPost]:
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
        posts.append(raw_post(lower_keys(record), account))
    return posts


def parse_csv(text: str, *, label: str, account: AccountKey | None = None,
              required: tuple[str, ...] = REQUIRED) -> list[RawPost]:
    """Posts from CSV text with a header row naming at least the `required` columns (any alias)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ScrapeError(f"{label} is empty (expected a header row)")
        columns = [name.strip().lower() for name in header]
        missing = missing_columns(columns, required)
        if missing:
            raise ScrapeError(f"{label} is missing column(s): {'; '.join(described(name) for name in missing)}")
        posts = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            cells = dict(zip(columns, row, strict=False))  # a short row leaves the last columns absent
            posts.append(raw_post({key: value for key, value in cells.items() if value != ""}, account))
    except csv.Error as exc:
        raise ScrapeError(f"{label} is not valid CSV at line {reader.line_num}: {exc}") from None
    return posts


def raw_post(record: dict[str, Any], account: AccountKey | None = None) -> RawPost:
    """One RawPost from a record with lower-case keys, whatever names the dump uses."""
    post_id = text_field(first_present(record, "id"))
    created_at = text_field(first_present(record, "created_at"))
    if created_at and created_at == text_field(record.get("date")) and record.get("time"):
        created_at = f"{created_at} {text_field(record.get('time'))}"  # twint's date + time columns
    flags = format_flags(record, post_id, account)
    return RawPost(
        id=post_id,
        text=text_field(first_present(record, "text")),
        created_at=created_at,
        likes=first_present(record, "likes"),  # None when absent: Stage 2 counts it as missing
        reposts=first_present(record, "reposts"),
        replies=first_present(record, "replies"),  # None when absent: the source has no reply counts
        views=first_present(record, "views"),
        is_reply=flags.is_reply,
        is_thread=flags.is_thread,
        is_quote=flags.is_quote,
        has_media=flags.has_media,
        has_link=flags.has_link,
        is_repost=flags.is_repost,
        author=flags.author,
    )
