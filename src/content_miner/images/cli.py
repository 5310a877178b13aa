"""Module 2: image generator and query handler.

    python Miners/Module2/main.py [--data-dir DIR] [--port 8094] [--poll-interval 1.0]

Renders a PNG post card for every recommendation of every content plan under
`<data_dir>/exports/`, into `<data_dir>/images/`, and answers queries on http://127.0.0.1:PORT
(see `content_miner.images.api`). Stops cleanly on SIGINT and SIGTERM (exit code 0).
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from typing import TYPE_CHECKING

from content_miner.common.endpoints import remove_endpoint, write_endpoint
from content_miner.common.layout import DATA_DIR_ENV, DataLayout, keep_tool_files_inside
from content_miner.common.shutdown import ShutdownSignals, StopDuringStartUp, starting_up
from content_miner.images.settings import (
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_PORT,
    DEFAULT_RENDERER,
    HOST,
    SOURCE_NAME,
)

if TYPE_CHECKING:
    from content_miner.images.renderer import CardRenderer
    from content_miner.images.server import QueryServer
    from content_miner.images.service import ImageService
    from content_miner.tracker.definitions import StageDefinitions

logger = logging.getLogger("module2")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="Miners/Module2/main.py",
        description="Module 2: renders content-plan images and answers queries on 127.0.0.1.",
    )
    parser.add_argument("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV}, else ~/.content-miner)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"HTTP port on {HOST}; 0 picks a free one (default: {DEFAULT_PORT})")
    parser.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL_S,
                        help="seconds between plan scans (default: 1.0)")
    parser.add_argument("--renderer", default=DEFAULT_RENDERER, help=f"image backend (default: {DEFAULT_RENDERER})")
    parser.add_argument("--stages-file", help="a TOML file of stage definitions (the miner passes its --stages.file)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    signals = ShutdownSignals("Module 2").install()  # before the heavy imports below
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("filelock").setLevel(logging.WARNING)  # it logs every acquire at DEBUG
    paths = DataLayout.from_settings(args.data_dir)
    from content_miner.tracker.definitions import DefinitionsError, load_definitions

    try:
        definitions = load_definitions(args.stages_file)
    except DefinitionsError as err:
        return _refuse_start(str(err))
    sock = None
    try:
        with starting_up(signals):
            ready = _start(paths, args, definitions)
            if isinstance(ready, int):
                return ready
            service, server, sock, renderer = ready

            def stop(_signum: int) -> None:  # sets flags only: a signal handler must not log
                service.request_stop()
                server.request_exit()

            signals.then(stop)
    except StopDuringStartUp:
        if sock is not None:
            sock.close()
        return _stopped_during_start_up(signals)
    from content_miner.stage_calls import stage_complete

    settings = service.settings
    root = paths.root
    port = sock.getsockname()[1]
    endpoint = paths.endpoint_file(SOURCE_NAME)
    service.start()
    try:
        write_endpoint(endpoint, host=settings.host, port=port)
    except OSError as err:
        logger.warning("Cannot write %s (the miner finds this port there): %s", endpoint, err.strerror or err)
    logger.info("Serving on http://%s:%d (data dir %s, renderer %s)", settings.host, port, root, renderer.name)
    stage_complete(0, f"Image generator and query handler ready on {settings.host}:{port}")
    try:
        server.run(sockets=[sock])
        if signals.first is not None:
            logger.info("Received %s; shutting down", signals.first)
    finally:
        remove_endpoint(endpoint)
        service.stop()
        sock.close()
    logger.info("Stopped")
    return 0


def _start(paths: DataLayout, args: argparse.Namespace, definitions: StageDefinitions
           ) -> tuple[ImageService, QueryServer, socket.socket, CardRenderer] | int:
    """The service, its server, its listening socket and renderer; an exit code if it cannot start."""
    keep_tool_files_inside(paths.root)
    from pydantic import ValidationError

    from content_miner.images.api import create_app
    from content_miner.images.renderer import create_renderer
    from content_miner.images.server import bind_socket, make_server
    from content_miner.images.service import ImageService
    from content_miner.images.settings import ServiceSettings
    from content_miner.stage_calls import configure, stage_start

    configure(paths.status_file, source=SOURCE_NAME, definitions=definitions)
    stage_start(0, "Starting image generator and query handler")
    try:
        settings = ServiceSettings(
            layout=paths, port=args.port, poll_interval_s=args.poll_interval, renderer=args.renderer
        )
        renderer = create_renderer(settings.renderer)
        paths.root.mkdir(parents=True, exist_ok=True)
        service = ImageService(settings, renderer)
    except (ValidationError, KeyError, OSError) as err:
        return _refuse_start(_one_line(err))
    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as err:
        return _refuse_start(f"cannot listen on {settings.host}:{settings.port}: {_one_line(err)}")
    return service, make_server(create_app(service)), sock, renderer


def _stopped_during_start_up(signals: ShutdownSignals) -> int:
    logger.info("Received %s during start-up; stopped before serving", signals.first)
    return 0


def _refuse_start(reason: str) -> int:
    from content_miner.stage_calls import stage_failed

    logger.error("Cannot start: %s", reason)
    stage_failed(0, f"Error: {reason}")
    return 2


def _one_line(err: BaseException) -> str:
    from pydantic import ValidationError

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
