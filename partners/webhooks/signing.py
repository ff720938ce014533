"""Standard Webhooks signing: `whsec_<base64>` secrets, the webhook-id / webhook-timestamp /
webhook-signature headers (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one signature per
secret, space-separated: during a rotation's overlap the new secret and the previous one sign).

Secrets must be readable to sign, so they are stored encrypted with a key derived from
SECRET_KEY: HMAC-SHA256 as the keystream in counter mode plus an HMAC tag (encrypt-then-MAC,
standard library only). Rotating SECRET_KEY makes stored secrets unreadable: endpoints then
need a new secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from flask import current_app

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _keys() -> tuple[bytes, bytes]:
    root = hashlib.sha256(("webhook-secrets|" + current_app.config["SECRET_KEY"]).encode())
    base = root.digest()
    return (
        hmac.new(base, b"encrypt", hashlib.sha256).digest(),
        hmac.new(base, b"authenticate", hashlib.sha256).digest(),
    )


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    stream = b"".join(
        hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks)
    )
    return stream[:length]


def encrypt(secret: str) -> str:
    enc_key, mac_key = _keys()
    nonce = secrets.token_bytes(16)
    plain = secret.encode()
    cipher = bytes(
        a ^ b for a, b in zip(plain, _keystream(enc_key, nonce, len(plain)), strict=True)
    )
    tag = hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()[:16]
    return "v1." + base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def decrypt(stored: str) -> str:
    enc_key, mac_key = _keys()
    raw = base64.urlsafe_b64decode(stored.removeprefix("v1.").encode())
    nonce, cipher, tag = raw[:16], raw[16:-16], raw[-16:]
    expected = hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(tag, expected):
        raise ValueError("webhook secret cannot be read (SECRET_KEY changed?)")
    return bytes(
        a ^ b for a, b in zip(cipher, _keystream(enc_key, nonce, len(cipher)), strict=True)
    ).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def headers(all_secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The webhook-* headers, signed with each secret in turn (the newest first)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in all_secrets),
    }
