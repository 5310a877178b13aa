"""Module 2: image generator and query handler.

    python Miners/Module2/main.py [--data-dir DIR] [--port 8094] [--poll-interval 1.0]

Renders a PNG post card for every recommendation of every content plan under
`<data_dir>/exports/`, into `<data_dir>/images/`, and answers queries on http://127.0.0.1:PORT
(see `image_service.api`). Stops cleanly on SIGINT and SIGTERM (exit code 0).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # nothing is written in the source tree, not even __pycache__

try:
    import image_service  # noqa: F401
except ImportError:  # run as a script without the project installed: Miners/ is the import root
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import logging
import os
import signal
from types import FrameType

from pydantic import ValidationError

from image_service.api import create_app
from image_service.renderer import available_renderers, create_renderer
from image_service.server import bind_socket, make_server
from image_service.service import ImageService
from image_service.settings import DEFAULT_POLL_INTERVAL_S, DEFAULT_PORT, DEFAULT_RENDERER, HOST, SOURCE_NAME, ServiceSettings
from miner_paths import DATA_DIR_ENV, data_dir, keep_tool_files_inside
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

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("Received %s; shutting down", signal.Signals(signum).name)
        service.request_stop()
        server.request_exit()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

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
