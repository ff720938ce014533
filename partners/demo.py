"""The demo partner for `flask seed-demo` and its key for `flask demo-logins` (`make run`).

The demo key is demo data printed by `make run`, like the demo password: not a secret.
"""

from __future__ import annotations

from sqlalchemy import select

from accounts import api_keys
from accounts.models import ApiKey
from cooperatives.models import Producer
from core.db import db
from core.urls import public_url
from partners.models import Partner, PartnerKey, PartnerOptIn

DEMO_PARTNER = "Sàn demo (Postmart thử nghiệm)"
DEMO_KEY = "cq_demo0001_DemoPartnerKeyPrintedByMakeRun0000000000"  # noqa: S105  (demo data)


def seed_demo() -> str:
    partner = db.session.scalar(select(Partner).where(Partner.name == DEMO_PARTNER))
    if partner is None:
        partner = Partner(name=DEMO_PARTNER)
        db.session.add(partner)
        db.session.flush()
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == "demo0001"))
    if key is None:
        key, _plain = api_keys.create_api_key(
            DEMO_PARTNER, "feeds:read orders:write", plain=DEMO_KEY
        )
        db.session.add(PartnerKey(partner_id=partner.id, api_key_id=key.id))
    opted = set(
        db.session.scalars(
            select(PartnerOptIn.producer_id).where(PartnerOptIn.partner_id == partner.id)
        )
    )
    added = 0
    for producer_id in db.session.scalars(select(Producer.id)):
        if producer_id not in opted:
            db.session.add(PartnerOptIn(producer_id=producer_id, partner_id=partner.id))
            added += 1
    db.session.flush()
    return f"đối tác demo, {added} cơ sở mới đồng ý bán qua đối tác"


def demo_logins() -> list[str]:
    return [
        f"Khoá API đối tác demo ({DEMO_PARTNER}): {DEMO_KEY}",
        f"  curl -H 'Authorization: Bearer {DEMO_KEY}' --compressed "
        f"'{public_url('/api/v1/feeds/products?limit=2')}'",
    ]
