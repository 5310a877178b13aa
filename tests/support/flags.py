"""The miner's refusal of unusable flags, through its entry point's own code."""

from __future__ import annotations

from pathlib import Path

import pytest

from content_miner.neuron.cli import main


def refusal(capsys: pytest.CaptureFixture[str], tmp_path: Path, *flags: str) -> str:
    """The one line main() prints for `flags` (exit code 2 checked); nothing may be written."""
    data_dir = tmp_path / "data"
    try:
        code = main(["--mock", "--data-dir", str(data_dir), *flags])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, (code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurons/miner.py: error: "), err
    assert not data_dir.exists()
    return lines[0].removeprefix("neurons/miner.py: error: ")
