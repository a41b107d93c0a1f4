"""Seeded, realistic Zendesk account data for the sandbox.

Conversations cover the six emotional states with customer, agent and bot turns, private
notes, escalations, reopenings, CSAT answers, several agents and groups, and the odd records a
real account has: null priority, missing or deleted requester, a deleted ticket, a huge HTML
comment, and automation runs that stamp many tickets with the same second.

Everything derives from one ``random.Random(seed)``: the same seed gives the same account
(timestamps are anchored to the current day, so a day later they shift together).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from empathy_bridge.gc_pause import paused_gc

__all__ = ["AGENTS", "BOT_USER_ID", "GROUPS", "SeedData", "build", "iso"]

BOT_USER_ID = 900
AGENTS = [
    (1001, "Maya Chen"), (1002, "Jonas Weber"), (1003, "Priya Nair"), (1004, "Tom Okafor"),
    (1005, "Lucia Romero"), (1006, "Sam Whitaker"), (1007, "Aiko Tanaka"), (1008, "Omar Haddad"),
]
GROUPS = [(360001, "Billing"), (360002, "Technical support"), (360003, "Accounts"),
          (360004, "Escalations")]
DELETED_USER_ID = 999_999_001

_FIRST = ["Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
          "Harper", "Elena", "Marco", "Fatima", "Kenji", "Sofia", "Liam", "Noah", "Grace",
          "Ines", "Pavel", "Amara", "Diego", "Hannah", "Yusuf", "Mei", "Oliver", "Chloe"]
_LAST = ["Smith", "Garcia", "Muller", "Rossi", "Kowalski", "Nguyen", "Okoye", "Silva", "Brown",
         "Dubois", "Jensen", "Kaur", "Lopez", "Novak", "Ivanova", "Murphy", "Sato", "Ali"]
_ISSUES = ["the app crashing on login", "a double charge on my card", "my order not arriving",
           "the export feature timing out", "being locked out of my account",
           "the sync with my calendar failing", "a refund that never came through",
           "the wrong item being delivered", "two-factor codes not arriving",
           "the dashboard showing no data", "my subscription renewing after I cancelled",
           "the mobile app draining my battery"]
_PRODUCTS = ["Pro plan", "smart thermostat", "annual subscription", "wireless headphones",
             "team workspace", "standing desk", "photo printing order", "premium support add-on"]
_TASKS = ["add a second user to my plan", "change my billing date",
          "connect the integration with Slack", "download last year's invoices",
          "move my data to the new workspace", "set up single sign-on"]
_WAITS = ["two weeks", "ten days", "over a month", "three weeks", "since Monday", "five days"]
_DEADLINES = ["a client presentation tomorrow morning", "payroll due on Friday",
              "my rent due in two days", "a launch this afternoon", "a flight in six hours"]

_OPENINGS: dict[str, list[str]] = {
    "frustration": [
        "This is the third time I'm contacting you about {issue}. Nobody has fixed it and I'm "
        "fed up with repeating myself. Order {order}.",
        "I've been waiting {wait} for a fix for {issue}. This is unacceptable. Every time I "
        "call I get a different answer.",
        "Seriously? {issue} AGAIN. I pay for the {product} and it simply does not work. "
        "Fix it or refund me.",
        "Still no response about {issue}. I've sent four emails. Why is it so hard to get a "
        "straight answer from you people?",
    ],
    "confusion": [
        "Hi, I'm not sure how to {task}. The help article says one thing but the settings page "
        "shows something else. What am I supposed to do?",
        "My invoice shows ${amount} but I thought the {product} was ${amount2}. I don't "
        "understand the difference, can someone explain?",
        "I'm a bit lost. I tried to {task} and now I see an error code E{code}. What does that "
        "mean?",
        "Quick question: does the {product} include the export feature, or is that separate? "
        "The pricing page is unclear to me.",
    ],
    "anxiety": [
        "I'm really worried. {issue_cap} and I have {deadline}. Is there anything you can do "
        "quickly? Please.",
        "There's a charge of ${amount} on my card that I don't recognise. Has my account been "
        "hacked? I'm scared my details were stolen.",
        "Urgent: I can't access my files and I have {deadline}. I'm panicking a little, what "
        "should I do?",
        "I got an email saying my account will be suspended. I'm nervous I'll lose all my data. "
        "What's happening?",
    ],
    "disappointment": [
        "I expected better. I've been a customer for {years} years and the {product} arrived "
        "damaged. Honestly a bit let down.",
        "I was so excited about the {product}, but {issue} has taken the shine off. Not what I "
        "hoped for.",
        "Sadly the new update removed the feature I used most. I'm disappointed, it was the "
        "reason I chose you.",
        "The {product} works, I suppose, but it's nowhere near what the ad promised. A shame.",
    ],
    "satisfaction": [
        "Just wanted to say thanks, {agent} sorted out {issue} really quickly. Great service!",
        "The new {product} is fantastic, works perfectly. Thank you all so much!",
        "Thanks for the fast refund, really appreciated. You've kept a happy customer.",
        "Love the latest update, the export is so much faster now. Keep it up!",
    ],
    "neutral": [
        "Please update the billing address on account {acct} to {street}.",
        "Could you send me a copy of invoice INV-{invoice}? Thanks.",
        "I'd like to change the email on my account to {email}.",
        "What are your support hours over the holidays?",
    ],
}
_FOLLOWUPS: dict[str, list[str]] = {
    "frustration": [
        "That didn't work. I did exactly what you said and {issue} is still happening.",
        "I've now wasted {wait} on this. I want this fixed today.",
    ],
    "confusion": [
        "Sorry, I still don't get it. Where exactly is that setting?",
        "Okay, but which plan do I need then? I'm confused by the options.",
    ],
    "anxiety": [
        "Any update? I'm really worried this won't be ready in time.",
        "I'm still nervous about that charge. Is my card safe?",
    ],
    "disappointment": [
        "Okay. I'll wait, but I have to say this experience has been underwhelming.",
        "I understand, it's just a pity. I really liked the old version.",
    ],
    "satisfaction": ["Perfect, that fixed it. Thanks a lot!", "Brilliant, all working now."],
    "neutral": ["Thanks, noted.", "Okay, I'll check and get back to you."],
}
_ESCALATIONS = [
    "It's been {wait} and I STILL have no answer. If this isn't fixed today I'm cancelling my "
    "subscription. I want to speak to a manager.",
    "This is ridiculous. I'm going to post about this everywhere unless someone senior calls "
    "me today.",
    "I'm done. Cancel my account and refund everything. Worst support I've ever had.",
]
_REOPENS = [
    "This is happening again. {issue_cap} came back this morning.",
    "Sorry to reopen this, but the fix didn't hold. Same problem as before.",
]
_AGENT_REPLIES: dict[str, list[str]] = {
    "frustration": [
        "Hi {name}, I'm really sorry you've had to chase us about this. I've taken ownership "
        "and escalated it to our engineers; I'll update you by end of day.",
        "{name}, I completely understand your frustration and I apologise. I've applied a "
        "credit to your account while we fix {issue}.",
    ],
    "confusion": [
        "Hi {name}, good question! Go to Settings > Billing > Plan and choose 'Change'. I've "
        "attached a screenshot to make it easier.",
        "No worries {name}, the difference is the annual discount. Happy to walk you through "
        "it on a call if that helps.",
    ],
    "anxiety": [
        "Hi {name}, I understand this is worrying. Your data is safe and I've prioritised your "
        "ticket so it's sorted before {deadline_short}.",
        "{name}, don't worry: I've blocked that card and started a refund. You'll see it in "
        "3-5 days.",
    ],
    "disappointment": [
        "I'm sorry the {product} didn't live up to your expectations, {name}. I've arranged a "
        "free replacement.",
        "Thank you for the honest feedback, {name}. I've shared it with the product team.",
    ],
    "satisfaction": [
        "Thanks so much {name}, that's lovely to hear! I'll pass it on to the team.",
        "Glad it's all working, {name}! Have a great day.",
    ],
    "neutral": [
        "Hi {name}, done. The change is live on your account now.",
        "Hi {name}, I've sent the document to your email address.",
    ],
}
_BOT_REPLIES = [
    "Hi! I'm the virtual assistant. These articles might help: 'Resetting your password', "
    "'Managing billing'. Did that answer your question?",
    "Thanks for reaching out! While you wait for an agent, try signing out and back in. "
    "Was this helpful?",
    "I can help with that. Have you tried the troubleshooting guide at help.example.com?",
]
_NOTES = [
    "Internal: customer is upset about {issue}, escalating to tier 2.",
    "Checked logs, looks like the known bug ENG-{code}. Linked the ticket.",
    "Refund approved by team lead, processing now.",
]


class _Values(dict[str, str]):
    """Template values drawn on demand, so a template only pays for the blanks it has."""

    def __init__(self, rng: random.Random, extra: dict[str, str]) -> None:
        super().__init__(extra)
        self.rng = rng

    def __missing__(self, key: str) -> str:
        rng = self.rng
        value: str
        if key in ("issue", "issue_cap"):
            issue = rng.choice(_ISSUES)
            self["issue"], self["issue_cap"] = issue, issue[0].upper() + issue[1:]
            return self[key]
        if key == "product":
            value = rng.choice(_PRODUCTS)
        elif key == "task":
            value = rng.choice(_TASKS)
        elif key == "wait":
            value = rng.choice(_WAITS)
        elif key == "deadline":
            value = rng.choice(_DEADLINES)
        elif key == "deadline_short":
            value = "your deadline"
        elif key == "order":
            value = f"#{rng.randint(100000, 999999)}"
        elif key == "amount":
            value = f"{rng.randint(9, 499)}.{rng.randint(0, 99):02d}"
        elif key == "amount2":
            value = f"{rng.randint(9, 299)}.00"
        elif key in ("code", "invoice"):
            value = str(rng.randint(100, 99999))
        elif key == "years":
            value = str(rng.randint(2, 12))
        elif key == "agent":
            value = rng.choice(AGENTS)[1].split()[0]
        elif key == "acct":
            value = f"AC-{rng.randint(10000, 99999)}"
        elif key == "street":
            value = f"{rng.randint(1, 250)} {rng.choice(_LAST)} Street"
        elif key == "email":
            value = f"{rng.choice(_FIRST).lower()}@example.org"
        else:
            value = "there"
        self[key] = value
        return value


def iso(ts: int) -> str:
    """Zendesk's timestamp format (UTC, second precision, ``Z``)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SeedData:
    """The generated account: plain JSON-ready dicts, mutated in place by the sandbox."""

    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: Audit events ``(timestamp, ticket_id, event_type, children)`` in time order.
    events: list[tuple[int, int, str, list[dict[str, Any]], int | None]] = field(
        default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    next_comment_id: int = 1
    anchor: int = 0


#: Shared by all seeded comments (see ``_Builder.comment``); never mutated.
_NO_ATTACHMENTS: list[Any] = []
_SEEDED_METADATA: dict[str, Any] = {"system": {}, "custom": {}}


class _Builder:
    def __init__(self, seed: int, records: int, anchor: int) -> None:
        self.rng = random.Random(seed)
        self.records = records
        self.anchor = anchor
        self.data = SeedData(anchor=anchor)
        # Comments are numbered after a global time sort, as Zendesk's ids grow with time.
        self.pending: list[tuple[int, int, int, dict[str, Any], str]] = []
        self.vias: dict[str, dict[str, Any]] = {}

    def fill(self, text: str, **extra: str) -> str:
        if "{" not in text:
            return text
        return text.format_map(_Values(self.rng, extra))

    def customers(self) -> list[int]:
        rng = self.rng
        users = self.data.users
        stamp = iso(self.anchor - 400 * 86400)
        users[BOT_USER_ID] = {"id": BOT_USER_ID, "name": "Answer Bot", "email": None,
                              "role": "agent", "organization_id": None, "created_at": stamp}
        for uid, name in AGENTS:
            users[uid] = {"id": uid, "name": name, "role": "agent", "organization_id": None,
                          "email": name.lower().replace(" ", ".") + "@support.example.com",
                          "created_at": stamp}
        count = max(3, int(self.records * 0.7))
        ids = []
        for n in range(count):
            uid = 100_000 + n
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            users[uid] = {"id": uid, "name": f"{first} {last}", "role": "end-user",
                          "email": f"{first.lower()}.{last.lower()}{n}@example.com",
                          "organization_id": 500 + n % 40 if rng.random() < 0.3 else None,
                          "created_at": stamp}
            ids.append(uid)
        return ids

    def comment(self, ticket_id: int, ts: int, author: int, body: str, *, public: bool = True,
                channel: str = "web", html: str | None = None, kind: str = "Update") -> None:
        via = self.vias.get(channel)
        if via is None:
            via = self.vias[channel] = {"channel": channel,
                                        "source": {"from": {}, "to": {}, "rel": None}}
        # ``via``, ``metadata`` and ``attachments`` are shared by every seeded comment of the
        # same shape (nothing mutates them; they are only serialised): a million-ticket account
        # would otherwise hold ~6 million copies of each, ~1 KB per comment.
        data = {"type": "Comment", "author_id": author, "body": body,
                "html_body": html if html is not None else f"<div><p>{body}</p></div>",
                "plain_body": body, "public": public, "attachments": _NO_ATTACHMENTS,
                "via": via, "metadata": _SEEDED_METADATA}
        self.pending.append((ts, ticket_id, len(self.pending), data, kind))

    def ticket(self, tid: int, customers: list[int]) -> None:
        rng = self.rng
        state = rng.choices(list(_OPENINGS), weights=[24, 16, 14, 14, 12, 20])[0]
        requester: int | None = rng.choice(customers)
        channel = rng.choices(["email", "web", "web_widget", "api", "mobile"],
                              weights=[40, 25, 20, 5, 10])[0]
        created = self.anchor - rng.randint(3600, 90 * 86400)
        group, _ = rng.choice(GROUPS[:3])
        assignee, agent_name = rng.choice(AGENTS)
        priority = rng.choices([None, "low", "normal", "high", "urgent"],
                               weights=[25, 15, 40, 15, 5])[0]
        if tid == 2:
            priority = None
        if tid == 3:
            requester = None  # a ticket whose requester is missing altogether
        if tid == 5:
            requester = DELETED_USER_ID  # requester deleted since
        name = "there"
        if requester is not None and requester in self.data.users:
            name = str(self.data.users[requester]["name"]).split()[0]
        author = requester if requester is not None else assignee
        opening = self.fill(rng.choice(_OPENINGS[state]), agent=agent_name.split()[0])
        html = None
        body_text = opening
        if tid == 9:
            rows = "".join(f"<tr><td>{i}</td><td>ERROR sync worker {i % 17} timed out</td></tr>"
                           for i in range(6000))
            # A mail integration that pastes raw HTML into the plain body, with a 300 KB log.
            html = (f"<div><p>{opening}</p><p>Full log below:</p><table>{rows}</table>"
                    "<script>track()</script></div>")
            body_text = html
        ts = created
        first = len(self.pending)
        self.comment(tid, ts, author, body_text, channel=channel, html=html, kind="Create")
        status = rng.choices(["new", "open", "pending", "hold", "solved", "closed"],
                             weights=[8, 30, 15, 5, 27, 15])[0]
        tags = [state if state != "neutral" else "general", channel]
        turns = 0 if status == "new" else rng.randint(1, 5)
        if channel == "web_widget" and rng.random() < 0.7:
            ts += rng.randint(5, 60)
            self.comment(tid, ts, BOT_USER_ID, rng.choice(_BOT_REPLIES), channel="answer_bot")
            tags.append("bot_answered")
        escalated = state in ("frustration", "anxiety") and rng.random() < 0.35
        for turn in range(turns):
            ts += rng.randint(300, 36 * 3600)
            reply = self.fill(rng.choice(_AGENT_REPLIES[state]), name=name)
            self.comment(tid, ts, assignee, reply, channel="web")
            if rng.random() < 0.15:
                ts += rng.randint(60, 3600)
                self.comment(tid, ts, assignee, self.fill(rng.choice(_NOTES)), public=False)
            if turn < turns - 1 and requester is not None:
                ts += rng.randint(600, 48 * 3600)
                text = self.fill(rng.choice(_FOLLOWUPS[state]))
                if escalated and turn == 0:
                    text = self.fill(rng.choice(_ESCALATIONS))
                    group = GROUPS[3][0]
                    priority = "urgent" if priority == "urgent" else "high"
                    tags.append("escalated")
                self.comment(tid, ts, requester, text, channel=channel)
        if status in ("solved", "closed") and requester is not None and rng.random() < 0.12:
            ts += rng.randint(86400, 5 * 86400)
            self.comment(tid, ts, requester, self.fill(rng.choice(_REOPENS)), channel=channel)
            status = "open"
            tags.append("reopened")
        if ts > self.anchor:
            # The conversation ran past "now": move all of it back so it ended in the past.
            shift = ts - self.anchor + rng.randint(0, 600)
            created -= shift
            ts -= shift
            self.pending[first:] = [(t - shift, tid_, seq, data, kind)
                                    for t, tid_, seq, data, kind in self.pending[first:]]
        updated = ts
        if status == "closed":
            # An automation closes solved tickets four days on, on the hour: every ticket one
            # run closes shares that second. A ticket whose run is still to come is solved
            # (stamping those "now" put 1 % of the account in one second: 17,800 audits at a
            # million tickets, all of which Zendesk's time-based export serves as one page).
            closing = (ts // 3600 + 1) * 3600 + 4 * 86400
            if closing <= self.anchor:
                updated = closing
            else:
                status = "solved"
        subject = opening.split(". ")[0][:80]
        self.data.tickets[tid] = {
            "id": tid, "external_id": None, "type": rng.choice(["question", "incident",
                                                                "problem", "task", None]),
            "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(created), "updated_at": iso(updated),
            "generated_timestamp": updated, "subject": subject, "raw_subject": subject,
            "description": opening, "priority": priority, "status": "deleted" if tid == 7
            else status, "requester_id": requester, "submitter_id": author,
            "assignee_id": assignee, "organization_id": None, "group_id": group,
            "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
            "has_incidents": False, "is_public": True, "tags": sorted(set(tags)),
            "custom_fields": [], "satisfaction_rating": None, "brand_id": 1,
            "allow_channelback": False, "allow_attachments": True,
        }
        if status in ("solved", "closed") and requester is not None and rng.random() < 0.45:
            negative = state in ("frustration", "disappointment")
            score = "bad" if rng.random() < (0.6 if negative else 0.12) else "good"
            comment = rng.choice(
                ["Took far too long.", "Nobody listened to me.", "Problem still not fixed."]
                if score == "bad" else
                ["Quick and friendly, thanks!", "Great help from the agent.", ""]
            )
            rated = ts + rng.randint(600, 86400)
            # Not stamped "now" when later: that too would pile a share of the account into
            # one second. A survey answered after "now" is simply not answered yet.
            if rated <= self.anchor:
                self.rate(tid, rated, score, comment, requester, assignee, group)
        if updated != ts:
            self.data.events.append((updated, tid, "Update",
                                     [{"event_type": "Change", "field_name": "status",
                                       "value": "closed", "previous_value": "solved"}], None))

    def rate(self, tid: int, rated: int, score: str, comment: str, requester: int,
             assignee: int, group: int) -> None:
        """Record the requester's satisfaction rating of ticket ``tid``, answered at ``rated``."""
        rating = {"id": 700_000 + tid, "ticket_id": tid, "requester_id": requester,
                  "assignee_id": assignee, "group_id": group, "score": score,
                  "comment": comment or None, "reason": None,
                  "created_at": iso(rated), "updated_at": iso(rated)}
        self.data.ratings.append(rating)
        ticket = self.data.tickets[tid]
        ticket["satisfaction_rating"] = {"id": rating["id"], "score": score,
                                         "comment": comment or None}
        if rated > ticket["generated_timestamp"]:
            # Rating a ticket is an update of it: it moves in the export like any other.
            ticket["updated_at"], ticket["generated_timestamp"] = iso(rated), rated
            self.data.events.append((rated, tid, "Update", [
                {"event_type": "Change", "field_name": "satisfaction_score",
                 "value": score, "previous_value": "offered"}], requester))

    def finish(self) -> SeedData:
        data = self.data
        self.pending.sort(key=lambda item: (item[0], item[1], item[2]))
        for ts, tid, _, comment, kind in self.pending:
            comment["id"] = data.next_comment_id
            comment["created_at"] = iso(ts)
            data.next_comment_id += 1
            data.comments.setdefault(tid, []).append(comment)
            author = comment["author_id"]
            data.events.append((ts, tid, kind, [comment], author))
        data.events.sort(key=lambda e: (e[0], e[1]))
        data.ratings.sort(key=lambda r: (r["updated_at"], r["id"]))
        return data


def build(seed: int, records: int, anchor: int | None = None) -> SeedData:
    """Generate an account with ``records`` tickets (ids ``1..records``)."""
    if anchor is None:
        # Anchored to the start of the current UTC day so data sits in the recent past.
        anchor = int(time.time()) // 86400 * 86400 - 3600
    builder = _Builder(seed, records, anchor)
    # Hundreds of thousands of small, long-lived dicts: cyclic GC passes would only cost time.
    with paused_gc():
        customers = builder.customers()
        for tid in range(1, records + 1):
            builder.ticket(tid, customers)
        return builder.finish()
