"""Reply suggestions: scenario and tier choice, personalisation, library loading and lint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.errors import ConfigError
from empathy_bridge.policies.library import ResponseLibraryError, load_library
from empathy_bridge.policies.lint import empathy_markers, lint_library
from empathy_bridge.policies.responses import detect_scenarios, suggest_responses
from empathy_bridge.policies.settings import ExperimentsSettings, ResponsesSettings
from empathy_bridge.schemas import Tier

CASES: list[dict[str, Any]] = [
    dict(id="double-charge", text="I was charged twice for my subscription this month!",
         ctx=dict(state="frustration", intensity=0.6, tier="upset"),
         scenario="billing_error", template="billing_error.upset"),
    dict(id="confused-how-to", text="How do I export reports? The settings page is confusing.",
         ctx=dict(state="confusion", intensity=0.4, tier="concerned"),
         scenario="how_to", template="how_to.confused"),
    dict(id="outage-distressed", text="Everything is down again and we can't log in. "
                                      "Our whole team is blocked!",
         ctx=dict(state="frustration", intensity=0.85, tier="distressed"),
         scenario="outage", template="outage.distressed"),
    dict(id="cancel-calm", text="Please cancel my subscription at the end of the month.",
         ctx=dict(state="neutral", intensity=0.1, tier="calm"),
         scenario="cancellation", template="cancellation.calm"),
    dict(id="late-anxious", text="My order is late and it's a birthday present for Saturday.",
         ctx=dict(state="anxiety", intensity=0.6, tier="upset"),
         scenario="delay", template="delay.upset.anxious"),
    dict(id="defect-calm", text="Small thing: the export button is broken on Firefox.",
         ctx=dict(state="neutral", intensity=0.15, tier="calm"),
         scenario="defect", template="defect.calm"),
    dict(id="nothing-specific", text="Hello, I have a question about your company.",
         ctx=dict(state="neutral", intensity=0.1, tier="calm"),
         scenario="general", template="general.calm"),
]


def _suggest(build: Any, text: str, ctx: dict[str, Any], name: str | None = "Dana Reyes",
             settings: ResponsesSettings | None = None, library: Any = None,
             experiments: ExperimentsSettings | None = None, conversation_id: str = "c1") -> Any:
    customer = build.customer(name=name)
    message = build.message("m1", text, customer=customer, conversation=conversation_id)
    context = build.context(**ctx)
    return suggest_responses(message, context, build.conversation([(message, context)]),
                             settings or ResponsesSettings(), library or load_library(),
                             experiments)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_best_suggestion_fits_scenario_state_and_tier(build: Any, case: dict[str, Any]) -> None:
    suggestions = _suggest(build, case["text"], case["ctx"])
    assert suggestions[0].scenario == case["scenario"]
    assert suggestions[0].template_id == case["template"], [s.reason for s in suggestions]
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    assert all(s.reason.startswith("scenario ") for s in suggestions)
    assert len(suggestions) == 3


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_never_a_whole_scripted_reply(build: Any, case: dict[str, Any]) -> None:
    for suggestion in _suggest(build, case["text"], case["ctx"]):
        opening, stub = suggestion.text.split("\n\n")
        assert stub.startswith("[Next step:") and stub.endswith("]")
        assert len(opening) < 400
        assert "{" not in suggestion.text


def test_personalised_with_name_issue_and_quote(build: Any) -> None:
    [top, *_] = _suggest(build, "Where is my order? My order still hasn't arrived after two "
                                "weeks. I'm so disappointed.",
                         dict(state="disappointment", intensity=0.85, tier="distressed"))
    assert top.template_id == "delay.distressed"
    assert top.text.startswith("Dana, I hear you: you wrote \"My order still hasn't arrived "
                               "after two weeks\"")
    assert "ownership of your order personally" in top.text
    assert "active listening: validation + paraphrase" in top.reason


def test_quote_comes_from_the_strongest_cue(build: Any) -> None:
    [top, *_] = _suggest(build, "Hi. I paid on time. This is the third time I contact you about "
                                "the refund.",
                         dict(state="frustration", intensity=0.85, tier="distressed",
                              cues=["repeated_contact"]))
    # The cue's span ("repeated contact") is not in the text, so the marker-richest sentence wins.
    assert '"This is the third time I contact you about the refund"' in top.text


def test_without_a_name_the_opening_still_reads_well(build: Any) -> None:
    [top, *_] = _suggest(build, "I was charged twice!", dict(state="frustration", intensity=0.6,
                                                              tier="upset"), name=None)
    assert top.text.startswith("I can see why the charge on your account is frustrating")
    assert "there" not in top.text.split(".")[0]


def test_higher_tiers_carry_active_listening(build: Any) -> None:
    library = load_library()
    for _scenario, template in library.templates():
        if max(template.tiers) >= Tier.UPSET:
            markers = empathy_markers(template.opening)
            assert "paraphrase" in markers and "validation" in markers, template.id


def test_scenario_keywords_are_whole_words(build: Any) -> None:
    library = load_library()
    # "invoices" is not the keyword "invoice", and "download" does not contain "down" as a word.
    names = [m.scenario.scenario for m in detect_scenarios("download invoices", library)]
    assert names == []


# --- the library: files, overrides, errors --------------------------------------------------

GOOD = """\
scenario: delay
issue: the wait
keywords: [late]
templates:
  - id: custom.delay
    tiers: [calm, concerned, upset, distressed, critical]
    opening: "{name}, I can see {issue} has been frustrating and I'm sorry; I'll fix it."
    next_step: "[Next step: new date]"
