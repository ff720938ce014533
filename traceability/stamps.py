"""Stamp runs: ordering N stamps, their codes, PINs and URLs; activation and voiding.

A stamp has a serial (sequential per producer, across runs) and a random code (13 characters
from a 31-letter alphabet without look-alikes: 31**13 ≈ 2**64.4, unguessable). The QR encodes
`PUBLIC_BASE_URL/S/<code>` written in upper case, so the whole URL fits QR alphanumeric mode
(version 2 at level M for a short host), or the GS1 Digital Link
`…/01/<GTIN-14>/10/<lot>/21/<serial>` when the run was ordered for a lot of a product with a GTIN.

Stamps are printed before harvest. They say nothing about a product until a manager activates
a serial range for a lot; damaged ones are voided.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update

from cooperatives.models import Producer, Product
from core.db import db, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.gs1 import digital_link, normalize_gtin
from core.text import clean
from traceability.models import Batch, BatchStatus, Stamp, StampRun, StampState

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
    if stamp.pin_hash is None or not pin.isdigit() or len(pin) != PIN_DIGITS:
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


# ------------------------------------------------------------------------------------- runs


def _producer_for_update(producer_id: int) -> Producer:
    # Serials are allocated under a lock on the producer row (PostgreSQL), so two runs ordered
    # at once never overlap; SQLite serialises writers and the unique (producer, serial) backs it.
    producer = db.session.scalar(
        select(Producer).where(Producer.id == producer_id).with_for_update()
    )
    if producer is None:
        raise NotFound(_("Không tìm thấy cơ sở sản xuất."))
    return producer


def _binding(
    producer_id: int, product_id: int | None, batch_id: int | None
) -> tuple[Product | None, Batch | None]:
    product = batch = None
    if batch_id is not None:
        batch = db.session.get(Batch, batch_id)
        if batch is None or batch.producer_id != producer_id:
            raise Invalid(_("Lô hàng không thuộc cơ sở này."), fields={"batch_id": _("Chọn lô")})
        if batch.status == BatchStatus.RECALLED:
            raise Invalid(
                _("Lô %(lot)s đã bị thu hồi: không in tem cho lô này.", lot=batch.lot_code),
                fields={"batch_id": _("Lô đã bị thu hồi")},
            )
        if product_id is not None and product_id != batch.product_id:
            raise Invalid(
                _("Lô %(lot)s không phải của sản phẩm đã chọn.", lot=batch.lot_code),
                fields={"batch_id": _("Lô không khớp sản phẩm")},
            )
        product_id = batch.product_id
    if product_id is not None:
        product = db.session.get(Product, product_id)
        if product is None or product.producer_id != producer_id:
            raise Invalid(
                _("Sản phẩm không thuộc cơ sở này."), fields={"product_id": _("Chọn sản phẩm")}
            )
    return product, batch


def check_quantity(quantity: Any) -> int:
    try:
        value = int(quantity)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= MAX_RUN:
        raise Invalid(
            _("Số tem mỗi lần đặt từ 1 đến %(max)s.", max=f"{MAX_RUN:,}".replace(",", ".")),
            fields={"quantity": _("Từ 1 đến %(max)s", max=f"{MAX_RUN:,}".replace(",", "."))},
        )
    return value


def create_run(
    producer_id: int,
    quantity: Any,
    *,
    product_id: int | None = None,
    batch_id: int | None = None,
    with_pin: bool = False,
    created_by_id: int | None = None,
    progress: Progress | None = None,
) -> StampRun:
    """Order `quantity` stamps: the next serials of the producer, random codes, optional PINs.

    Rows go in by bulk INSERTs of 5,000 (no ORM object per stamp); 100,000 take a few seconds.
    """
    quantity = check_quantity(quantity)
    product, batch = _binding(producer_id, product_id, batch_id)
    _producer_for_update(producer_id)
    last = db.session.scalar(
        select(func.max(StampRun.last_serial)).where(StampRun.producer_id == producer_id)
    )
    first = (last or 0) + 1
    dl_gtin = None
    if product is not None and batch is not None and product.gtin:
        try:
            dl_gtin = normalize_gtin(product.gtin)
        except ValueError:  # a malformed GTIN is never printed
            dl_gtin = None
    run = StampRun(
        producer_id=producer_id,
        product_id=product.id if product else None,
        batch_id=batch.id if batch else None,
        quantity=quantity,
        first_serial=first,
        last_serial=first + quantity - 1,
        with_pin=bool(with_pin),
        dl_gtin=dl_gtin,
        dl_lot=batch.lot_code if dl_gtin and batch else None,
        created_by_id=created_by_id,
    )
    db.session.add(run)
    db.session.flush()

    key = pin_key() if with_pin else b""
    table = Stamp.__table__
    code_column = table.c.code
    for start in range(0, quantity, CHUNK):
        size = min(CHUNK, quantity - start)
        codes = random_codes(size)
        # 2**64 codes make a clash with an existing stamp all but impossible; check anyway.
        clash = set(db.session.scalars(select(code_column).where(code_column.in_(codes))))
        while clash:
            codes = [c for c in codes if c not in clash]
            codes += random_codes(size - len(codes), taken=set(codes) | clash)
            clash = set(db.session.scalars(select(code_column).where(code_column.in_(codes))))
        rows = []
        for offset, code in enumerate(codes):
            serial = first + start + offset
            rows.append(
                {
                    "run_id": run.id,
                    "producer_id": producer_id,
                    "serial": serial,
                    "code": code,
                    "pin_hash": pin_hash(code, stamp_pin(run.id, serial, key), key)
                    if with_pin
                    else None,
                    "state": StampState.NEW.value,
                    "scan_count": 0,
                }
            )
        db.session.execute(table.insert(), rows)
        if progress is not None:
            progress(size)
    return run


def get_run(producer_id: int, run_id: int) -> StampRun:
    run = db.session.get(StampRun, run_id)
    if run is None or run.producer_id != producer_id:
        raise NotFound(_("Không tìm thấy đợt in tem."))
    return run


def runs_of(producer_id: int, limit: int = 200) -> list[StampRun]:
    return list(
        db.session.scalars(
            select(StampRun)
            .where(StampRun.producer_id == producer_id)
            .order_by(StampRun.id.desc())
            .limit(limit)
        )
    )


def state_counts(run_ids: list[int]) -> dict[int, dict[str, int]]:
    """Stamps per state for each run: {run_id: {"new": n, "active": n, "void": n}}."""
    counts: dict[int, dict[str, int]] = {
        run_id: {state.value: 0 for state in StampState} for run_id in run_ids
    }
    if not run_ids:
        return counts
    rows = db.session.execute(
        select(Stamp.run_id, Stamp.state, func.count())
        .where(Stamp.run_id.in_(run_ids))
        .group_by(Stamp.run_id, Stamp.state)
    )
    for run_id, state, count in rows:
        counts[run_id][state] = count
    return counts


def get_stamp(producer_id: int, serial: int) -> Stamp:
    stamp = db.session.scalar(
        select(Stamp).where(Stamp.producer_id == producer_id, Stamp.serial == serial)
    )
    if stamp is None:
        raise NotFound(_("Không có tem số %(serial)s.", serial=serial))
    return stamp


# ------------------------------------------------------------------------- activation, void


@dataclass(frozen=True)
class RangeResult:
    first: int
    last: int
    count: int


def _check_range(first: Any, last: Any) -> tuple[int, int]:
    try:
        a, b = int(first), int(last)
    except (TypeError, ValueError):
        raise Invalid(
            _("Số sê-ri phải là số nguyên dương."), fields={"first": _("Nhập số")}
        ) from None
    if a < 1 or b < 1:
        raise Invalid(_("Số sê-ri phải là số nguyên dương."), fields={"first": _("Nhập số")})
    if b < a:
        raise Invalid(
            _("Số cuối (%(last)s) nhỏ hơn số đầu (%(first)s).", first=a, last=b),
            fields={"last": _("Số cuối phải lớn hơn hoặc bằng số đầu")},
        )
    if b - a + 1 > MAX_RANGE:
        raise Invalid(
            _("Mỗi lần tối đa %(max)s tem.", max=f"{MAX_RANGE:,}".replace(",", ".")),
            fields={"last": _("Khoảng quá lớn")},
        )
    return a, b


def _span(serials: list[int]) -> str:
    """[1, 2, 3, 7] → '1–3, 7' (at most five pieces, then '…')."""
    pieces: list[str] = []
    start = prev = None
    for s in serials:
        if start is None:
            start = prev = s
        elif s == prev + 1:
            prev = s
        else:
            pieces.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = s
    if start is not None:
        pieces.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ", ".join(pieces[:5]) + (", …" if len(pieces) > 5 else "")


def _missing_in_range(producer_id: int, a: int, b: int) -> str:
    """'' when every serial a…b is one of the producer's stamps, else the missing ones."""
    present = db.session.scalar(
        select(func.count())
        .select_from(Stamp)
        .where(Stamp.producer_id == producer_id, Stamp.serial.between(a, b))
    )
    return "" if present == b - a + 1 else _missing(producer_id, a, b)


