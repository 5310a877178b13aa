"""Start, stop and restart of the real service."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from support.module2 import (
    MAIN,
    Module2,
    bytecode_dirs,
    catches,
    process_state,
    write_plan,
)
from support.plans import LONG_DRAFT, make_plan, recommendation
from support.waiting import wait_for

Start = Callable[..., Module2]

HUGE_DRAFT = " ".join([LONG_DRAFT] * (1_000_000 // (len(LONG_DRAFT) + 1)))  # ~1 MB


def image_mtimes(data_dir: Path) -> dict[str, int]:
    return {
        str(path.relative_to(data_dir)): path.stat().st_mtime_ns
        for path in sorted((data_dir / "images").rglob("*.png"))
    }


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_service_cleanly_within_5s_leaving_nothing_outside_the_data_dir(
    start_service: Start, data_dir: Path, tmp_path: Path, signum: int
) -> None:
    bytecode_before = bytecode_dirs()
    service = start_service()
    write_plan(service.data_dir, make_plan("elonmusk", count=1))
    service.wait_ready("twitter", "elonmusk")
    started = time.monotonic()
    service.send(signum)
    assert service.stop(timeout=5.0) == 0
    assert time.monotonic() - started < 5.0
    assert "Stopped" in service.log() and "Traceback" not in service.log()
    # The helper sets neither PYTHONDONTWRITEBYTECODE nor a HOME that matters: the service must.
    assert list(service.home.iterdir()) == [] and list((tmp_path / "home-tmp").iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data", "home", "home-tmp", "module2.log"]
    assert bytecode_dirs() - bytecode_before == set(), "Module 2 wrote bytecode into the source tree"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_start_up_exits_0_before_serving(data_dir: Path, tmp_path: Path, signum: int) -> None:
    service = Module2(data_dir, tmp_path / "module2.log", tmp_path / "home")
    process = service.launch()
    try:
        # SIGTERM is caught from main.py's first lines, while the heavy imports are still ahead.
        wait_for(
            lambda: catches(process.pid, signal.SIGTERM), timeout=10, what="the handlers to be installed",
            interval=0.001,
        )
        process.send_signal(signum)
        assert service.wait(timeout=5.0) == 0  # was -15, or -2 with a KeyboardInterrupt traceback
    finally:
        service.kill()
    log = service.log()
    assert "during start-up; stopped before serving" in log
    assert "Serving on" not in log and "Traceback" not in log


def test_sigterm_while_rendering_stops_within_5s_and_restart_finishes_the_job(
    start_service: Start, data_dir: Path
) -> None:
    first = start_service()
    write_plan(data_dir, make_plan("busy", count=60))
    wait_for(
        lambda: (first.account("twitter", "busy") or {}).get("status") == "rendering", what="rendering to be under way"
    )
    # Frozen, so the signal lands mid-render however fast the rest would have rendered.
    assert first.process is not None
    first.send(signal.SIGSTOP)
    wait_for(lambda: process_state(first.process.pid) == "T", what="the service to be stopped")  # type: ignore[union-attr]
    on_disk = len(list((data_dir / "images" / "twitter" / "busy").glob("rec-*.png")))
    assert on_disk <= 50, f"{on_disk} of 60 cards were already rendered; the signal would come too late"
    first.send(signal.SIGTERM)
    started = time.monotonic()
    first.send(signal.SIGCONT)
    assert first.wait(timeout=5.0) == 0
    assert time.monotonic() - started < 5.0
    assert "Rendering for twitter/busy interrupted by shutdown" in first.log()

    second = start_service()
    account = second.wait_ready("twitter", "busy", timeout=60)
    assert account["images_ready"] == 60 and account["renders"] == 1


def test_huge_drafts_render_and_sigterm_while_rendering_them_stops_within_5s(
    start_service: Start, data_dir: Path
) -> None:
    service = start_service()
    write_plan(data_dir, make_plan("bigdraft", recommendations=[recommendation(i, draft=HUGE_DRAFT) for i in (1, 2)]))
    account = service.wait_ready("twitter", "bigdraft", timeout=30)  # was ~25 s for each card
    assert account["images_ready"] == 2
    assert service.image("/images/twitter/bigdraft/rec-02.png").size == (1200, 675)

    write_plan(
        data_dir, make_plan("bigger", recommendations=[recommendation(i, draft=HUGE_DRAFT) for i in range(1, 13)])
    )
    wait_for(
        lambda: (service.account("twitter", "bigger") or {}).get("status") == "rendering",
        what="the huge cards to be rendering",
    )
    assert service.get("/plans/twitter/bigdraft").status_code == 200  # queries are answered meanwhile
    started = time.monotonic()
    assert service.stop(timeout=5.0) == 0
    assert time.monotonic() - started < 5.0
    assert "Traceback" not in service.log()


def test_restart_does_not_render_unchanged_plans_again(start_service: Start, data_dir: Path) -> None:
    first = start_service()
    write_plan(data_dir, make_plan("alice", count=3))
    write_plan(data_dir, make_plan("bob", count=2))
    first.wait_ready("twitter", "alice")
    first.wait_ready("twitter", "bob")
    assert first.get("/health").json()["images_rendered"] == 5
    assert first.stop() == 0
    before = image_mtimes(data_dir)
    state = json.loads((data_dir / "images" / "render_state.json").read_text())
    assert set(state["accounts"]) == {"twitter/alice", "twitter/bob"}

    changed = make_plan("bob", count=2, note="changed while the service was down")
    write_plan(data_dir, changed)
    second = start_service()
    second.wait_ready("twitter", "bob", sha256=hashlib.sha256(changed.model_dump_json().encode()).hexdigest())
    alice, bob = second.wait_ready("twitter", "alice"), second.account("twitter", "bob")
    assert bob is not None and bob["renders"] == 1  # changed plan: rendered again
    assert alice["renders"] == 0  # unchanged plan: not rendered again
    assert second.get("/health").json()["images_rendered"] == 2
    after = image_mtimes(data_dir)
    assert {k: v for k, v in after.items() if "alice" in k} == {k: v for k, v in before.items() if "alice" in k}
    assert second.image("/images/twitter/alice/rec-03.png").size == (1200, 675)


def test_missing_image_is_rendered_again_after_restart(start_service: Start, data_dir: Path) -> None:
    first = start_service()
    write_plan(data_dir, make_plan("carol", count=2))
    first.wait_ready("twitter", "carol")
    assert first.stop() == 0
    (data_dir / "images" / "twitter" / "carol" / "rec-02.png").unlink()

    second = start_service()
    account = second.wait_ready("twitter", "carol")
    assert account["renders"] == 1 and second.get("/images/twitter/carol/rec-02.png").status_code == 200


def test_corrupt_render_state_is_kept_aside_and_everything_is_rendered_again(
    start_service: Start, data_dir: Path
) -> None:
    first = start_service()
    write_plan(data_dir, make_plan("dave", count=1))
    first.wait_ready("twitter", "dave")
    assert first.stop() == 0
    (data_dir / "images" / "render_state.json").write_text("{not json")

    second = start_service()
    assert second.wait_ready("twitter", "dave")["renders"] == 1
    assert len(list((data_dir / "images").glob("render_state.json.corrupt-*"))) == 1
    assert "Render state" in second.log() and "Traceback" not in second.log()


def test_taken_port_is_a_one_line_error_and_exit_code_2(start_service: Start, data_dir: Path) -> None:
    service = start_service()
    result = subprocess.run(
        [sys.executable, str(MAIN), "--data-dir", str(data_dir), "--port", str(service.port)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{service.port}" in lines[0]
    assert "Traceback" not in result.stderr
    assert service.get("/health").status_code == 200  # the running service is untouched


@pytest.mark.parametrize(
    "args, message",
    [(["--renderer", "diffusion"], "unknown renderer 'diffusion'"), (["--poll-interval", "0"], "--poll-interval")],
)
def test_bad_options_are_a_one_line_error(data_dir: Path, args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, str(MAIN), "--data-dir", str(data_dir), "--port", "0", *args],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
