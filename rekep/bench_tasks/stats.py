"""Small statistics for benchmark summaries: the Wilson score interval and a None-aware
median."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

Z_95 = 1.959963984540054
"""Two-sided 95 % standard-normal quantile."""


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Args:
        successes: number of successes, ``0 <= successes <= trials``.
        trials: number of trials, ``>= 1``.
        z: standard-normal quantile (1.96 for a two-sided 95 % interval).

    Returns:
        ``(low, high)`` within [0, 1]; unlike the normal approximation it is never
        degenerate at 0 or ``trials`` successes (e.g. 10/10 gives about (0.722, 1.0)).

    Raises:
        ValueError: ``trials < 1`` or ``successes`` outside ``[0, trials]``.
    """
    if trials < 1:
        raise ValueError(f"wilson_interval needs trials >= 1, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be within [0, {trials}], got {successes}")
    p = successes / trials
    z2 = z * z
    denom = 1.0 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom
    # k = 0 and k = n have exact bounds 0 and 1; avoid rounding just inside them
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def median_or_none(values: Iterable[float | None]) -> float | None:
    """Median of the finite values, or None when there are none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return statistics.median(finite) if finite else None
