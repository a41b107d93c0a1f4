"""API keys: created once, shown once, stored only as a salted keyed hash, scoped to a tenant.

A key looks like ``eb_<key id>_<secret>``. The key id (public, 12 hex characters) finds the row;
the secret (32 random bytes, base64url) is checked against ``HMAC-SHA256(salt, secret)``.
A slow password hash (argon2, bcrypt) protects *low-entropy* human passwords against offline
guessing; these secrets carry 256 bits of randomness, so a fast keyed hash is just as safe
against a stolen database and keeps authentication well under a millisecond per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from empathy_bridge.errors import ConfigError
from empathy_bridge.server import tables as t
from empathy_bridge.store import Store

__all__ = ["ApiKey", "ApiKeys", "NewKey"]

_PREFIX = "eb_"


@dataclass(frozen=True)
class ApiKey:
    """A stored key's public facts (never its secret)."""

    key_id: str
    tenant: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the key is still accepted."""
        return self.revoked_at is None


@dataclass(frozen=True)
class NewKey:
    """A freshly created key: ``token`` is shown once and never stored."""

    key: ApiKey
    token: str


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode("ascii"), hashlib.sha256).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class ApiKeys:
    """Create, list, revoke and verify API keys in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, tenant: str, name: str = "") -> NewKey:
        """A new active key for ``tenant``; the returned token is the only copy of the secret."""
        if not tenant.strip():
            raise ConfigError("--tenant must name a tenant (the `tenant` of your sources)")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        now = datetime.now(UTC)
        with self.store.transaction() as conn:
            conn.execute(t.api_keys.insert().values(
                key_id=key_id, tenant=tenant, name=name or key_id, salt=salt,
                digest=_digest(salt, secret), created_at=now))
        self.store.audit("api_key.create", detail={"key_id": key_id, "tenant": tenant})
        key = ApiKey(key_id, tenant, name or key_id, now, None)
        return NewKey(key=key, token=f"{_PREFIX}{key_id}_{secret}")

    def list(self, tenant: str | None = None) -> list[ApiKey]:
        """Keys (active and revoked), oldest first, optionally of one tenant."""
        query = select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.key_id)
        if tenant is not None:
            query = query.where(t.api_keys.c.tenant == tenant)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [ApiKey(r["key_id"], r["tenant"], r["name"], _aware(r["created_at"]) or
                       datetime.now(UTC), _aware(r["revoked_at"]))
                for r in rows]

    def revoke(self, key_id: str, tenant: str) -> bool:
        """Revoke a key of ``tenant``; False when no such active key exists."""
        key_id = key_id.removeprefix(_PREFIX).split("_", 1)[0]
        with self.store.transaction() as conn:
            changed = conn.execute(
                update(t.api_keys)
                .where(t.api_keys.c.key_id == key_id, t.api_keys.c.tenant == tenant,
                       t.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))).rowcount
        if changed:
            self.store.audit("api_key.revoke", detail={"key_id": key_id, "tenant": tenant})
        return bool(changed)

    def verify(self, token: str) -> ApiKey | None:
        """The active key ``token`` belongs to, or ``None`` (malformed, unknown, revoked, wrong)."""
        if not token.startswith(_PREFIX):
            return None
        key_id, sep, secret = token[len(_PREFIX):].partition("_")
        if not sep or not key_id or not secret or len(secret) > 100 or not secret.isascii():
            return None
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.key_id == key_id)
                               ).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(_digest(row["salt"], secret), row["digest"]):
            return None
        return ApiKey(row["key_id"], row["tenant"], row["name"],
                      _aware(row["created_at"]) or datetime.now(UTC), None)
