"""Module 1: the content pipeline (scrape, clean, index, analyse, plan, export).

`python -m content_miner.pipeline` (or `Miners/main.py`) is its entry point. Importing this package
imports nothing heavy: each stage imports its libraries where it is used.
"""
