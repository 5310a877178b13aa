"""Unknown names give 404, malformed names 400, and no request can read outside the data directory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.module2 import InProcessModule2, Module2, write_plan
from support.plans import make_plan, recommendation
from support.waiting import wait_for

SECRET = b"TOP-SECRET-OUTSIDE-DATA-DIR"


def make_outside(beside: Path) -> Path:
    """A directory beside the data directory holding things no request may read."""
    path = beside / "outside"
    path.mkdir()
    (path / "secret.txt").write_bytes(SECRET)
    (path / "rec-01.png").write_bytes(SECRET)
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return make_outside(tmp_path)


@pytest.fixture
def ready_service(service: InProcessModule2) -> InProcessModule2:
    write_plan(service.data_dir, make_plan("elonmusk", count=2))
    service.wait_ready("twitter", "elonmusk")
    return service


@pytest.fixture(scope="module")
def http_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Module2]:
    """One real service for the tests of what its HTTP server makes of raw request paths: they only read."""
    root = tmp_path_factory.mktemp("http")
    make_outside(root)
    (root / "data").mkdir()
    service = Module2(root / "data", root / "module2.log", root / "home").start()
    write_plan(service.data_dir, make_plan("elonmusk", count=2))
    service.wait_ready("twitter", "elonmusk")
    yield service
    service.kill()


def test_unknown_account_is_404_with_a_clear_message(ready_service: InProcessModule2) -> None:
    for path in ("/plans/twitter/nobody", "/accounts/twitter/nobody", "/images/twitter/nobody/rec-01.png"):
        response = ready_service.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "no content plan for twitter/nobody"}


def test_unknown_recommendation_is_404_with_a_clear_message(ready_service: InProcessModule2) -> None:
    response = ready_service.get("/images/twitter/elonmusk/rec-99.png")
    assert response.status_code == 404
    assert response.json() == {"detail": "no recommendation 'rec-99' in the content plan for twitter/elonmusk"}


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/plans/friendster/elonmusk", "unknown platform 'friendster' (known: "),
        ("/plans/twitter/bad$name", "invalid username "),
        ("/plans/twitter/.hidden", "invalid username "),
        ("/images/twitter/elonmusk/rec 01.png", "invalid recommendation id "),
        ("/images/twitter/elonmusk/.png", "invalid recommendation id "),
    ],
)
def test_malformed_names_are_400_naming_the_rule(ready_service: InProcessModule2, path: str, kind: str) -> None:
    response = ready_service.get(path)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(kind)


def test_an_account_is_found_by_any_spelling_of_its_key(ready_service: InProcessModule2) -> None:
    canonical = ready_service.get("/plans/twitter/elonmusk")
    for path in ("/plans/Twitter/ElonMusk", "/plans/x/ELONMUSK", "/plans/x.com/@elonmusk"):
        response = ready_service.get(path)
        assert response.status_code == 200 and response.content == canonical.content, path


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
        # A trailing slash was a 307 whose Location came from the client's Host header.
        "/plans/twitter/elonmusk/",
        "/accounts/twitter/elonmusk/",
        "/images/twitter/elonmusk/rec-01.png/",
        "/health/",
    ],
)
def test_traversal_attempts_read_nothing(http_service: Module2, raw_path: str) -> None:
    status, body = http_service.raw_get(raw_path)
    assert status in (400, 404), (raw_path, status, body[:200])
    assert SECRET not in body and b"root:" not in body
    assert body.startswith(b'{"detail":')


def test_trailing_slash_is_404_never_a_redirect_to_the_clients_host(http_service: Module2) -> None:
    response = http_service.client.get("/plans/twitter/elonmusk/", headers={"Host": "evil.example"})
    assert response.status_code == 404 and "location" not in response.headers
    assert "without a trailing slash" in response.json()["detail"]


def test_symlinked_account_directory_pointing_outside_is_never_served(
        ready_service: InProcessModule2, outside: Path) -> None:
    evil = make_plan("mallory", recommendations=[recommendation(1, draft=SECRET.decode())])
    (outside / "content_plan.json").write_bytes(evil.model_dump_json().encode())
    link = ready_service.data_dir / "exports" / "twitter" / "mallory"
    link.symlink_to(outside, target_is_directory=True)
    write_plan(ready_service.data_dir, make_plan("sentinel", count=1))  # rendered after a scan that saw the link
    ready_service.wait_ready("twitter", "sentinel")

    assert ready_service.get("/plans/twitter/mallory").status_code == 404
    assert "mallory" not in ready_service.get("/accounts").text
    assert not (ready_service.data_dir / "images" / "twitter" / "mallory").exists()


def test_symlinked_plan_file_pointing_outside_is_never_served(ready_service: InProcessModule2, outside: Path) -> None:
    evil = make_plan("eve", recommendations=[recommendation(1, draft=SECRET.decode())])
    (outside / "eve_plan.json").write_bytes(evil.model_dump_json().encode())
    account_dir = ready_service.data_dir / "exports" / "twitter" / "eve"
    account_dir.mkdir(parents=True)
    (account_dir / "content_plan.json").symlink_to(outside / "eve_plan.json")
    write_plan(ready_service.data_dir, make_plan("sentinel", count=1))
    ready_service.wait_ready("twitter", "sentinel")

    response = ready_service.get("/plans/twitter/eve")
    assert response.status_code == 404 and SECRET not in response.content


def _image_becomes_a_link_to(service: InProcessModule2, target: Path) -> Path:
    image = service.data_dir / "images" / "twitter" / "elonmusk" / "rec-02.png"
    image.unlink()
    image.symlink_to(target)
    return image


def _replaced_by_a_real_card(service: InProcessModule2, image: Path, outside: Path) -> None:
    def all_ready() -> bool:
        account = service.account("twitter", "elonmusk")
        return account is not None and account["status"] == "ready" and all(i["ready"] for i in account["images"])

    wait_for(all_ready, what="rec-02 to be rendered again")
    assert service.image("/images/twitter/elonmusk/rec-02.png").size == (1200, 675)
    assert image.is_file() and not image.is_symlink()
    assert (outside / "rec-01.png").read_bytes() == SECRET  # the link's target is left alone
    assert "Traceback" not in service.log()


def test_symlinked_image_pointing_outside_is_not_read_and_is_rendered_again(
    ready_service: InProcessModule2, outside: Path
) -> None:
    image = _image_becomes_a_link_to(ready_service, outside / "rec-01.png")
    account = ready_service.get("/accounts/twitter/elonmusk")
    assert account.status_code == 200  # was a 500: building the path raised OutsideDataDir
    assert [i["ready"] for i in account.json()["images"]] == [True, False]

    response = ready_service.get("/images/twitter/elonmusk/rec-02.png")
    assert response.status_code == 503 and SECRET not in response.content
    assert response.json()["detail"] == "image rec-02 for twitter/elonmusk is missing on disk; rendering it again"
    _replaced_by_a_real_card(ready_service, image, outside)


def test_symlinked_image_found_at_start_is_rendered_again(
    ready_service: InProcessModule2, start_in_process: Callable[[], InProcessModule2], outside: Path
) -> None:
    assert ready_service.stop() == 0
    image = _image_becomes_a_link_to(ready_service, outside / "rec-01.png")
    restarted = start_in_process()  # its first scan raised on the link, and the account never appeared
    _replaced_by_a_real_card(restarted, image, outside)
    assert restarted.account("twitter", "elonmusk")["renders"] == 1


@pytest.mark.parametrize(
    "raw_path, status",
    [
        ("/" + "a" * 5000, 404),
        ("/plans/twitter/" + "a" * 5000, 400),
        ("/plans/" + "a" * 5000 + "/elonmusk", 400),
        ("/images/twitter/elonmusk/" + "a" * 5000 + ".png", 400),
    ],
)
def test_very_long_names_are_a_clean_4xx(http_service: Module2, raw_path: str, status: int) -> None:
    code, body = http_service.raw_get(raw_path)
    assert code == status and body.startswith(b'{"detail":') and len(body) < 1000


def test_the_service_keeps_serving_after_bad_requests(http_service: Module2) -> None:
    for raw_path in ("/plans/twitter/..", "/images/%00/%00/%00", "/" + "a" * 5000, "/plans/twitter/" + "a" * 100_000):
        status, _ = http_service.raw_get(raw_path)
        assert 400 <= status < 500, (raw_path[:40], status)
    wait_for(lambda: http_service.get("/plans/twitter/elonmusk").status_code == 200, what="the plan to be served")
    assert http_service.get("/health").json()["status"] == "ok"
