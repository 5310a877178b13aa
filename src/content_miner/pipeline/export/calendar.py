"""The posting calendar: the recommendations due in the next two weeks, as CSV and iCalendar.

The .ics follows RFC 5545 by hand (no extra dependency): CRLF line ends, lines folded at 75
octets without splitting a UTF-8 character, text escaped, times in UTC `Z` form. UIDs are stable
for a given account, recommendation and time, so re-importing an updated plan updates events
instead of duplicating them.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from content_miner.pipeline.plan import ContentPlan, Recommendation
from content_miner.pipeline.scheduling import CALENDAR_DAYS

EVENT_MINUTES = 15
CSV_COLUMNS = (
    "rank", "id", "publish_at_utc", "slot", "topic", "draft", "hashtags",
    "expected_low", "expected_median", "expected_high",
)


def scheduled(plan: ContentPlan) -> list[Recommendation]:
    """Recommendations whose publish time falls within CALENDAR_DAYS of the plan, soonest first."""
    end = plan.generated_at + timedelta(days=CALENDAR_DAYS)
    due = [r for r in plan.recommendations if plan.generated_at <= r.next_slot_at < end]
    return sorted(due, key=lambda r: (r.next_slot_at, r.rank))


def render_csv(plan: ContentPlan) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in scheduled(plan):
        writer.writerow([
            r.rank, r.id, _utc(r.next_slot_at).isoformat().replace("+00:00", "Z"),
            r.slot.label if r.slot is not None else "usual hour (no best slot claimed)",
            r.topic, r.draft, " ".join(f"#{t}" for t in r.hashtags),
            r.expected_engagement.low, r.expected_engagement.median, r.expected_engagement.high,
        ])
    return out.getvalue()


def _utc(when: datetime) -> datetime:
    return when.astimezone(timezone.utc)


def _stamp(when: datetime) -> str:
    return _utc(when).strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        .replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into 75-octet pieces; continuation lines start with one space."""
    pieces: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    pieces.append(current)
    return "\r\n".join(pieces)


def render_ics(plan: ContentPlan) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//content-recommendation-miner//content plan//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(f'Content plan {plan.platform}/{plan.username}')}",
    ]
    for r in scheduled(plan):
        start = r.next_slot_at
        description = (
            f"{r.draft}\n\nPublish as: {r.format}\nExpected engagement: {r.expected_engagement.low:.0f}-"
            f"{r.expected_engagement.high:.0f} (50 % interval, median {r.expected_engagement.median:.0f})\n"
            f"{r.rationale}"
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{plan.platform}-{plan.username}-{r.id}-{_stamp(start)}@content-miner",
            f"DTSTAMP:{_stamp(plan.generated_at)}",
            f"DTSTART:{_stamp(start)}",
            f"DTEND:{_stamp(start + timedelta(minutes=EVENT_MINUTES))}",
            f"SUMMARY:{_escape(f'Post #{r.rank}: {r.topic}')}",
            f"DESCRIPTION:{_escape(description)}",
            "CATEGORIES:" + ",".join(_escape(t) for t in (r.hashtags or ["content"])),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
