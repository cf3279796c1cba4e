"""API keys with scopes: `ask` for questions, `admin` for documents and jobs.

Keys are random tokens shown once at creation; only their SHA-256 is stored (a fast hash is
right for high-entropy tokens) and compared in constant time. With no keys configured the
question routes are open (a local demo) and the admin routes are closed: admin is never public.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, TypeAdapter

Scope = Literal["ask", "admin"]
KEY_PREFIX = "kabar_"


class KeyRecord(BaseModel):
    name: str
    sha256: str
    scopes: list[Scope]


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_keys(path: Path | None) -> list[KeyRecord]:
    if path is None or not path.exists():
        return []
    return TypeAdapter(list[KeyRecord]).validate_json(path.read_text(encoding="utf-8"))


def create_key(path: Path, name: str, scopes: list[Scope]) -> str:
    """Append a new key's hash to `path` and return the key itself (shown once, never stored)."""
    records = load_keys(path)
    if any(r.name == name for r in records):
        raise ValueError(f"a key named {name!r} already exists in {path}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    records.append(KeyRecord(name=name, sha256=hash_key(key), scopes=scopes))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps([r.model_dump() for r in records], indent=2), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)
    return key


class Authenticator:
    def __init__(self, keys: list[KeyRecord], public_ask: bool) -> None:
        self._keys = keys
        self.public_ask = public_ask or not keys

    def check(self, presented: str | None, scope: Scope) -> KeyRecord | None:
        """The matching key record, or None for an allowed anonymous question; raises AuthError."""
        if scope == "ask" and self.public_ask and not presented:
            return None
        if scope == "admin" and not any("admin" in r.scopes for r in self._keys):
            raise AuthError(403, "the admin API is disabled: no admin key is configured (kabar keys new)")
        if not presented:
            raise AuthError(401, "an API key is required (Authorization: Bearer <key>)")
        digest = hash_key(presented)
        match = None
        for record in self._keys:  # compare against every record: timing does not reveal which matched
            if hmac.compare_digest(digest, record.sha256):
                match = record
        if match is None:
            raise AuthError(401, "invalid API key")
        if scope not in match.scopes:
            raise AuthError(403, f"this key lacks the {scope!r} scope")
        return match
