"""A small but complete world for route-wide tests: two producers, each with every kind of object
a URL can name (product, variant, photo, certificate, evaluation, lot, trace event, stamp run,
active stamps, membership, stock on the lot, an order with its sub-order, a pending invitation),
one user per role, and an API key.

Built through the real services where they exist; call inside an app context. It commits, and
returns plain ids so tests can make requests without holding an app context open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from accounts.api_keys import create_api_key
from cooperatives.access import Acting
from cooperatives.memberships import invite_member
from cooperatives.models import Membership, OcopEvaluation, ProductImage
from core.db import db
from core.gs1 import check_digit
from partners.services import create_partner
from shop.checkout.services import LineIn, place_order
from shop.inventory.receiving import receive_stock
from tests.factories import (
    add_member,
    make_batch,
    make_certificate,
    make_council_member,
    make_producer,
    make_product,
    make_user,
)
from tests.shop.helpers import contact
from traceability import stamps
from traceability.models import Stamp, TraceEvent

# <int:producer_id>, <code>, <path:rest>: the name of every variable part of a rule
ARGUMENT = re.compile(r"<(?:(\w+(?:\([^)]*\))?):)?(\w+)>")
ROLES = ("anonymous", "manager", "member", "helper", "council", "admin")


def gtin(body: str) -> str:
    """A valid GTIN-13 from 12 digits."""
    return f"{body}{check_digit(body)}"


@dataclass
class Side:
    """One producer and the ids of everything it owns, by the URL argument that names it."""

    ids: dict[str, int]
    gtin: str
    lot_code: str
    codes: list[str]
    slug: str
    product_slug: str
    image_key: str
    order_ref: str = ""


@dataclass
class World:
    users: dict[str, int | None]
    a: Side
    b: Side
    extra: dict[str, Any] = field(default_factory=dict)


def _side(
    name: str, gtin_body: str, manager_name: str, invitee_phone: str
) -> tuple[Side, dict[str, int]]:
    manager = make_user(name=manager_name)
    producer = make_producer(name=name, manager=manager)
    member = make_user(name=f"Thành viên {name}")
    membership = add_member(member, producer, "member")
    helper = make_user(name=f"Người hỗ trợ {name}")
    add_member(helper, producer, "helper")
    product = make_product(producer, name=f"Cam {name}", gtin=gtin(gtin_body).rjust(14, "0"))
    image = ProductImage(product_id=product.id, key=f"img{producer.id}x", width=10, height=10)
    db.session.add(image)
    certificate = make_certificate(product)
    evaluation = OcopEvaluation(
        product_id=product.id, producer_id=producer.id, province_code=producer.province_code
    )
    db.session.add(evaluation)
    lot_code = f"LOT-{producer.id}-A"
    batch = make_batch(
        product, lot_code=lot_code, produced_on=date(2026, 11, 10), best_before=date(2027, 1, 1)
    )
    event_id = db.session.scalar(select(TraceEvent.id).where(TraceEvent.batch_id == batch.id))
    run = stamps.create_run(
        producer.id, 6, product_id=product.id, with_pin=True, created_by_id=manager.id
    )
    stamps.activate_range(producer.id, 1, 3, batch.id, actor_id=manager.id)
    receive_stock(producer.id, variant_id=product.variants[0].id, batch_id=batch.id, units=5)
    order = place_order([LineIn(product.variants[0].id, 1)], contact())
    invitation = invite_member(
        Acting(user=manager, producer=producer, role="manager"), invitee_phone, "member"
    )
    db.session.flush()
    codes = list(
        db.session.scalars(select(Stamp.code).where(Stamp.run_id == run.id).order_by(Stamp.serial))
    )
    ids = {
        "producer_id": producer.id,
        "product_id": product.id,
        "variant_id": product.variants[0].id,
        "image_id": image.id,
        "certificate_id": certificate.id,
        "evaluation_id": evaluation.id,
        "batch_id": batch.id,
        "event_id": event_id,
        "run_id": run.id,
        "membership_id": membership.id,
        "sub_order_id": order.sub_orders[0].id,
        "invitation_id": invitation.id,
        "serial": 1,
    }
    users = {"manager": manager.id, "member": member.id, "helper": helper.id}
    return (
        Side(
            ids,
            gtin(gtin_body),
            lot_code,
            codes,
            producer.slug,
            product.slug,
            image.key,
            order.ref,
        ),
        users,
    )


def build_world() -> World:
    a, users_a = _side("HTX Cam A", "893850597400", "Quản lý A", "0912 000 001")
    b, _users_b = _side("HTX Chè B", "893850597500", "Quản lý B", "0912 000 002")
    council = make_council_member("province", 25)
    admin = make_user(name="Quản trị", admin=True)
    key, plain = create_api_key("Đối tác thử", ["catalog:read"], actor_id=admin.id)
    partner, partner_key, _partner_plain = create_partner(
        "Sàn thử", "feeds:read,orders:write", actor_id=admin.id
    )
    db.session.commit()
    users: dict[str, int | None] = {
        "anonymous": None,
        **users_a,
        "council": council.id,
        "admin": admin.id,
    }
    own_membership = db.session.scalar(
        select(Membership.id).where(Membership.user_id == users_a["manager"])
    )
    return World(
        users=users,
        a=a,
        b=b,
        extra={
            "key_id": key.id,
            "api_key": plain,
            "own_membership_id": own_membership,
            "partner_id": partner.id,
            "partner_key_id": partner_key.id,
            "endpoint_id": _webhook_endpoint(partner.id),
        },
    )


def _webhook_endpoint(partner_id: int) -> int:
    from partners.webhooks.services import add_endpoint

    endpoint, _secret = add_endpoint(partner_id, "https://partner.test/hooks")
    db.session.commit()
    return endpoint.id


# Every field a form anywhere reads: posted where authorisation should stop a change, spoiled
# where a form should refuse it.
FORM = {
    "name": "Bị đổi",
    "name_vi": "Bị đổi",
    "province_code": "25",
    "ward_code": "5089",
    "phone": "0987654321",
    "active": "y",
    "decision_number": "1/QĐ",
    "decision_date": "2024-03-15",
    "issuing_authority": "UBND",
    "rule_set": "148/2023",
    "score_a": "30",
    "score_b": "20",
    "score_c": "30",
    "note": "thử",
    "product_id": "0",
    "category_code": "1.1",
    "role": "manager",
    "status": "archived",
    "label": "thùng 1 kg",
    "pack_size": "1",
    "unit": "kg",
    "price": "1000",
    "first": "1",
    "last": "6",
    "batch_id": "0",
    "reason": "thử",
    "quantity": "5",
    "lot_code": "LOT-X",
    "produced_on": "2026-11-10",
    "kind": "harvesting",
    "parents": "0",
    "total_score": "80",
    "stars": "4",
    "alt": "Bị đổi",
    "action": "up",
}


def path_values(side: Side, world: World) -> dict[str, str]:
    """A real value for every URL argument, taken from `side` (the producer the URL names)."""
    values = {name: str(value) for name, value in side.ids.items()}
    values["producer_slug"] = side.slug
    values.update(
        {
            "key_id": str(world.extra["key_id"]),
            "partner_id": str(world.extra["partner_id"]),
            "endpoint_id": str(world.extra["endpoint_id"]),
            "delivery_id": "1",
            "data": "HCCP1jK2dx1a",  # a compressed Digital Link path that decodes to nothing
            "code": side.codes[0],
            "slug": side.product_slug,
            "key": side.image_key,
            "variant": "w480",
            "filename": "css/app.css",
            "rest": f"{side.gtin}/10/{side.lot_code}",
            "ref": side.order_ref,
        }
    )
    return values


def fill(rule_text: str, values: dict[str, str], endpoint: str = "") -> str:
    """The rule with each argument replaced by its value (`catalog.producer_page` gets the
    producer's slug for <slug>, the language switch gets 'en', a statistics page a real section)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        converter = match.group(1) or ""
        if converter.startswith("any("):  # <any(xlsx, csv):kind>: the first choice
            return converter[4:-1].split(",")[0].strip()
        if name == "code" and endpoint == "core.set_language":
            return "en"
        if name == "slug" and endpoint == "catalog.producer_page":
            return values.get("producer_slug", values["slug"])
        if name == "key" and endpoint.startswith("statistics."):
            return "ocop_stars"  # a real section, so the page itself is exercised
        return values[name]

    return ARGUMENT.sub(value, rule_text)


def rules(app) -> list:
    """Every rule of the app except static files, sorted for a stable order."""
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static"),
        key=lambda r: (r.rule, r.endpoint),
    )


def methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _form_classes() -> list[type]:
    from flask_wtf import FlaskForm

    found: list[type] = []
    todo = list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def input_names() -> list[str]:
    """Every name the app reads from a form or query string: each WTForms field of every form
    class, plus the names views read straight from `request.args`/`request.form`, plus the GS1
    query attributes the resolver reads."""
    from wtforms.fields.core import UnboundField

    names: set[str] = set()
    for cls in _form_classes():
        for attribute in dir(cls):
            if isinstance(getattr(cls, attribute, None), UnboundField):
                names.add(attribute)
    pattern = re.compile(
        r"request\.(?:args|form|values)(?:\.get(?:list)?\(\s*\"(\w+)\"|\[\"(\w+)\"\])"
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for package in ("accounts", "cooperatives", "traceability", "shop", "partners", "core"):
        for path in (root / package).rglob("*.py"):
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                names.add(match.group(1) or match.group(2))
    names.update({"10", "11", "13", "15", "17", "21", "linkType", "province", "product"})
    return sorted(names)
