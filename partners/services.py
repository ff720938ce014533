"""Partner accounts (keys through accounts.api_keys, the one key mechanism) and producers'
opt-ins. Services flush, never commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, select

from accounts import api_keys
from accounts.identifiers import printable
from accounts.models import ApiKey
from cooperatives.models import Product, ProductStatus
from core.db import db, upsert, utcnow
from core.errors import Conflict, Invalid, NotFound
from partners.models import (
    FeedChange,
    Partner,
    PartnerKey,
    PartnerOptIn,
    PartnerProductExclusion,
)
from partners.webhooks.outbox import note_exclusions, note_withdrawal

PARTNER_SCOPES = {
    "feeds:read": _l("Đọc nguồn cấp sản phẩm (JSON, XML, CSV)"),
    "orders:write": _l("Đặt đơn hàng và xem đơn của mình"),
    "webhooks:manage": _l("Xem nhật ký webhook của mình và gửi lại"),
}


def create_partner(
    name: str,
    scopes: Any = "feeds:read",
    *,
    rate_limit: str | None = None,
    actor_id: int | None = None,
) -> tuple[Partner, ApiKey, str]:
    """A partner and its first key; returns (partner, key row, plain key shown once)."""
    clean = printable(name or "")
    if not clean or len(clean) > 120:
        message = _l("Tên đối tác cần từ 1 đến 120 ký tự.")
        raise Invalid(message, fields={"name": message})
    if db.session.scalar(select(Partner.id).where(Partner.name == clean)) is not None:
        message = _l("Đã có đối tác tên này.")
        raise Invalid(message, fields={"name": message})
    partner = Partner(name=clean)
    db.session.add(partner)
    db.session.flush()
    key, plain = api_keys.create_api_key(
        clean, scopes, owner_id=actor_id, actor_id=actor_id, rate_limit=rate_limit
    )
    db.session.add(PartnerKey(partner_id=partner.id, api_key_id=key.id))
    db.session.flush()
    return partner, key, plain


def get_partner(partner_id: Any) -> Partner:
    partner = db.session.get(Partner, partner_id) if isinstance(partner_id, int) else None
    if partner is None:
        raise NotFound()
    return partner


def list_partners() -> list[Partner]:
    return list(db.session.scalars(select(Partner).order_by(Partner.name)))


def active_partners() -> list[Partner]:
    return list(
        db.session.scalars(select(Partner).where(Partner.active.is_(True)).order_by(Partner.name))
    )


def _key_of(partner: Partner, key_id: Any) -> ApiKey:
    link = db.session.scalar(
        select(PartnerKey).where(
            PartnerKey.partner_id == partner.id, PartnerKey.api_key_id == key_id
        )
    )
    if link is None:
        raise NotFound()
    return link.api_key


def rotate_key(
    partner_id: int, key_id: int, *, overlap: timedelta = timedelta(days=7), actor_id=None
) -> tuple[ApiKey, str]:
    partner = get_partner(partner_id)
    old = _key_of(partner, key_id)
    new, plain = api_keys.rotate_api_key(old.id, overlap=overlap, actor_id=actor_id)
    db.session.add(PartnerKey(partner_id=partner.id, api_key_id=new.id))
    db.session.flush()
    return new, plain


def revoke_key(partner_id: int, key_id: int, *, actor_id: int | None = None) -> ApiKey:
    partner = get_partner(partner_id)
    return api_keys.revoke_api_key(_key_of(partner, key_id).id, actor_id=actor_id)


def partner_of_key(key: ApiKey) -> Partner | None:
    """The active partner that owns this key (None: a key of no partner, or a paused one)."""
    partner = db.session.scalar(
        select(Partner).join(PartnerKey).where(PartnerKey.api_key_id == key.id)
    )
    if partner is None or not partner.active:
        return None
    return partner


# ------------------------------------------------------------------------------- opt-in


def opted_in_partner_ids(producer_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(PartnerOptIn.partner_id).where(
                PartnerOptIn.producer_id == producer_id, PartnerOptIn.withdrawn_at.is_(None)
            )
        )
    )


def _record_for_producer(producer_id: int, partner_id: int, reason: str) -> None:
    now = utcnow()
    db.session.execute(
        insert(FeedChange).from_select(
            ["product_id", "partner_id", "reason", "changed_at"],
            select(
                Product.id,
                db.literal(partner_id),
                db.literal(reason),
                db.literal(now),
            ).where(Product.producer_id == producer_id),
        )
    )


def set_opt_ins(producer_id: int, partner_ids: set[int]) -> tuple[set[int], set[int]]:
    """The producer's products may be listed by exactly `partner_ids` (active partners only).
    Returns (granted, withdrawn). A withdrawal removes them from that partner's feeds at once."""
    known = {p.id for p in active_partners()}
    unknown = set(partner_ids) - known
    if unknown:
        raise Invalid(fields={"partners": _l("Vui lòng chọn đối tác trong danh sách.")})
    rows = {
        row.partner_id: row
        for row in db.session.scalars(
            select(PartnerOptIn).where(PartnerOptIn.producer_id == producer_id)
        )
    }
    now = utcnow()
    granted: set[int] = set()
    withdrawn: set[int] = set()
    for partner_id in known:
        row = rows.get(partner_id)
        live = row is not None and row.withdrawn_at is None
        if partner_id in partner_ids and not live:
            if row is None:
                db.session.add(PartnerOptIn(producer_id=producer_id, partner_id=partner_id))
            else:
                row.withdrawn_at = None
                row.created_at = now
            granted.add(partner_id)
        elif partner_id not in partner_ids and live:
            assert row is not None
            row.withdrawn_at = now
            withdrawn.add(partner_id)
    db.session.flush()
    for partner_id in granted:
        _record_for_producer(producer_id, partner_id, "opted_in")
    for partner_id in withdrawn:
        _record_for_producer(producer_id, partner_id, "withdrawn")
        note_withdrawal(producer_id, partner_id)
    return granted, withdrawn


