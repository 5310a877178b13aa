"""The content-recommendation miner: `python neurons/miner.py --netuid N [--mock] [flags]` (see --help).

Serves validators through a Bittensor axon and supervises Module 1 (content pipeline) and Module 2
(images and queries). The logic lives in the `miner_neuron` package under Miners/.
"""

import os
import sys

sys.dont_write_bytecode = True  # nothing is written in the source tree, not even __pycache__
os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # nor by the modules it starts
# bittensor creates ~/.bittensor/{wallets,miners} at import unless READ_ONLY=1; the miner writes
# only in its data directory (wallets are read from --wallet.path as usual).
os.environ.setdefault("READ_ONLY", "1")

try:
    import miner_neuron  # noqa: F401  (installed: `pip install -e .`)
except ImportError:  # run from a checkout without installing: Miners/ is the import root
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Miners"))

from miner_neuron.entry import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
