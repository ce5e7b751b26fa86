"""The Wilson score interval: reference values and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rekep.bench_tasks.stats import median_or_none, wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.27753),  # upper = z^2 / (n + z^2)
        (10, 10, 0.72247, 1.0),  # lower = n / (n + z^2)
        (5, 10, 0.23659, 0.76341),
        (8, 10, 0.49016, 0.94332),
        (1, 1, 0.20654, 1.0),
    ],
)
def test_reference_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_interval_contains_estimate_and_is_symmetric(kn: tuple[int, int]) -> None:
    k, n = kn
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    assert lo < hi
    mirror_lo, mirror_hi = wilson_interval(n - k, n)
    assert lo == pytest.approx(1.0 - mirror_hi, abs=1e-12)
    assert hi == pytest.approx(1.0 - mirror_lo, abs=1e-12)


def test_interval_narrows_with_more_trials() -> None:
    widths = [(lambda lh: lh[1] - lh[0])(wilson_interval(n // 2, n)) for n in (10, 40, 160)]
    assert widths[0] > widths[1] > widths[2]


def test_bad_counts_raise() -> None:
    with pytest.raises(ValueError, match="trials"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(4, 3)


def test_median_skips_missing_values() -> None:
    assert median_or_none([3.0, None, 1.0, math.nan, 2.0]) == 2.0
    assert median_or_none([None, math.nan]) is None
    assert median_or_none([]) is None