# ------------------------------------------------------------------ per-product opt-out


def choosable_products(producer_id: int) -> list[Product]:
    """The producer's products a listing choice applies to (archived ones are listed nowhere)."""
    return list(
        db.session.scalars(
            select(Product)
            .where(
                Product.producer_id == producer_id,
                Product.status != ProductStatus.ARCHIVED.value,
            )
            .order_by(Product.name_vi, Product.id)
        )
    )


def excluded_product_ids(producer_id: int) -> dict[int, set[int]]:
    """partner id → ids of this producer's products kept out of that partner's feeds."""
    rows = db.session.execute(
        select(PartnerProductExclusion.partner_id, PartnerProductExclusion.product_id)
        .join(Product, Product.id == PartnerProductExclusion.product_id)
        .where(Product.producer_id == producer_id)
    )
    found: dict[int, set[int]] = {}
    for partner_id, product_id in rows:
        found.setdefault(partner_id, set()).add(product_id)
    return found


def set_listed_products(
    producer_id: int, partner_id: Any, listed: set[int]
) -> tuple[set[int], set[int]]:
    """Of the producer's choosable products, exactly `listed` may appear in the feeds of a
    partner it has opted in to; the others are excluded. Returns (excluded, included now).
    An exclusion removes the product from that partner's feeds at once (a tombstone with
    `updated_since`, a product.removed webhook). NotFound for a partner not opted in to."""
    if not isinstance(partner_id, int) or partner_id not in opted_in_partner_ids(producer_id):
        raise NotFound()  # for this producer, a partner it has not chosen is not there
    among = {p.id for p in choosable_products(producer_id)}
    if not set(listed) <= among:
        message = _l("Vui lòng chọn sản phẩm trong danh sách.")
        raise Invalid(message, fields={"products": message})
    current = excluded_product_ids(producer_id).get(partner_id, set()) & among
    wanted = among - set(listed)
    newly_excluded, included = wanted - current, current - wanted
    if newly_excluded:  # two saves of the same list at once: the second adds nothing
        db.session.execute(
            upsert(PartnerProductExclusion)
            .values([{"partner_id": partner_id, "product_id": p} for p in sorted(newly_excluded)])
            .on_conflict_do_nothing()
        )
    if included:
        db.session.execute(
            delete(PartnerProductExclusion).where(
                PartnerProductExclusion.partner_id == partner_id,
                PartnerProductExclusion.product_id.in_(sorted(included)),
            )
        )
    now = utcnow()
    for product_ids, reason in ((newly_excluded, "excluded"), (included, "included")):
        for product_id in sorted(product_ids):
            db.session.add(
                FeedChange(
                    product_id=product_id, partner_id=partner_id, reason=reason, changed_at=now
                )
            )
    db.session.flush()
    note_exclusions(partner_id, newly_excluded, included)
    return newly_excluded, included


def record_change(product_id: int, reason: str) -> None:
    """Signal receivers: a product changed for every partner without its updated_at moving."""
    if db.session.get(Product, product_id) is None:
        raise Conflict()
    db.session.add(FeedChange(product_id=product_id, partner_id=None, reason=reason[:24]))
