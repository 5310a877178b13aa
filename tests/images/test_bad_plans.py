"""Corrupt, half-written or mismatched plans are skipped with one warning; the service keeps working."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from content_miner.pipeline.plan import SCHEMA_VERSION
from support.module2 import InProcessModule2, plan_file, write_plan, write_plan_bytes
from support.plans import make_plan
from support.waiting import wait_for

NEXT_MAJOR = int(SCHEMA_VERSION.split(".")[0]) + 1
GOOD = make_plan("goodaccount", count=2)
VALID_RAW = make_plan("badaccount", count=2).model_dump_json().encode()

BAD_VERSIONS = {
    "garbage": b"\x00\xffnot json at all",
    "half_written": VALID_RAW[: len(VALID_RAW) // 2],
    "empty": b"",
    "wrong_shape": b'{"platform": "twitter", "username": "badaccount"}',
    "json_array": b"[1, 2, 3]",
    "future_major_version": VALID_RAW.replace(
        f'"schema_version":"{SCHEMA_VERSION}"'.encode(), f'"schema_version":"{NEXT_MAJOR}.0"'.encode()),
    "other_account_inside": make_plan("someoneelse", count=1).model_dump_json().encode(),
    # Deeper than any parser's recursion limit: json raised RecursionError, which escaped as a failed scan.
    "deeply_nested_arrays": b"[" * 200_000 + b"]" * 200_000,
    "deeply_nested_objects": b'{"a":' * 200_000 + b"1" + b"}" * 200_000,
}


def skip_warnings(service: InProcessModule2, label: str = "twitter/badaccount") -> list[str]:
    return [line for line in service.log().splitlines() if f"Skipping content plan {label}" in line]


@pytest.mark.parametrize("name", sorted(BAD_VERSIONS))
def test_bad_plan_is_skipped_good_plan_renders_and_fixing_it_renders_it(service: InProcessModule2, name: str) -> None:
    write_plan_bytes(service.data_dir, "twitter", "badaccount", BAD_VERSIONS[name])
    write_plan(service.data_dir, GOOD)
    service.wait_ready("twitter", "goodaccount")

    account = wait_for(lambda: service.account("twitter", "badaccount"), what="the bad plan to be listed")
    assert account["status"] == "invalid_plan" and account["error"]
    response = service.get("/plans/twitter/badaccount")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("no valid content plan for twitter/badaccount: ")
    assert service.get("/plans/twitter/goodaccount").status_code == 200
    # kept for inspection
    assert plan_file(service.data_dir, "twitter", "badaccount").read_bytes() == BAD_VERSIONS[name]

    warnings = skip_warnings(service)
    assert len(warnings) == 1 and "will retry when the file changes" in warnings[0]
    assert "Traceback" not in service.log()
    assert service.get("/health").json()["scan_errors"] == 0  # a bad plan is a skipped plan, not a failed scan

    write_plan_bytes(service.data_dir, "twitter", "badaccount", VALID_RAW)
    account = service.wait_ready("twitter", "badaccount")
    assert account["images_ready"] == 2 and account["error"] is None


def test_one_warning_per_file_version(service: InProcessModule2) -> None:
    write_plan_bytes(service.data_dir, "twitter", "badaccount", b"{broken")
    wait_for(lambda: len(skip_warnings(service)) == 1, what="the first warning")
    scans = service.get("/health").json()["scans"]
    wait_for(lambda: service.get("/health").json()["scans"] >= scans + 5, what="five more scans")
    assert len(skip_warnings(service)) == 1  # the same bytes are not reported again

    write_plan_bytes(service.data_dir, "twitter", "badaccount", b"{broken differently")
    wait_for(lambda: len(skip_warnings(service)) == 2, what="a warning for the new version")


def test_corrupt_update_keeps_serving_the_last_good_plan(service: InProcessModule2) -> None:
    write_plan(service.data_dir, GOOD)
    ready = service.wait_ready("twitter", "goodaccount")
    write_plan_bytes(service.data_dir, "twitter", "goodaccount", b'{"half": ')
    wait_for(lambda: len(skip_warnings(service, "twitter/goodaccount")) == 1, what="the warning")

    account = service.account("twitter", "goodaccount")
    assert account is not None and account["status"] == "ready"
    assert account["plan_sha256"] == ready["plan_sha256"] and account["error"].startswith("newer plan file skipped")
    assert service.get("/plans/twitter/goodaccount").json()["username"] == "goodaccount"
    assert service.image("/images/twitter/goodaccount/rec-02.png").size == (1200, 675)


def test_plan_that_is_a_symlink_loop_is_ignored_and_the_others_are_rendered(service: InProcessModule2) -> None:
    link = plan_file(service.data_dir, "twitter", "loop")
    link.parent.mkdir(parents=True)
    link.symlink_to(link.name)  # resolving it raised RuntimeError, which failed every scan of every account
    write_plan(service.data_dir, GOOD)
    service.wait_ready("twitter", "goodaccount")
    assert service.get("/health").json()["scan_errors"] == 0
    assert service.get("/plans/twitter/loop").status_code == 404


def test_directories_with_unsafe_names_are_ignored(service: InProcessModule2) -> None:
    weird = service.data_dir / "exports" / "twitter" / "bad name"
    weird.mkdir(parents=True)
    (weird / "content_plan.json").write_bytes(VALID_RAW)
    write_plan(service.data_dir, GOOD)
    service.wait_ready("twitter", "goodaccount")
    assert [a["username"] for a in service.get("/accounts").json()["accounts"]] == ["goodaccount"]


def _directory_in_its_place(path: Path) -> str:
    path.mkdir(parents=True)
    return "cannot read content_plan.json: it is a directory"


def _unreadable_mode(path: Path) -> str:
    path.parent.mkdir(parents=True)
    hidden = path.with_name(".unreadable.tmp")
    hidden.write_bytes(VALID_RAW)
    hidden.chmod(0)  # before it takes the plan's name, so the service never sees it readable
    os.replace(hidden, path)
    return "cannot read content_plan.json: Permission denied"


def _readable_again(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
        write_plan_bytes(path.parents[3], "twitter", "badaccount", VALID_RAW)
    else:
        path.chmod(0o644)  # the bytes do not change: only retrying every scan notices


UNREADABLE = [
    pytest.param(_directory_in_its_place, id="directory_in_its_place"),
    pytest.param(
        _unreadable_mode,
        id="mode_000",
        marks=pytest.mark.skipif(
            os.geteuid() == 0, reason="root reads a file whatever its mode; the directory case covers root"
        ),
    ),
]


@pytest.mark.parametrize("make_unreadable", UNREADABLE)
def test_unreadable_plan_is_listed_with_its_reason_warned_once_and_read_when_it_can_be(
    service: InProcessModule2, make_unreadable: Callable[[Path], str]
) -> None:
    reason = make_unreadable(plan_file(service.data_dir, "twitter", "badaccount"))
    account = wait_for(lambda: service.account("twitter", "badaccount"), what="the unreadable plan to be listed")
    assert account["status"] == "invalid_plan" and account["error"] == reason
    scans = service.get("/health").json()["scans"]
    wait_for(lambda: service.get("/health").json()["scans"] >= scans + 5, what="five more scans")
    warnings = skip_warnings(service)
    assert len(warnings) == 1 and reason in warnings[0]
    assert "Traceback" not in service.log()

    _readable_again(plan_file(service.data_dir, "twitter", "badaccount"))
    assert service.wait_ready("twitter", "badaccount")["error"] is None
