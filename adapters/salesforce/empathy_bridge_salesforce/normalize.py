"""Salesforce records to canonical Interactions: a Case, its EmailMessages and CaseComments.

- The Case ``Description`` is the opening customer message (skipped when null: the case then
  arrived by email and the email carries the text).
- ``EmailMessage.Incoming`` sets the author role: incoming mail is the customer's, outgoing the
  agent's. HTML-only emails are reduced to their visible text.
- A ``CaseComment`` is the customer's when its creator is a portal/community user linked to a
  contact (``CreatedBy.ContactId`` set), otherwise an agent's; ``IsPublished`` sets visibility.

Only message content goes into ``text``: the fields we write back never do, so a case that
changed only because of our write-back normalises to identical Interactions (no sync loop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from empathy_bridge.schemas import AuthorRole, Interaction, Party, Visibility
from empathy_bridge.text import clean_text
from empathy_bridge_salesforce.soql import parse_datetime

__all__ = ["CASE_FIELDS", "COMMENT_FIELDS", "EMAIL_FIELDS", "case_interactions", "modstamp"]

CASE_FIELDS = ("Id", "CaseNumber", "Subject", "Description", "Status", "Priority", "Origin",
               "ContactId", "OwnerId", "SuppliedEmail", "SuppliedName", "CreatedDate",
               "SystemModstamp")
EMAIL_FIELDS = ("Id", "ParentId", "TextBody", "HtmlBody", "Incoming", "FromAddress", "FromName",
                "MessageDate", "CreatedDate")
COMMENT_FIELDS = ("Id", "ParentId", "CommentBody", "IsPublished", "CreatedById",
                  "CreatedBy.ContactId", "CreatedDate")

_CHANNELS = {"email": "email", "web": "web", "phone": "voice", "chat": "chat", "social": "social"}


def modstamp(case: Mapping[str, Any]) -> datetime:
    """A case's SystemModstamp as an aware datetime."""
    return parse_datetime(str(case["SystemModstamp"]))


def _when(value: Any, fallback: Any = None) -> datetime:
    text = value if value else fallback
    if not text:
        raise ValueError("record has no timestamp")
    return parse_datetime(str(text))


def _customer(source: str, case: Mapping[str, Any]) -> Party:
    email = case.get("SuppliedEmail")
    return Party(source=source, role=AuthorRole.CUSTOMER,
                 id=str(case.get("ContactId") or email or f"case:{case['Id']}"),
                 name=case.get("SuppliedName") or None, handle=email or None)


def case_interactions(source: str, case: Mapping[str, Any],
                      emails: Sequence[Mapping[str, Any]],
                      comments: Sequence[Mapping[str, Any]]) -> list[Interaction]:
    """The case's messages in time order. Raises ``KeyError``/``ValueError`` on a bad record."""
    case_id = str(case["Id"])
    customer = _customer(source, case)
    origin = str(case.get("Origin") or "web").lower()
    common: dict[str, Any] = {
        "source": source, "conversation_id": case_id, "record_id": case_id, "customer": customer,
        "native_status": case.get("Status"), "native_priority": case.get("Priority"),
    }
    updated = modstamp(case)
    out: list[Interaction] = []
    description, truncated = clean_text(case.get("Description"))
    if description:
        out.append(Interaction(
            **common, native_id=case_id, channel=_CHANNELS.get(origin, "web"), kind="case",
            author=customer, author_role=AuthorRole.CUSTOMER, text=description,
            created_at=_when(case.get("CreatedDate")), updated_at=updated,
            native_fields={"CaseNumber": case.get("CaseNumber"), "Subject": case.get("Subject"),
                           "truncated": truncated}))
    for email in emails:
        text_body = email.get("TextBody")
        if text_body and str(text_body).strip():
            text, truncated = clean_text(text_body)
        else:
            text, truncated = clean_text(email.get("HtmlBody"), is_html=True)
        if not text:
            continue  # an email without a body has nothing to read
        incoming = bool(email.get("Incoming"))
        if incoming:
            author = customer
        else:
            sender = str(email.get("FromAddress") or "agent")
            author = Party(source=source, id=sender, role=AuthorRole.AGENT,
                           name=email.get("FromName") or None, handle=sender)
        out.append(Interaction(
            **common, native_id=str(email["Id"]), channel="email", kind="email", author=author,
            author_role=AuthorRole.CUSTOMER if incoming else AuthorRole.AGENT, text=text,
            created_at=_when(email.get("MessageDate"), email.get("CreatedDate")),
            native_fields={"truncated": truncated}))
    for comment in comments:
        text, truncated = clean_text(comment.get("CommentBody"))
        if not text:
            continue
        created_by = comment.get("CreatedBy")
        contact = created_by.get("ContactId") if isinstance(created_by, Mapping) else None
        if contact:
            author = customer if contact == case.get("ContactId") else Party(
                source=source, id=str(contact), role=AuthorRole.CUSTOMER)
            role = AuthorRole.CUSTOMER
        else:
            author = Party(source=source, id=str(comment.get("CreatedById") or "user"),
                           role=AuthorRole.AGENT)
            role = AuthorRole.AGENT
        out.append(Interaction(
            **common, native_id=str(comment["Id"]), channel="web", kind="comment",
            author=author, author_role=role, text=text,
            visibility=Visibility.PUBLIC if comment.get("IsPublished") else Visibility.PRIVATE,
            created_at=_when(comment.get("CreatedDate")),
            native_fields={"truncated": truncated}))
    out.sort(key=lambda i: (i.created_at, i.native_id))
    return out
