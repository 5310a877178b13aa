"""Module 2: image generator and query handler.

    python Miners/Module2/main.py [--data-dir DIR] [--port 8094] [--poll-interval 1.0]

Renders a PNG post card for every recommendation of every content plan under
`<data_dir>/exports/`, into `<data_dir>/images/`, and answers queries on http://127.0.0.1:PORT
(see `image_service.api`). Stops cleanly on SIGINT and SIGTERM (exit code 0).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # nothing is written in the source tree, not even __pycache__

import signal  # stdlib and cheap: the handlers go in before the heavy imports below
from collections.abc import Callable
from types import FrameType


class ShutdownRequest:
    """SIGINT and SIGTERM, caught from the first lines on.

    The imports below take ~0.15 s; a signal in that window used to end the process with a
    KeyboardInterrupt traceback (SIGINT) or -15 (SIGTERM). Now it is noted, and `main` stops before
    serving; once running, the actions registered with `then` do the stopping.
    """

    def __init__(self) -> None:
        self.signals: list[int] = []
        self._actions: list[Callable[[int], None]] = []

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._received)
        signal.signal(signal.SIGINT, self._received)

    def _received(self, signum: int, _frame: FrameType | None) -> None:
        self.signals.append(signum)
        for action in self._actions:
            action(signum)

    def then(self, action: Callable[[int], None]) -> None:
        """Run `action(signum)` on every later signal (signal handlers run in the main thread)."""
        self._actions.append(action)

    @property
    def first(self) -> str | None:
        return signal.Signals(self.signals[0]).name if self.signals else None


SHUTDOWN = ShutdownRequest()
if __name__ == "__main__":
    SHUTDOWN.install()

try:
    import image_service  # noqa: F401
except ImportError:  # run as a script without the project installed: Miners/ is the import root
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import logging
import os

from image_service.api import create_app
from image_service.renderer import available_renderers, create_renderer
from image_service.server import bind_socket, make_server
from image_service.service import ImageService
from image_service.settings import (
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_PORT,
    DEFAULT_RENDERER,
    HOST,
    SOURCE_NAME,
    ServiceSettings,
)
from miner_paths import DATA_DIR_ENV, data_dir, keep_tool_files_inside
from pydantic import ValidationError
from stage_calls import set_source, stage_complete, stage_failed, stage_start

logger = logging.getLogger("module2")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Module 2: renders content-plan images and answers queries on 127.0.0.1.")
    parser.add_argument("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV}, else ~/.content-miner)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port on {HOST} (default: {DEFAULT_PORT})")
    parser.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL_S, help="seconds between plan scans (default: 1.0)")
    parser.add_argument(
        "--renderer", default=DEFAULT_RENDERER, help=f"image backend: {', '.join(available_renderers())} (default: {DEFAULT_RENDERER})"
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("filelock").setLevel(logging.WARNING)  # it logs every acquire at DEBUG
    if SHUTDOWN.first is not None:
        return _stopped_during_start_up()

    root = data_dir(args.data_dir)
    os.environ[DATA_DIR_ENV] = str(root)  # the tracker finds the status file through it
    keep_tool_files_inside(root)
    if not os.environ.get("MINER_SOURCE"):
        set_source(SOURCE_NAME)
    stage_start(0, "Starting image generator and query handler")

    try:
        settings = ServiceSettings(data_dir=root, port=args.port, poll_interval_s=args.poll_interval, renderer=args.renderer)
        renderer = create_renderer(settings.renderer)
        root.mkdir(parents=True, exist_ok=True)
        service = ImageService(settings, renderer)
    except (ValidationError, KeyError, OSError) as err:
        return _refuse_start(_one_line(err))
    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as err:
        return _refuse_start(f"cannot listen on {settings.host}:{settings.port}: {_one_line(err)}")

    server = make_server(create_app(service))

    def stop(signum: int) -> None:
        logger.info("Received %s; shutting down", signal.Signals(signum).name)
        service.request_stop()
        server.request_exit()

    SHUTDOWN.then(stop)
    if SHUTDOWN.first is not None:  # checked after `then`: a signal from here on runs `stop`
        sock.close()
        return _stopped_during_start_up()

    port = sock.getsockname()[1]
    service.start()
    logger.info("Serving on http://%s:%d (data dir %s, renderer %s)", settings.host, port, root, renderer.name)
    stage_complete(0, f"Image generator and query handler ready on {settings.host}:{port}")
    try:
        server.run(sockets=[sock])
    finally:
        service.stop()
        sock.close()
    logger.info("Stopped")
    return 0


def _stopped_during_start_up() -> int:
    logger.info("Received %s during start-up; stopped before serving", SHUTDOWN.first)
    return 0


def _refuse_start(reason: str) -> int:
    logger.error("Cannot start: %s", reason)
    stage_failed(0, f"Error: {reason}")
    return 2


def _one_line(err: BaseException) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"--{'-'.join(str(p) for p in first['loc']).replace('_s', '').replace('_', '-')}: {first['msg']}"
    if isinstance(err, KeyError):
        return str(err.args[0]) if err.args else "unknown renderer"
    if isinstance(err, OSError) and err.strerror:
        where = f" ({err.filename})" if err.filename else ""
        return f"{err.strerror}{where}"
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