def _missing(producer_id: int, a: int, b: int) -> str:
    present = db.session.scalars(
        select(Stamp.serial)
        .where(Stamp.producer_id == producer_id, Stamp.serial.between(a, b))
        .order_by(Stamp.serial)
    )
    have = set(present)
    return _span([s for s in range(a, b + 1) if s not in have])


def _serials_in(producer_id: int, a: int, b: int, *conditions: Any) -> list[int]:
    return list(
        db.session.scalars(
            select(Stamp.serial)
            .where(Stamp.producer_id == producer_id, Stamp.serial.between(a, b), *conditions)
            .order_by(Stamp.serial)
            .limit(2_000)
        )
    )


def activate_range(
    producer_id: int, first: Any, last: Any, batch_id: Any, actor_id: int | None = None
) -> RangeResult:
    """Activate serials first..last of the producer for one of its lots: all or nothing.

    Refused as a whole, naming the conflict, when any serial is missing (never printed for
    this producer), not new (active or void), or printed for another product or lot. One
    conditional UPDATE … WHERE state = 'new' does the change; if it touches fewer rows than
    the range holds (someone activated part of it a moment ago) it raises Conflict and the
    caller's unit of work rolls back, so a stamp is never assigned twice.
    """
    a, b = _check_range(first, last)
    try:
        batch = db.session.get(Batch, int(batch_id))
    except (TypeError, ValueError):
        batch = None
    if batch is None or batch.producer_id != producer_id:
        raise Invalid(_("Chọn một lô hàng của cơ sở."), fields={"batch_id": _("Chọn lô")})
    if batch.status == BatchStatus.RECALLED:
        raise Invalid(
            _("Lô %(lot)s đã bị thu hồi: không kích hoạt thêm tem.", lot=batch.lot_code),
            fields={"batch_id": _("Lô đã bị thu hồi")},
        )
    size = b - a + 1
    missing = _missing_in_range(producer_id, a, b)
    if missing:
        raise Conflict(
            _(
                "Không kích hoạt: tem số %(serials)s không có trong các đợt in của cơ sở này. "
                "Không có tem nào bị thay đổi.",
                serials=missing,
            )
        )
    for state, message in (
        (
            StampState.ACTIVE,
            _(
                "Không kích hoạt: tem số %(serials)s đã được kích hoạt trước đó. "
                "Không có tem nào bị thay đổi."
            ),
        ),
        (
            StampState.VOID,
            _("Không kích hoạt: tem số %(serials)s đã bị hủy. Không có tem nào bị thay đổi."),
        ),
    ):
        taken = _serials_in(producer_id, a, b, Stamp.state == state.value)
        if taken:
            raise Conflict(message % {"serials": _span(taken)})
    mismatched = db.session.execute(
        select(StampRun.id, func.min(Stamp.serial), func.max(Stamp.serial))
        .join(Stamp, Stamp.run_id == StampRun.id)
        .where(
            Stamp.producer_id == producer_id,
            Stamp.serial.between(a, b),
            or_(
                and_(StampRun.product_id.is_not(None), StampRun.product_id != batch.product_id),
                and_(StampRun.batch_id.is_not(None), StampRun.batch_id != batch.id),
            ),
        )
        .group_by(StampRun.id)
    ).first()
    if mismatched is not None:
        raise Conflict(
            _(
                "Không kích hoạt: tem số %(first)s–%(last)s (đợt in #%(run)s) được in cho "
                "sản phẩm hoặc lô khác. Không có tem nào bị thay đổi.",
                first=mismatched[1],
                last=mismatched[2],
                run=mismatched[0],
            )
        )
    result = db.session.execute(
        update(Stamp)
        .where(
            Stamp.producer_id == producer_id,
            Stamp.serial.between(a, b),
            Stamp.state == StampState.NEW.value,
        )
        .values(
            state=StampState.ACTIVE.value,
            batch_id=batch.id,
            activated_at=utcnow(),
            activated_by_id=actor_id,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != size:
        raise Conflict(
            _(
                "Một số tem trong khoảng %(first)s–%(last)s vừa được người khác kích hoạt hoặc "
                "hủy. Không có tem nào bị thay đổi; vui lòng tải lại trang và thử lại.",
                first=a,
                last=b,
            )
        )
    return RangeResult(a, b, size)


def void_range(
    producer_id: int, first: Any, last: Any, reason: Any, actor_id: int | None = None
) -> RangeResult:
    """Void damaged or lost stamps (new or active): all or nothing, with a reason."""
    a, b = _check_range(first, last)
    reason = clean(str(reason or ""))
    if not 3 <= len(reason) <= 300:
        raise Invalid(
            _("Ghi lý do hủy (3–300 ký tự), ví dụ: tem bị rách."),
            fields={"reason": _("Ghi lý do hủy")},
        )
    size = b - a + 1
    missing = _missing_in_range(producer_id, a, b)
    if missing:
        raise Conflict(
            _(
                "Không hủy: tem số %(serials)s không có trong các đợt in của cơ sở này. "
                "Không có tem nào bị thay đổi.",
                serials=missing,
            )
        )
    already = _serials_in(producer_id, a, b, Stamp.state == StampState.VOID.value)
    if already:
        raise Conflict(
            _(
                "Không hủy: tem số %(serials)s đã bị hủy trước đó. Không có tem nào bị thay đổi.",
                serials=_span(already),
            )
        )
    result = db.session.execute(
        update(Stamp)
        .where(
            Stamp.producer_id == producer_id,
            Stamp.serial.between(a, b),
            Stamp.state != StampState.VOID.value,
        )
        .values(state=StampState.VOID.value, voided_at=utcnow(), void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != size:
        raise Conflict(
            _(
                "Một số tem vừa được người khác hủy. Không có tem nào bị thay đổi; "
                "vui lòng tải lại trang và thử lại."
            )
        )
    return RangeResult(a, b, size)
