"""The content-recommendation miner at the spec's path: `python neurons/miner.py --netuid N [--mock]`.

The same program as `python -m content_miner.neuron` and the `content-miner` command (see --help).
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True  # nothing is written into the source tree, not even __pycache__
try:
    import content_miner  # noqa: F401  (installed: `pip install .` or `-e .`)
except ImportError:  # a checkout that was never installed: the package is in src/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from content_miner.common.shutdown import ShutdownSignals  # noqa: E402

# SIGINT/SIGTERM are caught from here on: pm2 may stop the miner while bittensor is still importing.
SIGNALS = ShutdownSignals("miner").install() if __name__ == "__main__" else None

from content_miner.neuron.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(signals=SIGNALS))
