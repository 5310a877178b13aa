"""Corrupt, half-written or mismatched plans are skipped with one warning; the service keeps working."""

from __future__ import annotations

import pytest
from module2_helpers import Module2, plan_file, wait_for, write_plan, write_plan_bytes
from plan_factory import make_plan

GOOD = make_plan("goodaccount", count=2)
VALID_RAW = make_plan("badaccount", count=2).model_dump_json().encode()

BAD_VERSIONS = {
    "garbage": b"\x00\xffnot json at all",
    "half_written": VALID_RAW[: len(VALID_RAW) // 2],
    "empty": b"",
    "wrong_shape": b'{"platform": "twitter", "username": "badaccount"}',
    "json_array": b"[1, 2, 3]",
    "future_major_version": VALID_RAW.replace(b'"schema_version":"1.1"', b'"schema_version":"2.0"'),
    "other_account_inside": make_plan("someoneelse", count=1).model_dump_json().encode(),
}


def skip_warnings(service: Module2, label: str = "twitter/badaccount") -> list[str]:
    return [line for line in service.log().splitlines() if f"Skipping content plan {label}" in line]


@pytest.mark.parametrize("name", sorted(BAD_VERSIONS))
def test_bad_plan_is_skipped_good_plan_renders_and_fixing_it_renders_it(service: Module2, name: str) -> None:
    write_plan_bytes(service.data_dir, "twitter", "badaccount", BAD_VERSIONS[name])
    write_plan(service.data_dir, GOOD)
    service.wait_ready("twitter", "goodaccount")

    account = wait_for(lambda: service.account("twitter", "badaccount"), what="the bad plan to be listed")
    assert account["status"] == "invalid_plan" and account["error"]
    response = service.get("/plans/twitter/badaccount")
    assert response.status_code == 404 and response.json()["detail"].startswith("no valid content plan for twitter/badaccount: ")
    assert service.get("/plans/twitter/goodaccount").status_code == 200
    assert plan_file(service.data_dir, "twitter", "badaccount").read_bytes() == BAD_VERSIONS[name]  # kept for inspection

    warnings = skip_warnings(service)
    assert len(warnings) == 1 and "will retry when the file changes" in warnings[0]
    assert "Traceback" not in service.log()

    write_plan_bytes(service.data_dir, "twitter", "badaccount", VALID_RAW)
    account = service.wait_ready("twitter", "badaccount")
    assert account["images_ready"] == 2 and account["error"] is None


def test_one_warning_per_file_version(service: Module2) -> None:
    write_plan_bytes(service.data_dir, "twitter", "badaccount", b"{broken")
    wait_for(lambda: len(skip_warnings(service)) == 1, what="the first warning")
    scans = service.get("/health").json()["scans"]
    wait_for(lambda: service.get("/health").json()["scans"] >= scans + 5, what="five more scans")
    assert len(skip_warnings(service)) == 1  # the same bytes are not reported again

    write_plan_bytes(service.data_dir, "twitter", "badaccount", b"{broken differently")
    wait_for(lambda: len(skip_warnings(service)) == 2, what="a warning for the new version")


def test_corrupt_update_keeps_serving_the_last_good_plan(service: Module2) -> None:
    write_plan(service.data_dir, GOOD)
    ready = service.wait_ready("twitter", "goodaccount")
    write_plan_bytes(service.data_dir, "twitter", "goodaccount", b'{"half": ')
    wait_for(lambda: len(skip_warnings(service, "twitter/goodaccount")) == 1, what="the warning")

    account = service.account("twitter", "goodaccount")
    assert account is not None and account["status"] == "ready"
    assert account["plan_sha256"] == ready["plan_sha256"] and account["error"].startswith("newer plan file skipped")
    assert service.get("/plans/twitter/goodaccount").json()["username"] == "goodaccount"
    assert service.image("/images/twitter/goodaccount/rec-02.png").size == (1200, 675)


def test_directories_with_unsafe_names_are_ignored(service: Module2) -> None:
    weird = service.data_dir / "exports" / "twitter" / "bad name"
    weird.mkdir(parents=True)
    (weird / "content_plan.json").write_bytes(VALID_RAW)
    write_plan(service.data_dir, GOOD)
    service.wait_ready("twitter", "goodaccount")
    assert [a["username"] for a in service.get("/accounts").json()["accounts"]] == ["goodaccount"]
