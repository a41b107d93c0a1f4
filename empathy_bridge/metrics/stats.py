"""Thin wrappers over scipy/statsmodels: every interval and test comes from those libraries.

Each function takes counts or sums (what SQL aggregates return) or arrays streamed from the
store, and returns ``None`` parts when the data cannot support the figure (n too small, no
variance) instead of raising.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Estimate",
    "correlation",
    "diff_proportions",
    "mean_interval",
    "proportion",
    "rank_correlation",
    "std_dev",
]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval, p-value (for tests) and the n behind it."""

    value: float | None
    n: int
    low: float | None = None
    high: float | None = None
    p_value: float | None = None


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def proportion(k: int, n: int, confidence: float = 0.95) -> Estimate:
    """``k`` of ``n`` with a Wilson score interval (statsmodels ``proportion_confint``)."""
    from statsmodels.stats.proportion import proportion_confint  # heavy: on use
    if n <= 0:
        return Estimate(None, 0)
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    return Estimate(k / n, n, _finite(low), _finite(high))


def mean_interval(n: int, total: float, total_sq: float, confidence: float = 0.95) -> Estimate:
    """Mean from SQL ``count``/``sum``/``sum of squares`` with a Student-t interval (scipy)."""
    from scipy import stats  # heavy: on use
    if n <= 0:
        return Estimate(None, 0)
    mean = total / n
    if n < 2:
        return Estimate(mean, n)
    var = max(0.0, (total_sq - total * total / n) / (n - 1))
    sem = math.sqrt(var / n)
    if sem == 0:
        return Estimate(mean, n, mean, mean)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Estimate(mean, n, _finite(low), _finite(high))


def std_dev(n: int, total: float, total_sq: float) -> Estimate:
    """Sample standard deviation from SQL aggregates (no interval)."""
    if n < 2:
        return Estimate(None, n)
    var = max(0.0, (total_sq - total * total / n) / (n - 1))
    return Estimate(math.sqrt(var), n)


def correlation(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Pearson r (point-biserial when ``y`` is 0/1) with its Fisher-z interval (scipy)."""
    from scipy import stats
    n = len(x)
    if n < 3:
        return Estimate(None, n)
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return Estimate(None, n)
    result = stats.pearsonr(xa, ya)
    if n <= 3:  # the Fisher-z standard error 1/sqrt(n-3) is undefined
        return Estimate(_finite(float(result.statistic)), n, None, None,
                        _finite(float(result.pvalue)))
    ci = result.confidence_interval(confidence_level=confidence)
    return Estimate(_finite(float(result.statistic)), n, _finite(ci.low), _finite(ci.high),
                    _finite(float(result.pvalue)))


def rank_correlation(x: Sequence[float], y: Sequence[float],
                     confidence: float = 0.95) -> Estimate:
    """Spearman rho (scipy ``spearmanr``), interval from Pearson's on the ranks (Fisher z)."""
    from scipy import stats
    n = len(x)
    if n < 3:
        return Estimate(None, n)
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return Estimate(None, n)
    rho = stats.spearmanr(x, y)
    if n <= 3:
        return Estimate(_finite(float(rho.statistic)), n, None, None, _finite(float(rho.pvalue)))
    ci = stats.pearsonr(rx, ry).confidence_interval(confidence_level=confidence)
    return Estimate(_finite(float(rho.statistic)), n, _finite(ci.low), _finite(ci.high),
                    _finite(float(rho.pvalue)))


def diff_proportions(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> Estimate:
    """``k1/n1 - k2/n2`` with a Newcomb interval and a two-sided test (statsmodels)."""
    from statsmodels.stats.proportion import (
        confint_proportions_2indep,
        test_proportions_2indep,
    )
    if n1 <= 0 or n2 <= 0:
        return Estimate(None, n1 + n2)
    diff = k1 / n1 - k2 / n2
    with warnings.catch_warnings():
        # statsmodels also computes ratio/odds statistics that divide by zero at p=0; the
        # difference and its interval are well defined there.
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb",
                                               compare="diff", alpha=1 - confidence)
        p_value: float | None = None
        if 0 < k1 + k2 < n1 + n2:
            p_value = _finite(float(
                test_proportions_2indep(k1, n1, k2, n2, compare="diff").pvalue))
    return Estimate(diff, n1 + n2, _finite(low), _finite(high), p_value)
