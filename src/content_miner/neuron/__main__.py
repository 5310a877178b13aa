import sys

from content_miner.neuron.cli import main

sys.exit(main())
