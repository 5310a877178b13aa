"""Module 1, the content pipeline, at the spec's path: `python Miners/main.py --help`.

The same program as `python -m content_miner.pipeline` and the `content-miner-module1` command.
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True  # nothing is written into the source tree, not even __pycache__
try:
    import content_miner  # noqa: F401  (installed: `pip install .` or `-e .`)
except ImportError:  # a checkout that was never installed: the package is in src/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from content_miner.pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
