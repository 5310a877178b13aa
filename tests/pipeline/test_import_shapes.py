"""The common shapes of public post dumps import as published (generated content, real column names).

twint CSV exports, scraped CSVs with a `timestamp` without offset, Twitter API v1.1 JSON arrays,
JSON Lines with archive-style names, and scrapers that mix in other accounts' posts.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.models import RawPost, ScrapeResult
from content_miner.pipeline.retrieval import retrieve
from content_miner.pipeline.scraping import ScrapeSettings, default_providers, scrape

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def _import(path: Path, data_dir: Path, username: str = "acme"):  # type: ignore[no-untyped-def]
    request = AccountRequest(platform="twitter", username=username, source=str(path))
    scraped = scrape(request, layout=DataLayout(data_dir), providers=default_providers(), settings=ScrapeSettings(),
                     now=NOW)
    return retrieve(scraped)


def test_twint_csv_with_epoch_milliseconds_and_conversation_ids(tmp_path: Path) -> None:
    source = tmp_path / "acme.csv"
    source.write_text(
        "id,conversation_id,created_at,date,time,timezone,username,tweet,replies_count,retweets_count,likes_count,"
        "photos,urls,reply_to,quote_url,retweet\n"
        "101,101,1594711683000,2020-07-14,08:28:03,+0100,acme,Launch day for the new rover,4,10,120,"
        "\"['https://pbs.twimg.com/media/a.jpg']\",[],[],,False\n"
        "102,90,1594712683000,2020-07-14,08:44:43,+0100,acme,Exactly,1,0,7,[],[],"
        "\"[{'screen_name': 'bob', 'name': 'Bob', 'id': '1'}]\",,False\n"
        "103,101,1594713683000,2020-07-14,09:01:23,+0100,acme,More details in the thread,0,2,30,[],"
        "\"['https://example.com/specs']\",\"[{'screen_name': 'acme', 'name': 'Acme', 'id': '2'}]\",,False\n"
        "104,104,1594714683000,2020-07-14,09:18:03,+0100,acme,Their words,0,0,3,[],[],[],,True\n"
    )
    retrieved = _import(source, tmp_path / "data")
    launch, reply, thread = retrieved.posts
    assert retrieved.dropped == {"repost": 1} and retrieved.assumed_utc == 0
    assert launch.created_at == datetime(2020, 7, 14, 7, 28, 3, tzinfo=timezone.utc)  # epoch ms, UTC
    assert (launch.likes, launch.reposts, launch.replies) == (120, 10, 4)
    assert launch.has_media and not launch.is_reply and not launch.has_link
    assert reply.is_reply and not reply.is_thread  # another conversation, replying to bob
    assert thread.is_thread and not thread.is_reply and thread.has_link  # replying to itself


def test_csv_with_timestamp_without_offset_is_utc_and_counted(tmp_path: Path) -> None:
    source = tmp_path / "posts.csv"
    source.write_text(
        "id,timestamp,url,tweet,replies,retweets,quotes,likes\n"
        "1,2019-04-25 10:01:00,https://twitter.com/acme/status/1,Big day for the campaign,10,20,3,300\n"
        "2,2019-04-26 18:30:00,https://twitter.com/acme/status/2,@friend thank you,1,0,0,15\n"
    )
    retrieved = _import(source, tmp_path / "data")
    first, second = retrieved.posts
    assert first.created_at == datetime(2019, 4, 25, 10, 1, tzinfo=timezone.utc)
    assert retrieved.assumed_utc == 2  # the plan says so in a note
    assert (first.likes, first.reposts, first.replies) == (300, 20, 10)
    assert second.is_reply  # a leading mention, when the source has no reply field


def test_api_v1_json_array_without_reply_counts(tmp_path: Path) -> None:
    def status(i: int, text: str, **extra: object) -> dict:
        return {"id": i, "id_str": str(i), "text": text, "created_at": f"Tue Aug 22 0{i}:20:50 +0000 2017",
                "favorite_count": 10 * i, "retweet_count": i, "entities": {"urls": [], "hashtags": []},
                "in_reply_to_status_id_str": None, "in_reply_to_screen_name": None, "is_quote_status": False,
                "user": {"screen_name": "Acme"}, **extra}

    source = tmp_path / "statuses.json"
    source.write_text(json.dumps([
        status(1, "Jobs are coming back!", entities={"urls": [], "media": [{"type": "photo"}]}),
        status(2, "@Acme and more tomorrow", in_reply_to_status_id_str="1", in_reply_to_screen_name="acme"),
        status(3, "Read this", entities={"urls": [{"expanded_url": "https://twitter.com/x/status/5"}]},
               is_quote_status=True),
        status(4, "RT @other: something", retweeted_status={"id": 9}),
        status(5, "Not mine", user={"screen_name": "someone_else"}),
        status(6, "Duplicated id", id_str="1"),
    ]))
    retrieved = _import(source, tmp_path / "data")
    media, thread, quote = retrieved.posts
    assert retrieved.dropped == {"repost": 1, "other_account": 1, "duplicate_id": 1}
    assert all(p.replies is None for p in retrieved.posts)  # no reply counts: the formula leaves them out
    assert media.has_media and thread.is_thread and not thread.is_reply
    assert quote.is_quote and not quote.has_link  # a link to a post is a quote, not a link


def test_jsonl_with_archive_names_and_epoch_seconds(tmp_path: Path) -> None:
    source = tmp_path / "posts.jsonl"
    rows = [{"id_str": "7", "full_text": "Shipping it", "timestamp_epochs": 1700000000, "favorite_count": "5",
             "retweets_count": "2"},
            {"id_str": "8", "full_text": "And again, later", "timestamp_epochs": "1700003600", "favorite_count": 1,
             "retweets_count": 0, "reply_count": 3}]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    first, second = _import(source, tmp_path / "data").posts
    assert first.created_at == datetime.fromtimestamp(1700000000, tz=timezone.utc)
    assert (first.likes, first.reposts, first.replies, second.replies) == (5, 2, None, 3)


def test_distinct_short_replies_are_never_near_duplicates() -> None:
    texts = [f"@user{i} Yes" for i in range(40)] + ["Exactly", "@bob Exactly", "Great point"]
    long_post = "Big launch of the new rocket engine tomorrow at the cape, watch it live with us"
    raws = [RawPost(str(i), text, f"2024-01-0{1 + i % 9}T{i % 24:02d}:00:00Z", 3, 0, 0) for i, text in enumerate(texts)]
    raws += [RawPost("a", long_post, "2024-01-10T10:00:00Z", 5, 1, 0),
             RawPost("b", long_post + "!", "2024-01-11T10:00:00Z", 5, 1, 0)]
    retrieved = retrieve(ScrapeResult("twitter", "acme", tuple(raws), "test", NOW))
    assert len(retrieved.posts) == len(texts) + 1 and retrieved.dropped == {"near_duplicate": 1}
