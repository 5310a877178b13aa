"""Fresh virtual environments with one of the project's wheels installed, as a user would have them.

The wheel itself is built and installed for real (not editable). Its third-party dependencies (1.2 GB
for the miner) are not downloaded again for every test run: the fresh environment sees the test
environment's site-packages as a plain path entry, after its own. Plain entries are not site
directories, so the test environment's editable install of this project stays invisible there:
`content_miner` and `content_miner_protocol` can only come from the wheel. `scripts/bench_install.py`
does the same with dependencies installed from the package index, and measures it.
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def build_wheel(project: Path, out: Path) -> Path:
    """The wheel of `project`, built from a copy of its sources (a build writes `build/` and
    `*.egg-info` beside them: never in the checkout)."""
    out.mkdir(parents=True, exist_ok=True)
    sources = out / "sources"
    shutil.copytree(REPO, sources, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                           str(sources / project.relative_to(REPO))],
                          capture_output=True, text=True, timeout=600, cwd=out)
    assert done.returncode == 0, done.stderr[-3000:]
    [wheel] = out.glob("*.whl")
    return wheel


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A new virtual environment with `wheel` installed; returns its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    bin_dir = where / "bin"
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    purelib = subprocess.run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = site.getsitepackages() or [sysconfig.get_path("purelib")]
    (Path(purelib) / "zz_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    return bin_dir
