"""Command-line tools of the built-in policies.

- ``empathy-bridge explain --config F --interaction ID``: the SLA decision and which routing
  rule fired for a stored interaction, and why every other rule did not.
- ``empathy-bridge handoff [--config F] --conversation FILE``: the handoff decision as JSON.
- ``empathy-bridge responses lint [--library DIR]``: empathy markers per template; exit 1 when
  a template is flagged.
- ``empathy-bridge experiments report NAME --config F``: per-variant outcomes and tests.
- ``empathy-bridge experiments outcome --config F ...``: record outcomes (one, or JSON lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from empathy_bridge.config import format_validation_error
from empathy_bridge.errors import ConfigError, EmpathyBridgeError
from empathy_bridge.schemas import Conversation, Interaction

__all__ = ["register"]

_console = Console()


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _bridge(config_path: Path | None) -> Any:
    # Imported lazily: the engine imports the plugin manager, which imports this plugin's module.
    from empathy_bridge.engine import Bridge

    return Bridge.from_config(config_path)


# --- explain --------------------------------------------------------------------------------


@click.command()
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Path to the TOML config file.")
@click.option("--interaction", "native_id", required=True,
              help="Native id of a stored interaction.")
@click.option("--source", default=None, help="Source of the interaction, when ids may clash.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def explain(config_path: Path, native_id: str, source: str | None, as_json: bool) -> None:
    """Show the SLA decision and which routing rule fired for a stored interaction, and why."""
    from empathy_bridge.policies.routing import explain_routing
    from empathy_bridge.policies.settings import RoutingSettings, SlaSettings
    from empathy_bridge.policies.sla import decide_priority

    with _bridge(config_path) as bridge:
        found = bridge.store.get_interaction(native_id, source)
        if found is None:
            where = f" in source {source!r}" if source else ""
            raise ConfigError(f"interaction {native_id!r}{where} is not in the store: run "
                              f"`empathy-bridge sync` first or check the id")
        interaction, context = found
        history = bridge.store.conversation_history(interaction.source,
                                                    [interaction.conversation_id])
        items = history.get(interaction.conversation_id, [(interaction, context)])
        conversation = Conversation(
            source=interaction.source, conversation_id=interaction.conversation_id,
            interactions=tuple(i for i, _ in items),
            contexts={i.native_id: c for i, c in items if c is not None},
            customer=interaction.customer)
        missing = [i for i in conversation.interactions if i.native_id not in conversation.contexts]
        if missing:
            contexts = dict(conversation.contexts)
            contexts.update(zip([i.native_id for i in missing], bridge.analyze_many(missing),
                                strict=True))
            conversation = conversation.model_copy(update={"contexts": contexts})
        context = conversation.contexts[interaction.native_id]
        trajectory = bridge.pm.hook.empathy_bridge_analyze_conversation(
            conversation=conversation, config=bridge.config)
        if trajectory is not None:
            conversation = conversation.model_copy(update={"trajectory": trajectory})
        priority = decide_priority(interaction, context, conversation,
                                   bridge.config.section("sla", SlaSettings))
        routing = bridge.config.section("routing", RoutingSettings)
        evaluations = explain_routing(interaction, context, conversation, routing)
    if as_json:
        _emit({"interaction": native_id, "source": interaction.source,
               "state": context.state.value, "tier": context.tier.value,
               "priority": priority.model_dump(mode="json"), "mode": routing.mode,
               "rules": [e.model_dump(mode="json") for e in evaluations]})
        return
    _console.print(f"[bold]{interaction.source}/{native_id}[/]: {context.state.value}, tier "
                   f"{context.tier.value}, intensity {context.intensity:.2f}, cues "
                   f"{sorted(context.cue_kinds()) or 'none'}")
    due = priority.due_at.isoformat() if priority.due_at else "n/a"
    _console.print(f"[bold]priority[/]: {priority.priority.value}, due {due}: {priority.reason}")
    if not evaluations:
        _console.print("routing: no rules configured in [routing]")
        return
    table = Table(title=f"routing rules (mode: {routing.mode})")
    for column in ("rule", "result", "why"):
        table.add_column(column)
    for evaluation in evaluations:
        result = "fired" if evaluation.fired else ("matched" if evaluation.matched else "no match")
        table.add_row(evaluation.rule, result, evaluation.note)
    _console.print(table)


# --- handoff --------------------------------------------------------------------------------


def _read_conversation(stream: IO[str], name: str) -> Conversation:
    text = stream.read()
    try:
        stripped = text.lstrip()
        if stripped.startswith("{") and "\n{" not in stripped.rstrip():
            return Conversation.model_validate_json(text)
        interactions = [Interaction.model_validate_json(line)
                        for line in text.splitlines() if line.strip()]
    except ValidationError as exc:
        raise ConfigError(f"{name}: {format_validation_error(exc)}") from None
    if not interactions:
        raise ConfigError(f"{name}: no interactions (expected a Conversation JSON object or one "
                          f"Interaction JSON object per line)")
    first = interactions[0]
    customer = next((i.customer for i in reversed(interactions) if i.customer), None)
    return Conversation(source=first.source, conversation_id=first.conversation_id,
                        interactions=tuple(sorted(interactions, key=lambda i: i.created_at)),
                        customer=customer)


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Config file ([handoff] section); defaults apply without one.")
@click.option("--conversation", "conversation_file", required=True, type=click.File("r"),
              help="A Conversation JSON object, or an Interaction JSON object per line; '-' "
                   "reads standard input.")
def handoff(config_path: Path | None, conversation_file: IO[str]) -> None:
    """Decide whether a bot conversation goes to a human; print the decision and packet as JSON."""
    conversation = _read_conversation(conversation_file, conversation_file.name)
    with _bridge(config_path) as bridge:
        decision = bridge.decide_handoff(conversation)
    _emit(decision.model_dump(mode="json"))


# --- responses lint -------------------------------------------------------------------------


@click.group()
def responses() -> None:
    """Reply-suggestion library tools."""


@responses.command("lint")
@click.option("--library", "library_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Lint only this folder of YAML files (default: the shipped "
                                 "library, or [responses] library of --config layered over it).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Config file whose [responses] library to lint.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def responses_lint(library_dir: Path | None, config_path: Path | None, as_json: bool) -> None:
    """Score templates for empathy markers; exit 1 if any is cold for its tier."""
    from empathy_bridge.policies.library import load_library
    from empathy_bridge.policies.lint import lint_library
    from empathy_bridge.policies.settings import ResponsesSettings

    if library_dir is not None:
        library = load_library(library_dir.resolve(), replace_builtin=True)
    elif config_path is not None:
        with _bridge(config_path) as bridge:
            settings = bridge.config.section("responses", ResponsesSettings)
            library = load_library(settings.library, base_dir=bridge.config.base_dir,
                                   replace_builtin=settings.replace_builtin)
    else:
        library = load_library()
    results = lint_library(library)
    flagged = [r for r in results if not r.ok]
    if as_json:
        _emit([{**r.model_dump(mode="json"), "ok": r.ok} for r in results])
    else:
        table = Table(title=f"{len(results)} templates, {len(flagged)} flagged")
        for column in ("template", "top tier", "score", "markers", "problems"):
            table.add_column(column)
        for r in results:
            table.add_row(r.template_id, r.top_tier.value, str(r.score), ", ".join(r.markers),
                          "; ".join(r.problems) or "ok",
                          style="red" if r.problems else None)
        _console.print(table)
    if flagged:
        raise SystemExit(1)


# --- experiments ----------------------------------------------------------------------------


@click.group()
def experiments() -> None:
    """A/B tests of reply phrasing."""


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


@experiments.command("report")
@click.argument("name")
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Path to the TOML config file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def experiments_report(name: str, config_path: Path, as_json: bool) -> None:
    """Per-variant outcomes with confidence intervals, significance tests and sample size needed."""
    from empathy_bridge.policies.experiment_store import harvest_exposures, observations
    from empathy_bridge.policies.experiments import build_report
    from empathy_bridge.policies.settings import ExperimentsSettings

    with _bridge(config_path) as bridge:
        settings = bridge.config.section("experiments", ExperimentsSettings)
        experiment = settings.root.get(name)
        if experiment is None:
            known = ", ".join(settings.root) or "none configured"
            raise ConfigError(f"experiment {name!r} is not in [experiments] (known: {known})")
        harvest_exposures(bridge.store)
        exposures, values = observations(bridge.store, name, experiment.metrics)
    report = build_report(name, experiment, exposures, values)
    if as_json:
        _emit(report.model_dump(mode="json"))
        return
    level = f"{1 - report.alpha:.0%}"
    outcomes = Table(title=f"{name}: outcomes (control: {report.control})")
    for column in ("variant", "exposed", "metric", "n", "mean", f"{level} CI"):
        outcomes.add_column(column)
    for o in report.outcomes:
        outcomes.add_row(o.variant, str(report.exposures.get(o.variant, 0)), o.metric, str(o.n),
                         _fmt(o.mean), f"[{_fmt(o.ci_low)}, {_fmt(o.ci_high)}]")
    _console.print(outcomes)
    tests = Table(title="against the control")
    for column in ("variant", "metric", "difference", "test", "p-value", "significant",
                   "n needed / variant", "still needed"):
        tests.add_column(column)
    for c in report.comparisons:
        tests.add_row(c.variant, c.metric, _fmt(c.difference), c.test, _fmt(c.p_value, 4),
                      "yes" if c.significant else "no", str(c.needed_per_variant or "n/a"),
                      str(c.still_needed if c.still_needed is not None else "n/a"))
    _console.print(tests)


@experiments.command("outcome")
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Path to the TOML config file.")
@click.option("--source", default=None, help="Source of the conversation.")
@click.option("--conversation", "conversation_id", default=None, help="Conversation id.")
@click.option("--metric", default=None,
              help="csat, reopen, next_message_sentiment or resolution_time.")
@click.option("--value", type=float, default=None, help="1/0 for binary metrics, else a number.")
@click.option("--input", "input_file", type=click.File("r"), default=None,
              help="JSON lines of {source, conversation_id, metric, value}; '-' for stdin.")
def experiments_outcome(config_path: Path, source: str | None, conversation_id: str | None,
                        metric: str | None, value: float | None,
                        input_file: IO[str] | None) -> None:
    """Record outcome metrics of conversations (one from options, or many as JSON lines)."""
    from empathy_bridge.policies.experiment_store import record_outcome

    rows: list[tuple[int, dict[str, Any]]] = []
    if input_file is not None:
        for number, line in enumerate(input_file, 1):
            if line.strip():
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    raise ConfigError(f"line {number}: not JSON") from None
                rows.append((number, data if isinstance(data, dict) else {}))
    elif None in (source, conversation_id, metric, value):
        raise ConfigError("give --source, --conversation, --metric and --value, or --input FILE")
    else:
        rows.append((0, {"source": source, "conversation_id": conversation_id, "metric": metric,
                         "value": value}))
    recorded = 0
    with _bridge(config_path) as bridge:
        for number, data in rows:
            try:
                record_outcome(bridge.store, source=str(data["source"]),
                               conversation_id=str(data["conversation_id"]),
                               metric=str(data["metric"]), value=float(data["value"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"line {number}: needs source, conversation_id, metric and a "
                                  f"numeric value ({exc.__class__.__name__})") from None
            except EmpathyBridgeError as exc:
                raise ConfigError(f"line {number}: {exc}" if number else str(exc)) from None
            recorded += 1
    click.echo(f"recorded {recorded} outcome{'s' if recorded != 1 else ''}")


def register(cli: click.Group) -> None:
    """Add the policy commands to the root group."""
    for command in (explain, handoff, responses, experiments):
        cli.add_command(command)
