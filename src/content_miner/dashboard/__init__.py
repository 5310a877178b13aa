"""The miner's live web dashboard: read-only views of the stage log, modules, queue and axon.

    server = start_dashboard(sources, "127.0.0.1", 8095, token=None)   # a thread of the miner
    server.stop()

`DashboardSources` is what it reads (callables the miner fills in); `server.py` serves the
page (`assets/`, vanilla JS and SVG, no CDN) and its API; `hub.py` pushes changes to open pages as
server-sent events.
"""

from content_miner.dashboard.access import TOKEN_ENV, is_loopback, settings_problem
from content_miner.dashboard.server import DEFAULT_HOST, DashboardServer, DashboardStartError, start_dashboard
from content_miner.dashboard.sources import DashboardSources, ModuleFacts, modules_of, read_only_log

__all__ = ["DEFAULT_HOST", "TOKEN_ENV", "DashboardServer", "DashboardSources", "DashboardStartError", "ModuleFacts",
           "is_loopback", "modules_of", "read_only_log", "settings_problem", "start_dashboard"]
