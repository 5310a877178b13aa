"""A stand-in module that fails at start-up every time (exit code 3), for supervisor tests only."""

import sys

print("crashing_module: refusing to start", flush=True)
sys.exit(3)
