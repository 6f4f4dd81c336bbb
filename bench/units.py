"""How the benchmark writes times: one figure for the table (`sec`), every repetition for
the details lines (`ms`)."""

from __future__ import annotations

from collections.abc import Iterable


def sec(seconds: float) -> str:
    """`seconds` as the table writes it: seconds from 1 s up, else milliseconds."""
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def ms(times: Iterable[float], decimals: int = 0) -> str:
    """Every repetition's seconds in milliseconds, comma-separated."""
    return ", ".join(f"{t * 1000:.{decimals}f}" for t in times)
