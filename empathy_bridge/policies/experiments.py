"""A/B tests of phrasing variants: deterministic assignment and the statistical report.

Assignment hashes the experiment name and the conversation id (SHA-256) onto [0, 1) and walks
the cumulative traffic split, so a conversation always sees the same variant, on every machine,
with no state. The report compares each variant with the control on every metric using
statsmodels and scipy: Wilson intervals and a two-proportion z-test for binary metrics (CSAT
good/bad, reopened), t intervals and Welch's t-test for continuous ones (next-message sentiment,
resolution time), and the power analysis for the sample size still needed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict

from empathy_bridge.errors import ConfigError
from empathy_bridge.policies.library import ResponseLibrary
from empathy_bridge.policies.settings import METRICS, Experiment, ExperimentsSettings

if TYPE_CHECKING:
    # The experiment store needs SQLAlchemy; the built-in policies plugin imports this module
    # on every start (config checks), and only reports read observations.
    from empathy_bridge.policies.experiment_store import Observation

__all__ = [
    "Comparison",
    "ExperimentReport",
    "VariantOutcome",
    "assign_variant",
    "assignment_point",
    "build_report",
    "check_experiments",
]


def assignment_point(experiment: str, conversation_id: str) -> float:
    """A uniform, stable number in [0, 1) for the (experiment, conversation) pair."""
    digest = hashlib.sha256(f"{experiment}\x00{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_variant(name: str, experiment: Experiment, conversation_id: str) -> str:
    """The variant a conversation sees: deterministic, proportional to the traffic split."""
    point = assignment_point(name, conversation_id)
    cumulative = 0.0
    for variant, spec in experiment.variants.items():
        cumulative += spec.split
        if point < cumulative:
            return variant
    return next(reversed(experiment.variants))  # float rounding at the very top of the range


def check_experiments(settings: ExperimentsSettings, library: ResponseLibrary) -> None:
    """Every experiment's templates exist in the library (one-line ConfigError otherwise)."""
    for name, experiment in settings.root.items():
        for label, template in [
            ("template", experiment.template),
            *((f"variants.{v}.template", spec.template) for v, spec in experiment.variants.items()),
        ]:
            if library.template(template) is None:
                raise ConfigError(
                    f"experiments.{name}.{label}: template {template!r} is not in "
                    f"the response library (see `empathy-bridge responses lint`)"
                )


class VariantOutcome(BaseModel):
    """One variant's result on one metric."""

    model_config = ConfigDict(frozen=True)

    variant: str
    metric: str
    kind: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None


class Comparison(BaseModel):
    """A variant against the control on one metric."""

    model_config = ConfigDict(frozen=True)

    variant: str
    control: str
    metric: str
    difference: float | None
    test: str
    statistic: float | None
    p_value: float | None
    significant: bool
    needed_per_variant: int | None
    still_needed: int | None


