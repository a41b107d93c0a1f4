"""``empathy-bridge replies ...`` and ``empathy-bridge social ...`` commands.

Registered by the built-in plugin :mod:`empathy_bridge.defaults.social` through
``empathy_bridge_register_commands``. Every command takes ``--config F`` and works on that
config's store; actions are recorded in the audit log with the acting person.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from empathy_bridge.errors import ConfigError
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    EmotionalContext,
    Interaction,
    ReplySuggestion,
)
from empathy_bridge.social.audit import audit_replies
from empathy_bridge.social.ops import SocialOps
from empathy_bridge.social.replies import Draft, DraftStatus, ReplyQueue
from empathy_bridge.social.settings import SocialSettings

__all__ = ["replies", "social", "social_context"]

_config_option = click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Path to the TOML config file.")


def _default_user() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or getpass.getuser()


@dataclass
class SocialContext:
    """The pieces a social command needs, built from one config file."""

    queue: ReplyQueue
    ops: SocialOps
    settings: SocialSettings


@contextmanager
def social_context(config_path: Path | str, environ: dict[str, str] | None = None,
                   plugins: tuple[object, ...] = ()) -> Iterator[SocialContext]:
    """Open the bridge of ``config_path`` and wire the social pieces to it.

    :param plugins: extra plugin objects (scripts and tests).
    """
    from empathy_bridge.engine import Bridge

    bridge = Bridge.from_config(config_path, environ=environ, plugins=plugins)
    try:
        settings = bridge.config.section("social", SocialSettings)

        def tone(text: str) -> float:
            return bridge.analyze(text, author_role=AuthorRole.AGENT).sentiment

        def max_length(source: str) -> int | None:
            value = getattr(bridge.adapter(source), "reply_max_length", None)
            return value if isinstance(value, int) else None

        def suggest(post: Interaction, context: EmotionalContext) -> str | None:
            conversation = Conversation(source=post.source, conversation_id=post.conversation_id,
                                        interactions=(post,), contexts={post.native_id: context},
                                        customer=post.customer)
            found: list[ReplySuggestion] = []
            for result in bridge.pm.hook.empathy_bridge_suggest_responses(
                    interaction=post, context=context, conversation=conversation,
                    config=bridge.config):
                found.extend(result or [])
            found.sort(key=lambda s: -s.score)
            return found[0].text if found else None

        queue = ReplyQueue(bridge.store, settings, tone=tone, platform_max_length=max_length)
        ops = SocialOps(bridge.store, settings, adapter_for=bridge.adapter,
                        secrets=bridge.secrets, replies=queue, policy=bridge.retry_policy,
                        suggest=suggest)
        yield SocialContext(queue=queue, ops=ops, settings=settings)
    finally:
        bridge.close()


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _draft_dict(draft: Draft) -> dict[str, Any]:
    data = {k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in draft.__dict__.items()}
    data["status"] = draft.status.value
    data["blocked_reasons"] = list(draft.blocked_reasons)
    return data


def _show(draft: Draft) -> None:
    console = _console()
    console.print(f"[bold]{draft.id}[/bold]  {draft.status.value}  ({draft.source}, replying to "
                  f"{draft.in_reply_to})")
    console.print(f"drafted by {draft.drafted_by} ({draft.origin}); approval: "
                  f"{'needed' if draft.needs_approval else 'not needed'} - {draft.approval_reason}")
    if draft.blocked_reasons:
        for reason in draft.blocked_reasons:
            console.print(f"[red]blocked:[/red] it {reason}")
    if draft.approved_by:
        console.print(f"approved by {draft.approved_by}")
    if draft.rejected_by:
        console.print(f"rejected by {draft.rejected_by}: {draft.reject_reason or ''}")
    if draft.posted_id:
        console.print(f"posted as {draft.posted_id} {draft.posted_url or ''}")
    if draft.last_error:
        console.print(f"last error: {draft.last_error}")
    console.print("")
    console.print(draft.text, markup=False)


@click.group()
def replies() -> None:
    """Public reply drafts: approval workflow, posting and audit."""


@replies.command("list")
@_config_option
@click.option("--status", type=click.Choice([s.value for s in DraftStatus]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_drafts(config_path: Path, status: str | None, as_json: bool) -> None:
    """List drafts (all, or of one status)."""
    with social_context(config_path) as ctx:
        drafts = ctx.queue.drafts(DraftStatus(status) if status else None, limit=1000)
    if as_json:
        click.echo(json.dumps([_draft_dict(d) for d in drafts], indent=2, ensure_ascii=False))
        return
    table = Table("id", "status", "to post", "by", "approval", "text")
    for d in drafts:
        note = ("; ".join(d.blocked_reasons) if d.blocked_reasons else
                d.approved_by or ("needed" if d.needs_approval else ""))
        table.add_row(d.id, d.status.value, d.in_reply_to, d.drafted_by, note, d.text[:60])
    _console().print(table)


@replies.command("show")
@_config_option
@click.argument("draft_id")
def show_draft(config_path: Path, draft_id: str) -> None:
    """Show one draft with its approval state and reasons."""
    with social_context(config_path) as ctx:
        _show(ctx.queue.get(draft_id))


@replies.command("draft")
@_config_option
@click.option("--source", required=True, help="Configured source of the post, e.g. x.")
@click.option("--to", "in_reply_to", required=True, help="Native id of the post to answer.")
@click.option("--text", required=True, help="The reply.")
@click.option("--by", "by", default=_default_user, show_default="$USER")
@click.option("--another", is_flag=True, help="Draft even if the post already has a reply.")
def draft_reply(config_path: Path, source: str, in_reply_to: str, text: str, by: str,
                another: bool) -> None:
    """Draft a public reply; it is held for approval when the rules say so."""
    with social_context(config_path) as ctx:
        draft = ctx.queue.draft(source, in_reply_to, text, drafted_by=by, allow_another=another)
        _show(draft)


@replies.command("approve")
@_config_option
@click.argument("draft_id")
@click.option("--by", "by", default=_default_user, show_default="$USER",
              help="Who approves (recorded in the audit log).")
def approve(config_path: Path, draft_id: str, by: str) -> None:
    """Approve a pending draft."""
    with social_context(config_path) as ctx:
        draft = ctx.queue.approve(draft_id, by=by)
    click.echo(f"approved {draft.id} by {draft.approved_by}; it goes out with "
               "`empathy-bridge replies post` (or the next `social run`)")


@replies.command("reject")
@_config_option
@click.argument("draft_id")
@click.option("--by", "by", default=_default_user, show_default="$USER")
@click.option("--reason", default="", help="Why (recorded).")
def reject(config_path: Path, draft_id: str, by: str, reason: str) -> None:
    """Reject a draft."""
    with social_context(config_path) as ctx:
        draft = ctx.queue.reject(draft_id, by=by, reason=reason)
    click.echo(f"rejected {draft.id}")


@replies.command("edit")
@_config_option
@click.argument("draft_id")
@click.option("--text", required=True, help="The new text.")
@click.option("--by", "by", default=_default_user, show_default="$USER")
def edit(config_path: Path, draft_id: str, text: str, by: str) -> None:
    """Replace a draft's text (brand safety and approval rules run again)."""
    with social_context(config_path) as ctx:
        _show(ctx.queue.edit(draft_id, text, by=by))


