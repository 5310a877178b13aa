"""Paths under a root that are proven to stay under it once resolved (symlinks included)."""

from __future__ import annotations

from pathlib import Path


class OutsideDataDir(ValueError):
    """A path that resolves outside the directory it must stay in."""


def inside(root: Path, *parts: str) -> Path:
    """`root / parts`, resolved, if it stays inside `root` resolved; else raise `OutsideDataDir`.

    The names were already checked against strict patterns; this second check catches what a
    pattern cannot see, such as a symlinked account directory pointing elsewhere.
    """
    base = root.resolve()
    try:
        candidate = base.joinpath(*parts).resolve()
    except (RuntimeError, OSError) as err:  # a symlink loop raises RuntimeError: no path to prove anything about
        raise OutsideDataDir(f"{'/'.join(parts)} cannot be resolved: {err}") from None
    if candidate != base and not candidate.is_relative_to(base):
        raise OutsideDataDir(f"{'/'.join(parts)} resolves outside {base}")
    return candidate