class ExperimentReport(BaseModel):
    """Everything `empathy-bridge experiments report` prints."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    control: str
    alpha: float
    exposures: dict[str, int]
    outcomes: list[VariantOutcome]
    comparisons: list[Comparison]


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _binary_outcome(variant: str, metric: str, values: np.ndarray, alpha: float) -> VariantOutcome:
    from statsmodels.stats.proportion import proportion_confint  # heavy: load on use

    n = len(values)
    if not n:
        return VariantOutcome(
            variant=variant, metric=metric, kind="binary", n=0, mean=None, ci_low=None, ci_high=None
        )
    count = int(values.sum())
    low, high = proportion_confint(count, n, alpha=alpha, method="wilson")
    return VariantOutcome(
        variant=variant,
        metric=metric,
        kind="binary",
        n=n,
        mean=count / n,
        ci_low=float(low),
        ci_high=float(high),
    )


def _continuous_outcome(
    variant: str, metric: str, values: np.ndarray, alpha: float
) -> VariantOutcome:
    from statsmodels.stats.weightstats import DescrStatsW  # heavy: load on use

    n = len(values)
    mean = float(values.mean()) if n else None
    low = high = None
    if n >= 2:
        low_, high_ = DescrStatsW(values).tconfint_mean(alpha=alpha)
        low, high = _finite(low_), _finite(high_)
    return VariantOutcome(
        variant=variant, metric=metric, kind="continuous", n=n, mean=mean, ci_low=low, ci_high=high
    )


def _needed_binary(p_control: float, mde: float, alpha: float, power: float) -> int | None:
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    target = min(max(p_control + mde, 0.0), 1.0)
    if target == p_control:
        target = max(p_control - mde, 0.0)
    effect = abs(float(proportion_effectsize(target, p_control)))
    if effect == 0.0:
        return None
    n = NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=1.0)
    return math.ceil(float(n))


def _needed_continuous(d: float, alpha: float, power: float) -> int | None:
    from statsmodels.stats.power import TTestIndPower

    if d <= 0:
        return None
    n = TTestIndPower().solve_power(effect_size=d, alpha=alpha, power=power, ratio=1.0)
    return math.ceil(float(n))


def _compare(
    metric: str, variant: str, control: str, a: np.ndarray, b: np.ndarray, experiment: Experiment
) -> Comparison:
    """``a`` is the variant's values, ``b`` the control's."""
    from scipy import stats
    from statsmodels.stats.proportion import proportions_ztest

    alpha, power, mde = experiment.alpha, experiment.power, experiment.mde(metric)
    difference = test = statistic = p_value = None
    needed: int | None = None
    if METRICS[metric] == "binary":
        test = "two-proportion z-test"
        p_control = float(b.mean()) if len(b) else 0.5
        needed = _needed_binary(p_control, mde, alpha, power)
        if len(a) and len(b):
            difference = float(a.mean() - b.mean())
            pooled = (a.sum() + b.sum()) / (len(a) + len(b))
            if 0.0 < pooled < 1.0:
                z, p = proportions_ztest([a.sum(), b.sum()], [len(a), len(b)])
                statistic, p_value = _finite(float(z)), _finite(float(p))
            else:
                # Every outcome identical: the test is undefined and there is no evidence of a
                # difference.
                statistic, p_value = None, 1.0
    else:
        test = "Welch two-sample t-test"
        needed = _needed_continuous(mde, alpha, power)
        if len(a) and len(b):
            difference = float(a.mean() - b.mean())
        if len(a) >= 2 and len(b) >= 2:
            result = stats.ttest_ind(a, b, equal_var=False)
            statistic, p_value = _finite(float(result.statistic)), _finite(float(result.pvalue))
    still = max(0, needed - min(len(a), len(b))) if needed is not None else None
    return Comparison(
        variant=variant,
        control=control,
        metric=metric,
        difference=difference,
        test=test,
        statistic=statistic,
        p_value=p_value,
        significant=p_value is not None and p_value < alpha,
        needed_per_variant=needed,
        still_needed=still,
    )


def build_report(
    name: str,
    experiment: Experiment,
    exposures: Mapping[str, int],
    values: Mapping[str, Sequence[Observation]],
) -> ExperimentReport:
    """Per-variant outcomes with confidence intervals, and each variant against the control."""
    control = experiment.control_name
    outcomes: list[VariantOutcome] = []
    comparisons: list[Comparison] = []
    for metric in experiment.metrics:
        by_variant = {
            variant: np.array(
                [o.value for o in values.get(metric, ()) if o.variant == variant], dtype=float
            )
            for variant in experiment.variants
        }
        for variant, array in by_variant.items():
            if METRICS[metric] == "binary":
                outcomes.append(_binary_outcome(variant, metric, array, experiment.alpha))
            else:
                outcomes.append(_continuous_outcome(variant, metric, array, experiment.alpha))
        for variant, array in by_variant.items():
            if variant != control:
                comparisons.append(
                    _compare(metric, variant, control, array, by_variant[control], experiment)
                )
    return ExperimentReport(
        experiment=name,
        control=control,
        alpha=experiment.alpha,
        exposures={variant: int(exposures.get(variant, 0)) for variant in experiment.variants},
        outcomes=outcomes,
        comparisons=comparisons,
    )
