"""Unknown names give 404, malformed names 400, and no request can read outside the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from module2_helpers import Module2, wait_for, write_plan
from plan_factory import make_plan, recommendation

SECRET = b"TOP-SECRET-OUTSIDE-DATA-DIR"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the data directory holding things no request may read."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_bytes(SECRET)
    (path / "rec-01.png").write_bytes(SECRET)
    return path


@pytest.fixture
def ready_service(service: Module2) -> Module2:
    write_plan(service.data_dir, make_plan("elonmusk", count=2))
    service.wait_ready("twitter", "elonmusk")
    return service


def test_unknown_account_is_404_with_a_clear_message(ready_service: Module2) -> None:
    for path in ("/plans/twitter/nobody", "/accounts/twitter/nobody", "/images/twitter/nobody/rec-01.png"):
        response = ready_service.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "no content plan for twitter/nobody"}


def test_unknown_recommendation_is_404_with_a_clear_message(ready_service: Module2) -> None:
    response = ready_service.get("/images/twitter/elonmusk/rec-99.png")
    assert response.status_code == 404
    assert response.json() == {"detail": "no recommendation 'rec-99' in the content plan for twitter/elonmusk"}


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/plans/Twitter/elonmusk", "platform"),
        ("/plans/twitter/bad$name", "username"),
        ("/plans/twitter/.hidden", "username"),
        ("/images/twitter/elonmusk/rec 01.png", "recommendation id"),
        ("/images/twitter/elonmusk/.png", "recommendation id"),
    ],
)
def test_malformed_names_are_400_naming_the_rule(ready_service: Module2, path: str, kind: str) -> None:
    response = ready_service.get(path)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"invalid {kind} ")


@pytest.mark.parametrize(
    "raw_path",
    [
        "/plans/twitter/..",
        "/plans/../../../etc/passwd",
        "/plans/twitter/..%2F..%2F..%2Fetc%2Fpasswd",
        "/plans/twitter/%2e%2e",
        "/plans/twitter/%2Fetc%2Fpasswd",
        "//etc/passwd",
        "/plans//etc/passwd",
        "/images/twitter/elonmusk/..%2F..%2F..%2Fminer_status.json",
        "/images/twitter/elonmusk/%2e%2e%2f%2e%2e%2f%2e%2e%2foutside%2fsecret.txt",
        "/images/twitter/elonmusk//tmp/secret.txt",
        "/images/twitter/elonmusk/rec-01.png%00.txt",
        "/images/twitter/..%5C..%5Coutside/rec-01.png",
        "/images/..%2F..%2Foutside/x/rec-01.png",
    ],
)
def test_traversal_attempts_read_nothing(ready_service: Module2, outside: Path, raw_path: str) -> None:
    status, body = ready_service.raw_get(raw_path)
    assert status in (400, 404), (raw_path, status, body[:200])
    assert SECRET not in body and b"root:" not in body
    assert body.startswith(b'{"detail":')


def test_symlinked_account_directory_pointing_outside_is_never_served(ready_service: Module2, outside: Path) -> None:
    evil = make_plan("mallory", recommendations=[recommendation(1, draft=SECRET.decode())])
    (outside / "content_plan.json").write_bytes(evil.model_dump_json().encode())
    link = ready_service.data_dir / "exports" / "twitter" / "mallory"
    link.symlink_to(outside, target_is_directory=True)
    write_plan(ready_service.data_dir, make_plan("sentinel", count=1))  # rendered after a scan that saw the link
    ready_service.wait_ready("twitter", "sentinel")

    assert ready_service.get("/plans/twitter/mallory").status_code == 404
    assert "mallory" not in ready_service.get("/accounts").text
    assert not (ready_service.data_dir / "images" / "twitter" / "mallory").exists()


def test_symlinked_plan_file_pointing_outside_is_never_served(ready_service: Module2, outside: Path) -> None:
    evil = make_plan("eve", recommendations=[recommendation(1, draft=SECRET.decode())])
    (outside / "eve_plan.json").write_bytes(evil.model_dump_json().encode())
    account_dir = ready_service.data_dir / "exports" / "twitter" / "eve"
    account_dir.mkdir(parents=True)
    (account_dir / "content_plan.json").symlink_to(outside / "eve_plan.json")
    write_plan(ready_service.data_dir, make_plan("sentinel", count=1))
    ready_service.wait_ready("twitter", "sentinel")

    response = ready_service.get("/plans/twitter/eve")
    assert response.status_code == 404 and SECRET not in response.content


def test_symlinked_image_pointing_outside_is_not_read(ready_service: Module2, outside: Path) -> None:
    image = ready_service.data_dir / "images" / "twitter" / "elonmusk" / "rec-02.png"
    image.unlink()
    image.symlink_to(outside / "rec-01.png")
    response = ready_service.get("/images/twitter/elonmusk/rec-02.png")
    assert response.status_code == 404 and SECRET not in response.content


def test_the_service_keeps_serving_after_bad_requests(ready_service: Module2) -> None:
    for raw_path in ("/plans/twitter/..", "/images/%00/%00/%00", "/" + "a" * 5000):
        ready_service.raw_get(raw_path)
    wait_for(lambda: ready_service.get("/plans/twitter/elonmusk").status_code == 200, what="the plan to be served")
    assert ready_service.get("/health").json()["status"] == "ok"
