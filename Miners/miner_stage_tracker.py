"""The spec's stage tracker module: the API of `content_miner.tracker`, importable with `Miners/` on
`sys.path` as the spec describes (`import miner_stage_tracker`).

    from miner_stage_tracker import stage_start, stage_complete, stage_failed, get_tracker
"""

import sys
from pathlib import Path

try:
    import content_miner  # noqa: F401  (installed: `pip install .` or `-e .`)
except ImportError:  # a checkout that was never installed: the package is in src/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from content_miner.tracker import *  # noqa: E402,F403
from content_miner.tracker import __all__  # noqa: E402,F401