@replies.command("post")
@_config_option
def post(config_path: Path) -> None:
    """Post approved drafts through their sources (each exactly once)."""
    with social_context(config_path) as ctx:
        outcomes = ctx.ops.post_approved()
    if not outcomes:
        click.echo("nothing to post")
    for outcome in outcomes:
        click.echo(f"{outcome.draft_id}: {outcome.status.value}"
                   + (f" as {outcome.posted_id}" if outcome.posted_id else "")
                   + (f" ({outcome.error})" if outcome.error else ""))


def _parse_since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since {value!r} is not a date: use YYYY-MM-DD") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@replies.command("audit")
@_config_option
@click.option("--since", required=True, help="Start of the period, e.g. 2026-11-01.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit(config_path: Path, since: str, as_json: bool) -> None:
    """Per team member: public replies, tone, consistency and outliers since a date."""
    start = _parse_since(since)
    with social_context(config_path) as ctx:
        result = audit_replies(ctx.queue.posted_since(start), ctx.settings.audit, start)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
        return
    table = Table("member", "replies", "mean tone", "std", "min", "max", "outliers", "flag",
                  title=f"public replies since {start:%Y-%m-%d} (team mean {result.team_mean}, "
                        f"std {result.team_std})")
    for m in result.members:
        table.add_row(m.member, str(m.replies), str(m.mean_tone), str(m.std_tone),
                      str(m.min_tone), str(m.max_tone), str(len(m.outliers)),
                      "inconsistent" if m.inconsistent else "")
    _console().print(table)
    for o in result.outliers:
        _console().print(f"outlier {o['draft_id']} by {o['member']}: tone {o['tone']} "
                         f"(z {o['z']}): {o['text'][:80]}", markup=False)


@click.group()
def social() -> None:
    """Social listening: rules, alerts, escalation."""


@social.command("run")
@_config_option
@click.option("--no-post", is_flag=True, help="Do not post approved drafts in this run.")
def run(config_path: Path, no_post: bool) -> None:
    """Run one social cycle over what the last sync stored."""
    with social_context(config_path) as ctx:
        report = ctx.ops.run(post=False if no_post else None)
    click.echo(f"seen {report.seen} posts; matched {report.matched or '{}'}; alerts fired "
               f"{len(report.alerts)}; deliveries {report.delivered} ok, "
               f"{report.delivery_failures} failed; cases {len(report.cases)}; drafts "
               f"{len(report.drafts)}; posted "
               f"{sum(1 for o in report.posted if o.status is DraftStatus.POSTED)}")
    for error in report.errors:
        click.echo(f"warning: {error}", err=True)


@social.command("alerts")
@_config_option
@click.option("--json", "as_json", is_flag=True)
def alerts(config_path: Path, as_json: bool) -> None:
    """Recent alerts and where they were delivered."""
    with social_context(config_path) as ctx:
        rows = ctx.ops.alerts()
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return
    table = Table("id", "rule", "severity", "fired", "summary", "deliveries")
    for row in rows:
        table.add_row(str(row["id"]), row["rule"], row["severity"], f"{row['fired_at']:%F %T}",
                      row["summary"], ", ".join(f"{k}: {v['status']}"
                                                for k, v in row["deliveries"].items()))
    _console().print(table)
