"""Stage tracking internals; the public API is `miner_stage_tracker`."""
