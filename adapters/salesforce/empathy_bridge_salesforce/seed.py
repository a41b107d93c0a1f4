"""Seeded, realistic sandbox data: cases with emails and comments across six emotional states.

Deterministic for a given seed. The data deliberately includes what breaks naive connectors:
null descriptions, HTML-only emails, 32 KB email bodies, comments written by the customer
through a portal user, cases sharing one SystemModstamp (cursor ties) and deleted cases.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from empathy_bridge_salesforce.org import Org

__all__ = ["seed_org"]

_PRODUCTS = ("Pro plan", "mobile app", "invoice export", "smart thermostat", "router X2",
             "payroll module", "annual subscription", "API key", "shipment", "refund")

_CUSTOMER: dict[str, tuple[str, ...]] = {
    "frustration": (
        "This is the third time I'm writing about my {p} and it's STILL not fixed!!!",
        "I've been waiting two weeks for the {p}. This is ridiculous, nobody answers.",
        "Your {p} keeps failing and I have wasted my whole afternoon on it. Fix it now.",
    ),
    "confusion": (
        "I don't understand how the {p} works, where do I find the settings?",
        "Sorry, I'm confused: the email says my {p} is active but the page says expired?",
        "Which of these options should I pick for the {p}? The guide isn't clear to me.",
    ),
    "anxiety": (
        "I'm really worried: the {p} charged me twice and my rent is due Friday.",
        "Please help urgently, I'm scared I'll lose all my data from the {p}.",
        "I'm nervous about the {p} deadline tomorrow, will it be sorted in time?",
    ),
    "disappointment": (
        "Honestly disappointed with the {p}, I expected much better after the upgrade.",
        "I was let down by the {p}; it doesn't do what the sales page promised.",
        "Sad to say the {p} has been a disappointment, I thought it would save time.",
    ),
    "satisfaction": (
        "Thank you so much, the {p} works perfectly now! Great support.",
        "Brilliant, the fix for the {p} did the trick. I really appreciate your help.",
        "Everything is sorted with the {p}, thanks a lot for the quick answer!",
    ),
    "neutral": (
        "Could you tell me when the {p} renews?",
        "Please update the billing address on my {p} to 12 High Street.",
        "What are the opening hours of the support line for the {p}?",
    ),
}

_AGENT = (
    "Thanks for reaching out about the {p}. I'm looking into this now.",
    "I'm sorry for the trouble with the {p}; I've escalated it to the specialist team.",
    "Here is the guide that walks through the {p} step by step. Let me know if it helps.",
    "I've applied a credit to your account for the {p} issue.",
)

_FOLLOW_UP: dict[str, tuple[str, ...]] = {
    "frustration": ("Still nothing. I want to speak to a manager about the {p}.",),
    "confusion": ("I tried that but I still can't find it for the {p}.",),
    "anxiety": ("Any news? I'm really stressed about the {p}.",),
    "disappointment": ("That answer doesn't really help with the {p}, unfortunately.",),
    "satisfaction": ("Thanks again, all good with the {p}.",),
    "neutral": ("Ok, noted. Thanks for the information on the {p}.",),
}

_STATES = tuple(_CUSTOMER)
_ORIGINS = ("Email", "Web", "Phone")
_NAMES = ("Ana Silva", "Ben Carter", "Chloé Martin", "Dev Patel", "Emma Novak", "Farid Haddad",
          "Grace Kim", "Hugo Weber", "Ines Garcia", "Jon Berg", "Kemi Adeyemi", "Lars Olsen")


def _long_body(rng: random.Random, text: str, size: int = 32 * 1024) -> str:
    # A long email: the message, then a pasted log as people do, up to ``size`` characters.
    lines = [text, "", "Here is the full log from the app:"]
    total = sum(len(line) + 1 for line in lines)
    n = 0
    while total < size:
        day = rng.randint(1, 27)
        line = f"2026-11-{day:02d} ERROR sync worker {n}: timeout after 30s, retrying"
        lines.append(line)
        total += len(line) + 1
        n += 1
    return "\n".join(lines)[:size]


def seed_org(org: Org, *, records: int, seed: int, now: datetime,
             deleted_share: float = 0.02) -> None:
    """Fill ``org`` with ``records`` cases (plus deleted ones) dated before ``now``."""
    rng = random.Random(seed)
    agents = [org.insert("User", {"Name": f"Agent {i}", "Email": f"agent{i}@support.example",
                                  "ContactId": None}) for i in range(1, 9)]
    contacts: list[tuple[str, str, str, str]] = []  # (contact id, name, email, portal user id)
    for i in range(max(1, records // 3)):
        name = f"{rng.choice(_NAMES)} {i}"
        email = f"customer{i}@mail.example"
        cid = org.insert("Contact", {"Name": name, "Email": email})
        portal = org.insert("User", {"Name": name, "Email": email, "ContactId": cid})
        contacts.append((cid, name, email, portal))
    start = now - timedelta(days=12)
    # Conversations run for up to ~6 hours after their case opens; all of it in the past.
    span = (now - timedelta(hours=8) - start).total_seconds()
    deleted_count = int(records * deleted_share) if records >= 50 else 0
    for n in range(records + deleted_count):
        state = _STATES[n % len(_STATES)]
        product = rng.choice(_PRODUCTS)
        contact_id, name, email, portal_user = rng.choice(contacts)
        # Three cases share each second, so cursor ties at page boundaries are common.
        created = start + timedelta(seconds=int(span * (n // 3) / max(1, (records + 2) // 3)))
        created = created.replace(microsecond=0)
        opening = rng.choice(_CUSTOMER[state]).format(p=product)
        description: str | None = opening
        if n % 17 == 5:
            description = None  # null description: the case arrived by email only
        origin = _ORIGINS[n % len(_ORIGINS)]
        case_id = org.insert("Case", {
            "Subject": f"{product.capitalize()}: {opening[:60]}",
            "Description": description,
            "Status": "Closed" if state == "satisfaction" else rng.choice(("New", "Working")),
            "Priority": rng.choice(("Low", "Medium", "Medium", "High")),
            "Origin": origin, "ContactId": contact_id, "AccountId": None,
            "OwnerId": rng.choice(agents), "SuppliedEmail": email, "SuppliedName": name,
            "CreatedDate": created, "LastModifiedDate": created, "SystemModstamp": created,
        })
        at = created
        if origin == "Email" or description is None:
            at += timedelta(seconds=1)
            _email(org, rng, case_id, opening, True, email, name, at, n)
        for turn in range(rng.randint(0, 2)):
            at += timedelta(minutes=rng.randint(5, 90))
            agent = rng.choice(agents)
            reply = rng.choice(_AGENT).format(p=product)
            if rng.random() < 0.5:
                _email(org, rng, case_id, reply, False, email, name, at, n + turn + 1)
            else:
                org.insert("CaseComment", {"ParentId": case_id, "CommentBody": reply,
                                           "IsPublished": rng.random() < 0.7,
                                           "CreatedById": agent, "CreatedDate": at,
                                           "SystemModstamp": at})
            at += timedelta(minutes=rng.randint(5, 90))
            follow = rng.choice(_FOLLOW_UP[state]).format(p=product)
            if rng.random() < 0.5:
                _email(org, rng, case_id, follow, True, email, name, at, n + turn + 7)
            else:  # the customer answered in the portal: a comment created by their portal user
                org.insert("CaseComment", {"ParentId": case_id, "CommentBody": follow,
                                           "IsPublished": True, "CreatedById": portal_user,
                                           "CreatedDate": at, "SystemModstamp": at})
        last = min(at, now - timedelta(minutes=2))
        if last > created:
            org.touch(case_id, last.replace(microsecond=0))
        if n >= records:
            org.delete_case(case_id, now - timedelta(days=rng.randint(0, 3), minutes=10))


def _email(org: Org, rng: random.Random, case_id: str, text: str, incoming: bool,
           customer_email: str, customer_name: str, at: datetime, n: int) -> None:
    text_body: str | None = text
    html_body: str | None = f"<html><body><p>{text}</p></body></html>"
    if n % 11 == 3:
        text_body = None  # HTML-only email
        html_body = (f"<html><head><style>p {{color: #333}}</style></head><body><div><p>{text}"
                     "</p><p>Kind regards,<br>Sent from my phone</p></div></body></html>")
    elif n % 97 == 13:
        text_body = _long_body(rng, text)
    org.insert("EmailMessage", {
        "ParentId": case_id, "TextBody": text_body, "HtmlBody": html_body, "Incoming": incoming,
        "FromAddress": customer_email if incoming else "support@acme.example",
        "FromName": customer_name if incoming else "Acme Support",
        "ToAddress": "support@acme.example" if incoming else customer_email,
        "Subject": "Re: your case", "Status": "0" if incoming else "3", "MessageDate": at,
        "CreatedDate": at, "SystemModstamp": at,
    })
