import sys

from content_miner.pipeline.cli import main

sys.exit(main())
