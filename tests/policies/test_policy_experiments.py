"""Phrasing experiments: config validation, assignment, store, and the report on simulated data."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from empathy_bridge.errors import ConfigError
from empathy_bridge.policies.experiment_store import (
    Observation,
    harvest_exposures,
    observations,
    record_exposure,
    record_outcome,
)
from empathy_bridge.policies.experiments import assign_variant, build_report, check_experiments
from empathy_bridge.policies.library import load_library
from empathy_bridge.policies.settings import Experiment, ExperimentsSettings
from empathy_bridge.schemas import ReplySuggestion, Tier
from empathy_bridge.store import DecisionRow, Store

TONE = {"template": "delay.upset",
        "variants": {"control": {"template": "delay.upset", "split": 0.5},
                     "warm": {"template": "delay.upset.anxious", "split": 0.5}},
        "metrics": ["csat", "resolution_time"]}


@pytest.mark.parametrize(("experiments", "message"), [
    ({"tone": {**TONE, "variants": {"a": {"template": "x", "split": 0.6},
                                    "b": {"template": "y", "split": 0.3}}}},
     "experiments.tone: traffic split of the variants sums to 0.9; it must sum to 1"),
    ({"tone": {**TONE, "variants": {"a": {"template": "x", "split": 1.0}}}},
     "experiments.tone: an experiment needs at least two variants"),
    ({"tone": {**TONE, "metrics": ["happiness"]}}, "experiments.tone.metrics.0: Input should be"),
    ({"tone": {**TONE, "control": "nobody"}},
     "experiments.tone: control 'nobody' is not one of the variants"),
    ({"tone": {**TONE, "variants": {"a": {"template": "x", "split": -0.5},
                                    "b": {"template": "y", "split": 1.5}}}},
     "experiments.tone.variants.a.split: Input should be greater than 0"),
    ({"bad name!": TONE}, "experiments: experiment name 'bad name!' must be"),
])
def test_bad_experiment_config_fails_at_load_with_one_line(build: Any, experiments: dict[str, Any],
                                                           message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build.config({"experiments": experiments})
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(message), str(info.value)


def test_variant_templates_must_exist_in_the_library() -> None:
    settings = ExperimentsSettings.model_validate({"tone": {
        **TONE, "variants": {"control": {"template": "delay.upset", "split": 0.5},
                             "warm": {"template": "delay.upset.v2", "split": 0.5}}}})
    with pytest.raises(ConfigError, match=r"^experiments.tone.variants.warm.template: template "
                                          r"'delay.upset.v2' is not in the response library"):
        check_experiments(settings, load_library())


def test_a_missing_template_fails_when_the_bridge_is_built() -> None:
    # Not on the first suggestion: a daemon must refuse to start with a broken experiment.
    from empathy_bridge.engine import Bridge

    config = {"store": {"url": "sqlite://"}, "experiments": {"tone": {
        **TONE, "variants": {"control": {"template": "delay.upset", "split": 0.5},
                             "warm": {"template": "no.such.template", "split": 0.5}}}}}
    with pytest.raises(ConfigError, match=r"^experiments.tone.variants.warm.template: template "
                                          r"'no.such.template' is not in the response library"):
        Bridge.from_config(config)


def test_assignment_is_deterministic_and_follows_the_split() -> None:
    experiment = Experiment.model_validate({**TONE, "variants": {
        "a": {"template": "t", "split": 0.2}, "b": {"template": "t", "split": 0.3},
        "c": {"template": "t", "split": 0.5}}})
    counts = {"a": 0, "b": 0, "c": 0}
    for n in range(20_000):
        counts[assign_variant("tone", experiment, f"ticket-{n}")] += 1
    assert [assign_variant("tone", experiment, f"ticket-{n}") for n in range(50)] == [
        assign_variant("tone", experiment, f"ticket-{n}") for n in range(50)]
    for variant, share in (("a", 0.2), ("b", 0.3), ("c", 0.5)):
        # 20,000 draws: the standard error of a share is at most 0.0035; 0.015 is > 4 sigma.
        assert abs(counts[variant] / 20_000 - share) < 0.015, counts
    # A different experiment name reshuffles conversations independently.
    other = [assign_variant("other", experiment, f"ticket-{n}") for n in range(200)]
    assert other != [assign_variant("tone", experiment, f"ticket-{n}") for n in range(200)]


def _simulate(experiment: Experiment, rates: dict[str, float], means: dict[str, float],
              n: int, seed: int) -> tuple[dict[str, int], dict[str, list[Observation]]]:
    rng = np.random.default_rng(seed)
    exposures: dict[str, int] = {}
    values: dict[str, list[Observation]] = {"csat": [], "resolution_time": []}
    for i in range(n):
        variant = assign_variant("tone", experiment, f"conv-{i}")
        exposures[variant] = exposures.get(variant, 0) + 1
        values["csat"].append(Observation(variant, float(rng.random() < rates[variant])))
        values["resolution_time"].append(Observation(variant, float(rng.normal(means[variant],
                                                                               30.0))))
    return exposures, values


def test_report_detects_a_known_simulated_effect() -> None:
    experiment = Experiment.model_validate(TONE)
    exposures, values = _simulate(experiment, rates={"control": 0.70, "warm": 0.78},
                                  means={"control": 100.0, "warm": 92.0}, n=4000, seed=20261127)
    report = build_report("tone", experiment, exposures, values)
    assert report.control == "control"
    assert sum(report.exposures.values()) == 4000
    outcome = {(o.variant, o.metric): o for o in report.outcomes}
    for variant, rate in (("control", 0.70), ("warm", 0.78)):
        csat = outcome[(variant, "csat")]
        assert csat.mean is not None and abs(csat.mean - rate) < 0.03
        assert csat.ci_low is not None and csat.ci_high is not None
        assert csat.ci_low < csat.mean < csat.ci_high
        assert csat.ci_high - csat.ci_low < 0.06
    comparison = {c.metric: c for c in report.comparisons}
    lift = comparison["csat"]
    assert lift.test == "two-proportion z-test"
    assert lift.significant and lift.p_value is not None and lift.p_value < 1e-4
    assert lift.difference is not None and abs(lift.difference - 0.08) < 0.03
    resolution = comparison["resolution_time"]
    assert resolution.test == "Welch two-sample t-test"
    assert resolution.significant and resolution.difference is not None
    assert abs(resolution.difference + 8.0) < 3.0
    # Enough data for a 5-point CSAT lift was already gathered.
    assert lift.still_needed == 0


def test_intervals_cover_the_truth_and_tests_hold_their_false_positive_rate() -> None:
    # Calibration over many simulated experiments with no true difference: 95% intervals should
    # cover the true value about 95% of the time and the tests flag about 5% of them.
    experiment = Experiment.model_validate(TONE)
    runs, covered_csat, covered_time, flagged = 300, 0, 0, 0
    for seed in range(runs):
        exposures, values = _simulate(experiment, rates={"control": 0.6, "warm": 0.6},
                                      means={"control": 50.0, "warm": 50.0}, n=300, seed=seed)
        report = build_report("tone", experiment, exposures, values)
        control = {o.metric: o for o in report.outcomes if o.variant == "control"}
        assert control["csat"].ci_low is not None and control["csat"].ci_high is not None
        covered_csat += control["csat"].ci_low <= 0.6 <= control["csat"].ci_high
        low, high = control["resolution_time"].ci_low, control["resolution_time"].ci_high
        assert low is not None and high is not None
        covered_time += low <= 50.0 <= high
        flagged += sum(c.significant for c in report.comparisons)
    # Binomial(300, 0.95) lies within these bounds with probability > 0.999.
    assert 0.90 <= covered_csat / runs <= 0.99
    assert 0.90 <= covered_time / runs <= 0.99
    assert 0.01 <= flagged / (2 * runs) <= 0.10


def test_report_on_too_little_data_says_how_much_more_is_needed() -> None:
    experiment = Experiment.model_validate(TONE)
    exposures, values = _simulate(experiment, rates={"control": 0.70, "warm": 0.72},
                                  means={"control": 100.0, "warm": 100.0}, n=200, seed=3)
    report = build_report("tone", experiment, exposures, values)
    csat = next(c for c in report.comparisons if c.metric == "csat")
    control_rate = next(o.mean for o in report.outcomes
                        if o.variant == "control" and o.metric == "csat")
    assert control_rate is not None
    # The same power analysis, done directly with statsmodels.
    effect = abs(proportion_effectsize(control_rate + 0.05, control_rate))
    expected = math.ceil(NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8))
    assert csat.needed_per_variant == expected
    smaller = min(exposures.values())
    assert csat.still_needed == expected - smaller > 0


def test_report_without_outcomes_has_no_test() -> None:
    experiment = Experiment.model_validate(TONE)
    report = build_report("tone", experiment, {"control": 3, "warm": 4}, {})
    assert report.exposures == {"control": 3, "warm": 4}
    assert all(c.p_value is None and not c.significant for c in report.comparisons)
    assert all(o.n == 0 and o.mean is None for o in report.outcomes)


# --- store ----------------------------------------------------------------------------------


def test_exposures_and_outcomes_round_trip_through_the_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'eb.db'}")
    assert store.version >= 2
    assert record_exposure(store, experiment="tone", variant="warm", source="zendesk",
                           conversation_id="1", template_id="delay.upset.anxious")
    assert not record_exposure(store, experiment="tone", variant="control", source="zendesk",
                               conversation_id="1", template_id="delay.upset")
    record_exposure(store, experiment="tone", variant="control", source="zendesk",
                    conversation_id="2", template_id="delay.upset")
    record_outcome(store, source="zendesk", conversation_id="1", metric="csat", value=1)
    record_outcome(store, source="zendesk", conversation_id="1", metric="csat", value=0)  # replaces
    record_outcome(store, source="zendesk", conversation_id="2", metric="csat", value=1)
    # Conversation 9 was never exposed: its outcome belongs to no variant.
    record_outcome(store, source="zendesk", conversation_id="9", metric="csat", value=1)
    counts, values = observations(store, "tone", ["csat"])
    assert counts == {"warm": 1, "control": 1}
    assert sorted((o.variant, o.value) for o in values["csat"]) == [("control", 1.0),
                                                                    ("warm", 0.0)]
    with pytest.raises(ConfigError, match="metric 'csat' is binary"):
        record_outcome(store, source="zendesk", conversation_id="1", metric="csat", value=4)
    with pytest.raises(ConfigError, match="unknown outcome metric 'nps'"):
        record_outcome(store, source="zendesk", conversation_id="1", metric="nps", value=4)
    store.close()


def test_exposures_are_harvested_from_stored_decisions(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'eb.db'}")
    suggestion = ReplySuggestion(text="x", template_id="delay.upset.anxious", tier=Tier.UPSET,
                                 variant="tone:warm")
    plain = ReplySuggestion(text="y", template_id="delay.calm", tier=Tier.CALM)
    payload = json.dumps({"suggestions": [suggestion.model_dump(mode="json"),
                                          plain.model_dump(mode="json")]})
    with store.transaction() as conn:
        store.save_decisions(conn, "zendesk", [
            DecisionRow("42", "m1", payload, "high", "upset", None, False),
            DecisionRow("43", "m2", json.dumps({"suggestions": []}), "low", "calm", None, False)])
    assert harvest_exposures(store) == 1
    assert harvest_exposures(store) == 0  # idempotent
    counts, _ = observations(store, "tone", ["csat"])
    assert counts == {"warm": 1}
    store.close()
