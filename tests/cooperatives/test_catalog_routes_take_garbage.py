"""Garbage on every catalog route (the producer pages and the public catalog) never causes a
server error. (That another producer's ids answer 404 is proven for every role and every route
under /manage by tests/hardening/test_every_id_of_another_producer.py.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from cooperatives.models import Membership, ProductImage
from core.db import db
from tests.conftest import login
from tests.factories import make_producer, make_product, make_user
from tests.hardening.world import FORM as HARDENING_FORM

ARGUMENT = re.compile(r"<(?:int:|any\(([^)]*)\):)?(\w+)>")

FORM = {**HARDENING_FORM, "kind": "htx"}  # a producer's kind: the producer forms read it


@pytest.fixture
def producer(app):
    with app.app_context():
        manager = make_user(name="Quản lý A")
        producer = make_producer(name="HTX A", manager=manager)
        product = make_product(producer)
        db.session.commit()
        return {
            "manager": manager.id,
            "ids": {
                "producer_id": producer.id,
                "product_id": product.id,
                "variant_id": product.variants[0].id,
            },
        }


def _url(rule, values: dict[str, int]) -> str:
    def fill(match: re.Match) -> str:
        choices, name = match.group(1), match.group(2)
        if choices:  # <any(xlsx, csv):kind>: the first of the choices
            return choices.split(",")[0].strip()
        return str(values.get(name, 1))

    return ARGUMENT.sub(fill, rule.rule)


GARBAGE = [
    {},
    {key: "x" * 20000 for key in FORM},
    {key: "-1" for key in FORM},
    {key: "\x00💥' OR 1=1 --" for key in FORM},
    {**FORM, "province_code": "99999999999999999999", "ward_code": "abc", "pack_size": "1e9999"},
    # otherwise valid, with a NUL byte PostgreSQL would refuse to store
    {
        **FORM,
        "name": "Cam\x00",
        "name_vi": "Cam\x00",
        "label": "thùng\x00",
        "alt": "a\x00",
        "q": "cam\x00",
        "story": "a\x00b",
        "phone": "0987654322",
    },
]


def test_garbage_on_every_catalog_route_never_causes_a_server_error(app, client, producer):
    login(client, producer["manager"])
    with app.app_context():
        image = ProductImage(
            product_id=producer["ids"]["product_id"], key="aimage", width=10, height=10
        )
        db.session.add(image)
        membership = db.session.scalar(
            select(Membership.id).where(Membership.user_id == producer["manager"])
        )
        db.session.commit()
        own = {**producer["ids"], "image_id": image.id, "membership_id": membership}
    rules = [
        r for r in app.url_map.iter_rules() if r.endpoint.startswith(("cooperatives.", "catalog."))
    ]
    for rule in rules:
        url = _url(rule, own)
        for data in GARBAGE:
            if "GET" in rule.methods:
                assert client.get(url, query_string=data).status_code < 500, url
            if "POST" in rule.methods:
                response = client.post(url, data=data)
                assert response.status_code < 500, (url, response.status_code)
    for path in ("/p/abc%00", "/c/abc%00", "/p/ABC", "/c/" + "a" * 300):
        assert client.get(path).status_code == 404, path
