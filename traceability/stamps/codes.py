"""Stamp codes, PINs and the URLs a QR carries.

A stamp has a serial (sequential per producer, across runs) and a random code (13 characters
from a 31-letter alphabet without look-alikes: 31**13 ≈ 2**64.4, unguessable). The QR encodes
`PUBLIC_BASE_URL/S/<code>` written in upper case, so the whole URL fits QR alphanumeric mode
(version 2 at level M for a short host), or the GS1 Digital Link
`…/01/<GTIN-14>/10/<lot>/21/<serial>` when the run was ordered for a lot of a product with a GTIN.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app

from core.gs1 import digital_link
from core.numbers import is_ascii_digits
from traceability.models import Stamp, StampRun

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed by hand
CODE_LENGTH = 13  # 31**13 ≈ 2**64.4 codes
_SPACE = len(ALPHABET) ** CODE_LENGTH
_DRAW_BYTES = 9  # 72 random bits per draw, rejection-sampled into the code space
_LIMIT = (256**_DRAW_BYTES // _SPACE) * _SPACE
MAX_RUN = 100_000
MAX_RANGE = 100_000  # stamps one activation or void may touch
PIN_DIGITS = 6
CHUNK = 5_000  # rows per bulk INSERT
_CODE_INPUT = re.compile(r"[\s\-.]+")
# QR alphanumeric mode: digits, upper-case letters and these nine symbols.
_QR_ALPHANUMERIC = re.compile(r"^[0-9A-Z $%*+\-./:]*$")

Progress = Callable[[int], None]


# ------------------------------------------------------------------------------------ codes


def random_codes(count: int, taken: set[str] | None = None) -> list[str]:
    """`count` distinct random codes (secrets; every code equally likely), none in `taken`."""
    taken = set() if taken is None else taken
    codes: list[str] = []
    alphabet, base = ALPHABET, len(ALPHABET)
    while len(codes) < count:
        pool = secrets.token_bytes((count - len(codes)) * _DRAW_BYTES)
        for offset in range(0, len(pool), _DRAW_BYTES):
            value = int.from_bytes(pool[offset : offset + _DRAW_BYTES], "big")
            if value >= _LIMIT:
                continue
            value %= _SPACE
            chars = []
            for _i in range(CODE_LENGTH):
                value, digit = divmod(value, base)
                chars.append(alphabet[digit])
            code = "".join(chars)
            if code not in taken:
                taken.add(code)
                codes.append(code)
    return codes


def normalize_code(text: str | None) -> str | None:
    """What a person typed or a URL carried → the stored code, or None if it cannot be one.

    Case-insensitive; spaces, dashes and dots between groups are ignored (labels print
    `ABCD-EFGH-JKMNP`)."""
    if not text:
        return None
    code = _CODE_INPUT.sub("", text).upper()
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def grouped_code(code: str) -> str:
    """ABCDEFGHJKMNP → ABCD-EFGH-JKMNP: easier to read out and type."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


# ------------------------------------------------------------------------------------- PINs
#
# A PIN is six digits: only a million values, so a plain hash of it is reversed by trying them
# all in a second. Both the PIN and its stored hash are therefore HMAC-SHA256 keyed by a secret
# that never enters the database (STAMP_PIN_KEY, else SECRET_KEY): a stolen database alone
# reveals no PIN. The PIN itself is derived from (run, serial) under that key, so printing and
# reprinting a run reproduce it without it ever being stored; rotating the key makes PINs of
# already printed stamps unverifiable (see docs/stamps.md).


def pin_key() -> bytes:
    key = current_app.config.get("STAMP_PIN_KEY") or current_app.config["SECRET_KEY"]
    return str(key).encode("utf-8")


def stamp_pin(run_id: int, serial: int, key: bytes | None = None) -> str:
    message = f"choque/stamp-pin/v1/{run_id}/{serial}".encode("ascii")
    digest = hmac.new(key or pin_key(), message, hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**PIN_DIGITS:0{PIN_DIGITS}d}"


def pin_hash(code: str, pin: str, key: bytes | None = None) -> str:
    message = f"choque/stamp-pin-hash/v1/{code}/{pin}".encode("ascii")
    return hmac.new(key or pin_key(), message, hashlib.sha256).hexdigest()


def pin_matches(stamp: Stamp, pin: str) -> bool:
    if stamp.pin_hash is None or not is_ascii_digits(pin) or len(pin) != PIN_DIGITS:
        return False
    return hmac.compare_digest(stamp.pin_hash, pin_hash(stamp.code, pin))


# ------------------------------------------------------------------------------------- URLs


def _upper_base(base_url: str) -> str | None:
    """Scheme and host are case-insensitive: upper-case them when the base has no path."""
    parts = urlsplit(base_url)
    if parts.path.strip("/") or parts.query or parts.fragment:
        return None
    return base_url.rstrip("/").upper()


def code_url(base_url: str, code: str) -> str:
    """The URL printed for a stamp without a Digital Link: upper case → QR alphanumeric mode."""
    upper = _upper_base(base_url)
    if upper is not None and _QR_ALPHANUMERIC.match(upper):
        return f"{upper}/S/{code}"
    return f"{base_url.rstrip('/')}/s/{code}"


def stamp_dl_url(base_url: str, gtin14: str, lot: str, serial: int) -> str:
    link = digital_link(base_url, gtin14, lot, str(serial))
    upper = _upper_base(base_url)
    if upper is not None:
        candidate = upper + link[len(base_url.rstrip("/")) :]
        if _QR_ALPHANUMERIC.match(candidate):
            return candidate
    return link


def stamp_url(run: StampRun, serial: int, code: str, base_url: str | None = None) -> str:
    """The exact text a stamp's QR encodes (fixed when its run is ordered)."""
    base = base_url or current_app.config["PUBLIC_BASE_URL"]
    if run.dl_gtin and run.dl_lot:
        return stamp_dl_url(base, run.dl_gtin, run.dl_lot, serial)
    return code_url(base, code)
