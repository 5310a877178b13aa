"""Measure installing the project as users do: a validator's protocol-only install, and an operator's
`pip install .` (a wheel with every dependency from the package index) up to the first plan.

    .venv/bin/python scripts/bench_install.py [--skip-miner]

1. Protocol: a fresh venv with bittensor alone, then the protocol wheel: the size it adds
   (target <= 5 MB beyond bittensor).
2. Miner: a fresh venv, `pip install <wheel>` with its dependencies (timed, and its size), then
   `content-miner --mock` from a directory outside the checkout until `content-miner-query` gets the
   sample account's plan and an image back through the axon (timed).
Uses the network (the package index) and pip's cache; writes only under a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def size_mb(path: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total / 2**20


def run(argv: list[str], **kwargs: object) -> float:
    started = time.monotonic()
    subprocess.run(argv, check=True, **kwargs)  # type: ignore[call-overload]
    return time.monotonic() - started


def wheel(project: Path, out: Path) -> Path:
    """Built from a copy of the sources: a build writes `build/` and `*.egg-info` beside them."""
    sources = out / "sources"
    shutil.copytree(REPO, sources, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    project_copy = sources / project.relative_to(REPO)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(project_copy)])
    return max(out.glob("*.whl"), key=lambda path: path.stat().st_mtime)


def venv(where: Path) -> Path:
    run([sys.executable, "-m", "venv", str(where)])
    return where / "bin"


def protocol_only(tmp: Path) -> None:
    from importlib.metadata import version

    bin_dir = venv(tmp / "validator")
    run([str(bin_dir / "pip"), "install", "-q", f"bittensor=={version('bittensor')}"])
    before = size_mb(tmp / "validator")
    run([str(bin_dir / "pip"), "install", "-q", str(wheel(REPO / "protocol", tmp / "dist-protocol"))])
    after = size_mb(tmp / "validator")
    run([str(bin_dir / "python"), "-c", "import content_miner_protocol"], env={"READ_ONLY": "1", "PATH": "/usr/bin"})
    print(f"protocol only: venv with bittensor {before:.0f} MB; the protocol adds {after - before:.2f} MB "
          f"(target <= 5 MB)")


def miner(tmp: Path) -> None:
    built = wheel(REPO, tmp / "dist")
    bin_dir = venv(tmp / "operator")
    install_s = run([str(bin_dir / "pip"), "install", "-q", str(built)])
    print(f"miner: pip install of the wheel with its dependencies {install_s:.0f} s; venv "
          f"{size_mb(tmp / 'operator'):.0f} MB")
    elsewhere, data = tmp / "elsewhere", tmp / "data"
    elsewhere.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp / "home"), "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    with (tmp / "miner.log").open("wb") as log:
        process = subprocess.Popen([str(bin_dir / "content-miner"), "--mock", "--data-dir", str(data),
                                    "--axon.port", "0", "--module2.port", "0", "--metrics.port", "0"],
                                   stdout=log, stderr=subprocess.STDOUT, cwd=elsewhere, env=env)
    try:
        while not (data / "run" / "miner.json").exists():
            if process.poll() is not None or time.monotonic() - started > 180:
                raise SystemExit("the miner did not start:\n" + (tmp / "miner.log").read_text()[-3000:])
            time.sleep(0.1)
        listening_s = time.monotonic() - started
        done = subprocess.run([str(bin_dir / "content-miner-query"), "--data-dir", str(data), "--wait", "300",
                               "--out", str(tmp / "card.png")], capture_output=True, text=True, cwd=elsewhere,
                              env=env)
        first_plan_s = time.monotonic() - started
        if done.returncode != 0 or "state: done" not in done.stdout:
            raise SystemExit(f"no plan:\n{done.stdout}\n{done.stderr}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    print(f"miner: axon listening {listening_s:.1f} s after start; plan and image back through the axon "
          f"{first_plan_s:.1f} s after start; install to first plan {install_s + first_plan_s:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-miner", action="store_true", help="measure the protocol-only install alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        protocol_only(Path(tmp))
        if not args.skip_miner:
            miner(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
