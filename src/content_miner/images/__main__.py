import sys

from content_miner.images.cli import main

sys.exit(main())
