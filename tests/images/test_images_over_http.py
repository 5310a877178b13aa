"""Plans written to the exports directory become images served over HTTP by the real service."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from content_miner.images.layout import card_layout
from content_miner.tracker import MinerStageTracker
from support.module2 import InProcessModule2, Module2, plan_file, write_plan
from support.plans import LONG_DRAFT, SHORT_DRAFT, make_plan, recommendation
from support.png_regions import ink
from support.waiting import wait_for


def test_new_plan_is_rendered_and_served(service: InProcessModule2) -> None:
    plan = make_plan(
        "elonmusk", recommendations=[recommendation(1, draft=LONG_DRAFT), recommendation(2, draft=SHORT_DRAFT)]
    )
    raw = plan.model_dump_json().encode()
    write_plan(service.data_dir, plan)

    account = service.wait_ready("twitter", "elonmusk", sha256=hashlib.sha256(raw).hexdigest())
    assert account["recommendations"] == 2 and account["images_ready"] == 2
    assert [image["url"] for image in account["images"]] == [
        "/images/twitter/elonmusk/rec-01.png",
        "/images/twitter/elonmusk/rec-02.png",
    ]

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


def test_plan_route_returns_the_exact_plan_bytes(service: InProcessModule2) -> None:
    plan = make_plan("jack", count=1)
    write_plan(service.data_dir, plan)
    service.wait_ready("twitter", "jack")
    response = service.get("/plans/twitter/jack")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == plan_file(service.data_dir, "twitter", "jack").read_bytes()
    assert response.json()["recommendations"][0]["id"] == "rec-01"
    assert response.headers["x-plan-sha256"] == hashlib.sha256(response.content).hexdigest()


def test_changed_plan_is_rendered_again_and_dropped_recommendations_disappear(service: InProcessModule2) -> None:
    write_plan(service.data_dir, make_plan("alice", count=3))
    service.wait_ready("twitter", "alice")
    before = service.get("/images/twitter/alice/rec-01.png").content

    changed = make_plan("alice", recommendations=[recommendation(1, draft=SHORT_DRAFT)])
    write_plan(service.data_dir, changed)
    account = service.wait_ready(
        "twitter", "alice", sha256=hashlib.sha256(changed.model_dump_json().encode()).hexdigest()
    )

    assert account["recommendations"] == 1 and account["renders"] == 2
    assert service.get("/images/twitter/alice/rec-01.png").content != before
    assert service.get("/images/twitter/alice/rec-03.png").status_code == 404
    assert not (service.data_dir / "images" / "twitter" / "alice" / "rec-03.png").exists()


def test_removed_plan_is_forgotten(service: InProcessModule2) -> None:
    path = write_plan(service.data_dir, make_plan("bob", count=1))
    service.wait_ready("twitter", "bob")
    path.unlink()
    wait_for(lambda: service.get("/plans/twitter/bob").status_code == 404, what="bob's plan to be forgotten")
    assert service.get("/images/twitter/bob/rec-01.png").status_code == 404


def test_accounts_lists_every_plan_with_its_image_status(service: InProcessModule2) -> None:
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


def test_status_route_shows_module2_stages(start_service: Callable[..., Module2]) -> None:
    service = start_service()  # the real process: its start-up is a stage too
    write_plan(service.data_dir, make_plan("erin", count=2))
    service.wait_ready("twitter", "erin")

    def rendered_stage() -> dict | None:
        response = service.get("/status?source=module2")
        if response.status_code != 200:
            return None
        stage = response.json()["current"].get("module2", {}).get("erin")
        return stage if stage and stage["status"] == "completed" else None

    stage = wait_for(rendered_stage, what="module2's stage 1 for erin in /status")
    assert (stage["stage_number"], stage["stage_name"]) == (1, "Image Rendering")
    assert "Rendered 2 images for erin" in stage["message"]
    events = [
        (e["status"], e["message"])
        for e in MinerStageTracker(service.data_dir / "miner_status.json").read_events()
        if e["source"] == "module2" and e["username"] == "erin" and e["stage_number"] == 1
    ]
    assert [status for status, _ in events] == ["running", "completed"]
    assert events[0][1] == "Rendering 2 images for erin"
    everything = service.get("/status").json()
    assert everything["current"]["module2"][""]["stage_number"] == 0
    assert "module2" in json.loads((service.data_dir / "miner_status.json").read_text())["current"]


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def test_card_of_the_previous_plan_is_never_served_while_the_new_one_renders(service: InProcessModule2) -> None:
    write_plan(service.data_dir, make_plan("frank", count=40))
    service.wait_ready("twitter", "frank")
    old_last = service.get("/images/twitter/frank/rec-40.png").content

    # same ids, new cards
    changed = make_plan("frank", recommendations=[recommendation(i, draft=SHORT_DRAFT) for i in range(1, 41)])
    write_plan(service.data_dir, changed)
    wanted = sha256(changed.model_dump_json().encode())
    account = wait_for(
        lambda: (a := service.account("twitter", "frank")) and a["plan_sha256"] == wanted and a,
        what="the changed plan to be picked up",
    )
    response = service.get("/images/twitter/frank/rec-40.png")
    assert response.content != old_last  # the file on disk still held it until rec-40's turn came
    if account["status"] != "ready":
        assert not account["images"][-1]["ready"]
    if response.status_code == 503:
        assert response.headers["retry-after"] == "1"
        assert response.json()["detail"].startswith(
            "image rec-40 for twitter/frank is still rendering for the current plan ("
        )
    else:  # only if the whole plan rendered between the two requests
        assert response.status_code == 200
    service.wait_ready("twitter", "frank", sha256=wanted)
    assert service.get("/images/twitter/frank/rec-40.png").content not in (b"", old_last)


def test_images_left_over_by_a_render_that_failed_partway_are_not_served(service: InProcessModule2) -> None:
    write_plan(service.data_dir, make_plan("gina", count=3))
    service.wait_ready("twitter", "gina")
    folder = service.data_dir / "images" / "twitter" / "gina"
    old_third = (folder / "rec-03.png").read_bytes()
    (folder / "rec-02.png").unlink()
    (folder / "rec-02.png").mkdir()  # the new card cannot replace it: the render fails at rec-02

    write_plan(
        service.data_dir, make_plan("gina", recommendations=[recommendation(i, draft=SHORT_DRAFT) for i in range(1, 4)])
    )
    account = wait_for(
        lambda: (a := service.account("twitter", "gina")) and a["status"] == "failed" and a, what="the render to fail"
    )
    assert [image["ready"] for image in account["images"]] == [True, False, False]
    assert account["images_ready"] == 1

    assert service.image("/images/twitter/gina/rec-01.png").size == (1200, 675)  # rendered from the new plan
    assert (folder / "rec-03.png").read_bytes() == old_third  # the old plan's card is still on disk...
    response = service.get("/images/twitter/gina/rec-03.png")
    assert response.status_code == 404  # ...but is not served as the new plan's
    assert response.json()["detail"].startswith(
        "image rec-03 for twitter/gina could not be rendered from the current plan ("
    )
