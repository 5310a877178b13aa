"""The content-recommendation miner: stage tracker, Module 1 (pipeline), Module 2 (images), neuron.

Sub-packages by concern: `common` (account key, data directory layout, small helpers), `tracker`,
`pipeline` (Module 1), `images` (Module 2) and `neuron` (the Bittensor miner). Importing this package
imports nothing heavy. The wire protocol is the separate package `content_miner_protocol`.
"""

import sys

__version__ = "0.2.0"

# Nothing is written into the source tree, not even compiled files, when the package runs from a
# checkout (`pip install -e .`): our ~100 small modules compile in ~0.1 s. An installed wheel has
# its .pyc files from pip already, so this changes nothing there.
sys.dont_write_bytecode = True
