"""Plans written to the exports directory become images served over HTTP by the real service."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from module2_helpers import Module2, plan_file, wait_for, write_plan
from image_service.layout import card_layout
from plan_factory import LONG_DRAFT, SHORT_DRAFT, make_plan, recommendation
from png_regions import ink


def test_new_plan_is_rendered_and_served(service: Module2) -> None:
    plan = make_plan("elonmusk", recommendations=[recommendation(1, draft=LONG_DRAFT), recommendation(2, draft=SHORT_DRAFT)])
    raw = plan.model_dump_json().encode()
    write_plan(service.data_dir, plan)

    account = service.wait_ready("twitter", "elonmusk", sha256=hashlib.sha256(raw).hexdigest())
    assert account["recommendations"] == 2 and account["images_ready"] == 2
    assert [image["url"] for image in account["images"]] == ["/images/twitter/elonmusk/rec-01.png", "/images/twitter/elonmusk/rec-02.png"]

    long_card, short_card = (service.image(image["url"]) for image in account["images"])
    for card in (long_card, short_card):
        assert card.format == "PNG" and card.size == (1200, 675)
    layout = card_layout(1200, 675)
    assert ink(long_card, layout.chart) > 500
    assert ink(short_card, layout.text) > 100
    assert ink(long_card, layout.text) > 3 * ink(short_card, layout.text)
    assert service.get("/images/twitter/elonmusk/rec-01").content == service.get(account["images"][0]["url"]).content

    on_disk = service.data_dir / "images" / "twitter" / "elonmusk" / "rec-01.png"
    assert on_disk.read_bytes() == service.get("/images/twitter/elonmusk/rec-01.png").content


def test_plan_route_returns_the_exact_plan_bytes(service: Module2) -> None:
    plan = make_plan("jack", count=1)
    write_plan(service.data_dir, plan)
    service.wait_ready("twitter", "jack")
    response = service.get("/plans/twitter/jack")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == plan_file(service.data_dir, "twitter", "jack").read_bytes()
    assert response.json()["recommendations"][0]["id"] == "rec-01"
    assert response.headers["x-plan-sha256"] == hashlib.sha256(response.content).hexdigest()


def test_changed_plan_is_rendered_again_and_dropped_recommendations_disappear(service: Module2) -> None:
    write_plan(service.data_dir, make_plan("alice", count=3))
    service.wait_ready("twitter", "alice")
    before = service.get("/images/twitter/alice/rec-01.png").content

    changed = make_plan("alice", recommendations=[recommendation(1, draft=SHORT_DRAFT)])
    write_plan(service.data_dir, changed)
    account = service.wait_ready("twitter", "alice", sha256=hashlib.sha256(changed.model_dump_json().encode()).hexdigest())

    assert account["recommendations"] == 1 and account["renders"] == 2
    assert service.get("/images/twitter/alice/rec-01.png").content != before
    assert service.get("/images/twitter/alice/rec-03.png").status_code == 404
    assert not (service.data_dir / "images" / "twitter" / "alice" / "rec-03.png").exists()


def test_removed_plan_is_forgotten(service: Module2) -> None:
    path = write_plan(service.data_dir, make_plan("bob", count=1))
    service.wait_ready("twitter", "bob")
    path.unlink()
    wait_for(lambda: service.get("/plans/twitter/bob").status_code == 404, what="bob's plan to be forgotten")
    assert service.get("/images/twitter/bob/rec-01.png").status_code == 404


def test_accounts_lists_every_plan_with_its_image_status(service: Module2) -> None:
    write_plan(service.data_dir, make_plan("carol", count=2))
    write_plan(service.data_dir, make_plan("dave", platform="instagram", count=1))
    service.wait_ready("twitter", "carol")
    service.wait_ready("instagram", "dave")
    accounts = service.get("/accounts").json()["accounts"]
    assert [(a["platform"], a["username"], a["status"], a["images_ready"]) for a in accounts] == [
        ("instagram", "dave", "ready", 1),
        ("twitter", "carol", "ready", 2),
    ]
    assert service.image("/images/instagram/dave/rec-01.png").size == (1080, 1080)
    health = service.get("/health").json()
    assert health["status"] == "ok" and health["accounts_ready"] == 2 and health["images_rendered"] == 3


def test_status_route_shows_module2_stages(service: Module2, start_service: Callable[..., Module2]) -> None:
    write_plan(service.data_dir, make_plan("erin", count=2))
    service.wait_ready("twitter", "erin")

    def rendered_stage() -> dict | None:
        response = service.get("/status?source=module2")
        if response.status_code != 200:
            return None
        stage = response.json()["current"].get("module2", {}).get("erin")
        return stage if stage and stage["status"] == "completed" else None

    stage = wait_for(rendered_stage, what="module2's stage 6 for erin in /status")
    assert stage["stage_number"] == 6
    assert "Rendered 2 images for erin" in stage["message"]
    everything = service.get("/status").json()
    assert everything["current"]["module2"][""]["stage_number"] == 0
    assert "module2" in json.loads((service.data_dir / "miner_status.json").read_text())["current"]