"""


def test_a_library_folder_overrides_a_shipped_scenario(build: Any, tmp_path: Path) -> None:
    (tmp_path / "delay.yaml").write_text(GOOD)
    config = build.config({"responses": {"library": str(tmp_path)}})
    settings = config.section("responses", ResponsesSettings)
    library = load_library(settings.library, base_dir=config.base_dir)
    assert [t.id for t in library.scenarios["delay"].templates] == ["custom.delay"]
    assert "billing_error" in library.scenarios  # the rest of the shipped library stays
    [top, *_] = _suggest(build, "my parcel is late", dict(state="frustration", intensity=0.5,
                                                          tier="upset"), library=library)
    assert top.template_id == "custom.delay"


@pytest.mark.parametrize(("content", "message"), [
    (GOOD.replace("{name},", "{nmae},"),
     "lib/delay.yaml: template 'custom.delay' uses unknown placeholder {nmae} (allowed: {agent}, "
     "{brand}, {issue}, {name}, {quote})"),
    (GOOD.replace('"[Next step: new date]"', '"We will ship tomorrow."'),
     "lib/delay.yaml: templates.0.next_step: Value error, next_step must be an editable stub"),
    (GOOD.replace("tiers: [calm,", "tiers: [chill,"),
     "lib/delay.yaml: templates.0.tiers.0: Input should be"),
    (GOOD.replace("{name}, I", "{name, I"),
     "lib/delay.yaml: template 'custom.delay' opening: malformed braces"),
    ("scenario: [unclosed", "lib/delay.yaml line 1: not valid YAML"),
    ("- just a list", "lib/delay.yaml: expected a mapping"),
])
def test_bad_templates_fail_at_load_with_one_line(tmp_path: Path, content: str,
                                                  message: str) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "delay.yaml").write_text(content)
    with pytest.raises(ResponseLibraryError) as info:
        load_library(folder, replace_builtin=True)
    assert isinstance(info.value, ConfigError)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(message), str(info.value)


def test_duplicate_template_ids_across_files_fail(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD.replace("scenario: delay", "scenario: other"))
    with pytest.raises(ResponseLibraryError, match=r"template id 'custom\.delay' is also used"):
        load_library(tmp_path, replace_builtin=True)


def test_missing_library_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ResponseLibraryError, match="does not exist"):
        load_library(tmp_path / "nope")


# --- lint -----------------------------------------------------------------------------------


def test_shipped_library_passes_lint() -> None:
    results = lint_library(load_library())
    assert len(results) >= 20
    assert [r.template_id for r in results if not r.ok] == []


COLD = """\
scenario: cold
keywords: [refund]
templates:
  - id: cold.distressed
    tiers: [distressed]
    opening: "Per our policy, refunds take 10 days. Please note you must wait."
    next_step: "[Next step: refund date]"
  - id: cold.calm
    tiers: [calm]
    opening: "Refunds take 10 days."
    next_step: "[Next step: refund date]"
"""


def test_lint_flags_cold_templates_at_high_tiers(tmp_path: Path) -> None:
    (tmp_path / "cold.yaml").write_text(COLD)
    results = {r.template_id: r for r in lint_library(load_library(tmp_path,
                                                                   replace_builtin=True))}
    cold = results["cold.distressed"]
    assert not cold.ok
    assert cold.cold == ["policy", "scolding"]
    assert cold.score < 0
    assert "missing validation (needed at tier distressed)" in cold.problems
    assert "needs an apology or ownership at tier distressed" in cold.problems
    assert results["cold.calm"].ok  # plain is fine when the customer is calm


# --- experiments in suggestions -------------------------------------------------------------


def test_experiment_swaps_in_the_assigned_variant(build: Any) -> None:
    experiments = ExperimentsSettings.model_validate({"tone": {
        "template": "billing_error.upset",
        "variants": {"control": {"template": "billing_error.upset", "split": 0.5},
                     "warmer": {"template": "billing_error.anxious", "split": 0.5}}}})
    seen: dict[str, str] = {}
    for n in range(40):
        [top, *_] = _suggest(build, "I was charged twice!", dict(state="frustration",
                                                                  intensity=0.6, tier="upset"),
                             experiments=experiments, conversation_id=f"conv-{n}")
        assert top.variant in ("tone:control", "tone:warmer")
        assert top.template_id == {"tone:control": "billing_error.upset",
                                   "tone:warmer": "billing_error.anxious"}[top.variant]
        seen[f"conv-{n}"] = top.variant
    assert set(seen.values()) == {"tone:control", "tone:warmer"}
    # Deterministic: the same conversation sees the same variant again.
    [again, *_] = _suggest(build, "I was charged twice!", dict(state="frustration",
                                                                intensity=0.6, tier="upset"),
                           experiments=experiments, conversation_id="conv-7")
    assert again.variant == seen["conv-7"]
