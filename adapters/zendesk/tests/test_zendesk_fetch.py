"""Incremental fetch against the sandbox: completeness, resume, odd tickets, auth, tenants."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from empathy_bridge.adapter import FetchBatch
from empathy_bridge.errors import AuthenticationError, FatalError
from empathy_bridge.schemas import AuthorRole, Visibility
from empathy_bridge.secrets import Secrets
from empathy_bridge.text import MAX_STORED_CHARS
from empathy_bridge_zendesk.adapter import ZendeskAdapter
from empathy_bridge_zendesk.config import ZendeskConfig
from empathy_bridge_zendesk.sandbox import ZendeskSandbox
from empathy_bridge_zendesk.seed import BOT_USER_ID


def _all(batches: list[FetchBatch]) -> dict[str, object]:
    return {i.native_id: i for b in batches for i in b.interactions}


def _live_comment_ids(sandbox: ZendeskSandbox) -> set[str]:
    return {
        str(c["id"])
        for tid, comments in sandbox.data.comments.items()
        if sandbox.data.tickets[tid]["status"] != "deleted"
        for c in comments
    }


def test_fetch_yields_every_comment_and_answered_rating(
    sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    batches = list(make_adapter(sandbox).fetch(None))
    got = _all(batches)
    comments = {k for k in got if not k.startswith("csat-")}
    assert comments == _live_comment_ids(sandbox)
    ratings = {
        f"csat-{r['id']}"
        for r in sandbox.data.ratings
        if sandbox.data.tickets[r["ticket_id"]]["status"] != "deleted"
    }
    assert {k for k in got if k.startswith("csat-")} == ratings
    assert all(b.cursor is not None for b in batches)


def test_small_pages_with_orphans_resume_from_every_cursor(
    start_sandbox: Callable[..., ZendeskSandbox], make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    sandbox = start_sandbox(records=150, seed=5)
    adapter = make_adapter(sandbox, per_page=20, satisfaction_ratings=False)
    batches = list(adapter.fetch(None))
    everything = set(_all(batches))
    assert everything == _live_comment_ids(sandbox)
    assert len(batches) > 5
    # Resuming from any committed cursor, together with what came before it, loses nothing.
    for n, batch in enumerate(batches[:-1]):
        before = {i.native_id for b in batches[: n + 1] for i in b.interactions}
        after = set(_all(list(adapter.fetch(batch.cursor))))
        assert everything - (before | after) == set(), f"resume after batch {n} lost records"


def test_fetch_from_final_cursor_sees_only_new_comment(
    sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    adapter = make_adapter(sandbox)
    final = list(adapter.fetch(None))[-1].cursor
    sandbox.add_comment(12, "Any news? I am still waiting and getting really annoyed.")
    new = [
        i
        for b in adapter.fetch(final)
        for i in b.interactions
        if not i.native_id.startswith("csat-")
    ]
    assert [(i.conversation_id, i.author_role) for i in new] == [("12", AuthorRole.CUSTOMER)]
    assert new[0].text.startswith("Any news?")


def test_odd_tickets_normalise_or_are_reported(
    sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    batches = list(make_adapter(sandbox).fetch(None))
    got = [i for b in batches for i in b.interactions]
    by_ticket: dict[str, list[object]] = {}
    for i in got:
        by_ticket.setdefault(i.conversation_id, []).append(i)
    assert not [f for b in batches for f in b.failures]
    # null priority
    assert all(i.native_priority is None for i in by_ticket["2"])  # type: ignore[attr-defined]
    # no requester at all: no customer party, and the thread is still read
    assert by_ticket["3"] and all(i.customer is None for i in by_ticket["3"])  # type: ignore[attr-defined]
    # requester deleted since: a party with an id but no name
    customer = by_ticket["5"][0].customer  # type: ignore[attr-defined]
    assert customer is not None and customer.id == "999999001" and customer.name is None
    # deleted ticket: no interactions, announced as deleted
    assert "7" not in by_ticket
    assert "7" in {c for b in batches for c in b.deleted_conversations}
    # huge HTML pasted into the body: plain, capped text
    description = by_ticket["9"][0]
    text = description.text  # type: ignore[attr-defined]
    assert len(sandbox.data.comments[9][0]["body"]) > MAX_STORED_CHARS
    assert "<td>" not in text and "track()" not in text and len(text) <= MAX_STORED_CHARS
    assert "ERROR sync worker" in text


def test_roles_visibility_and_parties(
    sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    got = [i for b in make_adapter(sandbox).fetch(None) for i in b.interactions]
    bots = [i for i in got if i.author_role is AuthorRole.BOT]
    assert bots and all(i.author and i.author.id == str(BOT_USER_ID) for i in bots)
    private = [i for i in got if i.visibility is Visibility.PRIVATE and i.kind != "survey"]
    assert private and all(i.author_role is AuthorRole.AGENT for i in private)
    descriptions = [i for i in got if i.kind == "ticket"]
    assert len(descriptions) == len({i.conversation_id for i in got if i.kind != "survey"})
    named = [
        i
        for i in got
        if i.author_role is AuthorRole.CUSTOMER
        and i.kind != "survey"
        and i.customer is not None
        and i.customer.name
    ]
    assert named and all(i.customer and i.customer.handle for i in named)
    surveys = [i for i in got if i.kind == "survey"]
    assert surveys and {i.channel for i in surveys} == {"survey"}
    assert {i.native_fields["score"] for i in surveys} <= {"good", "bad"}


def test_calls_per_page_are_few(
    sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    adapter = make_adapter(sandbox)
    list(adapter.fetch(None))
    calls = sandbox.stats()["requests"]
    assert calls["GET /api/v2/incremental/tickets/cursor.json"] == 1
    assert "GET /api/v2/tickets/<int:ticket_id>/comments.json" not in calls
    assert sum(calls.values()) <= 8


def test_unreadable_cursor_is_a_clear_fatal_error(
    sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    with pytest.raises(FatalError, match="cursor is unreadable"):
        list(make_adapter(sandbox).fetch("not-json"))


def test_missing_and_wrong_credentials(sandbox: ZendeskSandbox) -> None:
    config = ZendeskConfig.model_validate(sandbox.demo_source_config())
    no_secret = ZendeskAdapter("zendesk", config, Secrets(environ={}))
    with pytest.raises(AuthenticationError, match="ZENDESK_API_TOKEN"):
        list(no_secret.fetch(None))
    wrong = ZendeskAdapter("zendesk", config, Secrets(environ={"ZENDESK_API_TOKEN": "nope"}))
    with pytest.raises(AuthenticationError) as info:
        list(wrong.fetch(None))
    assert "nope" not in str(info.value)


def test_two_tenants_in_one_process_hit_their_own_sandbox(
    start_sandbox: Callable[..., ZendeskSandbox], make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    first, second = start_sandbox(records=30, seed=1), start_sandbox(records=40, seed=2)
    a, b = make_adapter(first), make_adapter(second)
    assert a.cfg.subdomain == b.cfg.subdomain  # same vendor host, different targets
    got_a = _all(list(a.fetch(None)))
    got_b = _all(list(b.fetch(None)))
    assert {k for k in got_a if not k.startswith("csat")} == _live_comment_ids(first)
    assert {k for k in got_b if not k.startswith("csat")} == _live_comment_ids(second)
    assert first.stats()["total_requests"] == a.api_calls.total()
    assert second.stats()["total_requests"] == b.api_calls.total()


def test_orphans_over_the_memory_limit_are_spilled_and_each_ticket_comes_once(
    start_sandbox: Callable[..., ZendeskSandbox],
    make_adapter: Callable[..., ZendeskAdapter],
) -> None:
    sandbox = start_sandbox(records=150, seed=5)
    adapter = make_adapter(sandbox, per_page=20, orphan_buffer_max=0)
    batches = list(adapter.fetch(None))
    got = _all(batches)
    assert {k for k in got if not k.startswith("csat-")} == _live_comment_ids(sandbox)
    # Every waiting comment went through the scratch file, yet no ticket was looked up early:
    # a ticket (comments and rating) arrives in one batch, so it is decided and written once.
    assert "GET /api/v2/tickets/show_many.json" not in sandbox.stats()["requests"]
    batches_of: dict[str, set[int]] = {}
    for n, batch in enumerate(batches):
        for interaction in batch.interactions:
            batches_of.setdefault(interaction.conversation_id, set()).add(n)
    assert {c: b for c, b in batches_of.items() if len(b) > 1} == {}
    # Resuming from a cursor taken while comments were spilled loses nothing.
    middle = len(batches) // 2
    before = {i.native_id for b in batches[: middle + 1] for i in b.interactions}
    after = set(_all(list(adapter.fetch(batches[middle].cursor))))
    assert set(got) - (before | after) == set()


def test_ticket_deleted_after_a_sync_is_announced(
    sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    adapter = make_adapter(sandbox)
    final = list(adapter.fetch(None))[-1].cursor
    sandbox.delete_ticket(30)
    batches = list(adapter.fetch(final))
    assert [c for b in batches for c in b.deleted_conversations] == ["30"]
    assert not [i for b in batches for i in b.interactions if i.conversation_id == "30"]


def test_last_minute_is_left_out_like_zendesk(
    start_sandbox: Callable[..., ZendeskSandbox],
    make_adapter: Callable[..., ZendeskAdapter],
) -> None:
    sandbox = start_sandbox(export_delay_seconds=3600)  # seeded data is older than that
    adapter = make_adapter(sandbox)
    batches = list(adapter.fetch(None))
    assert {k for k in _all(batches) if not k.startswith("csat")} == _live_comment_ids(sandbox)
    sandbox.add_comment(12, "Hello? Anyone there?")
    again = [
        i
        for b in adapter.fetch(batches[-1].cursor)
        for i in b.interactions
        if not i.native_id.startswith("csat")
    ]
    assert again == []  # too recent: the next cycles pick it up once it is an hour old


def test_a_page_leaves_in_slices_of_whole_tickets(
    start_sandbox: Callable[..., ZendeskSandbox],
    make_adapter: Callable[..., ZendeskAdapter],
) -> None:
    sandbox = start_sandbox(records=120, seed=4)
    adapter = make_adapter(sandbox, per_page=40, tickets_per_batch=7)
    batches = list(adapter.fetch(None))
    got = _all(batches)
    assert {k for k in got if not k.startswith("csat-")} == _live_comment_ids(sandbox)
    assert max(len({i.conversation_id for i in b.interactions}) for b in batches) <= 7
    # Only a page's last slice commits the cursor; every ticket comes in one batch.
    assert sum(b.cursor is None for b in batches) >= 3
    assert batches[-1].cursor is not None
    batches_of: dict[str, set[int]] = {}
    for n, batch in enumerate(batches):
        for interaction in batch.interactions:
            batches_of.setdefault(interaction.conversation_id, set()).add(n)
    assert {c: b for c, b in batches_of.items() if len(b) > 1} == {}


def test_a_comment_body_that_is_not_text_dead_letters_its_ticket_only(
    sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]
) -> None:
    ticket_id = next(tid for tid, comments in sandbox.data.comments.items()
                     if comments and sandbox.data.tickets[tid]["status"] != "deleted")
    sandbox.data.comments[ticket_id][0]["body"] = {"text": "not a string"}
    batches = list(make_adapter(sandbox).fetch(None))
    failures = [f for b in batches for f in b.failures]
    assert [f.native_id for f in failures] == [str(ticket_id)]
    assert "TypeError" in failures[0].error
    got = {i.conversation_id for b in batches for i in b.interactions}
    assert str(ticket_id) not in got and len(got) > 50
