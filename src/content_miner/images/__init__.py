"""Module 2: renders content-plan images and answers queries over loopback HTTP.

`python -m content_miner.images` (or `Miners/Module2/main.py`) is its entry point.
"""
