"""Object-level authorisation: a member of producer A gets 404 on every route of producer B's data,
and nothing changes. Routes are enumerated from the URL map, so a new route is covered at once."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from cooperatives.models import Membership, OcopEvaluation, ProductImage
from core.db import db
from core.security import limiter
from tests.conftest import login
from tests.cooperatives.catalog_helpers import jpeg_with_gps
from tests.factories import add_member, make_certificate, make_producer, make_product, make_user
from tests.snapshots import database_snapshot

PREFIX = "/manage/<int:producer_id>"
ARGUMENT = re.compile(r"<(?:int:|any\(([^)]*)\):)?(\w+)>")

# Everything a form anywhere might want: if authorisation slipped, the change would go through.
FORM = {
    "name": "Bị đổi",
    "name_vi": "Bị đổi",
    "kind": "htx",
    "province_code": "25",
    "ward_code": "5089",
    "phone": "0987654321",
    "role": "manager",
    "status": "archived",
    "label": "thùng 1 kg",
    "pack_size": "1",
    "unit": "kg",
    "price": "1000",
    "active": "y",
    "action": "up",
    "alt": "Bị đổi",
    "decision_number": "1/QĐ",
    "decision_date": "2024-03-15",
    "issuing_authority": "UBND",
    "rule_set": "148/2023",
    "score_a": "30",
    "score_b": "20",
    "score_c": "30",
    "total_score": "80",
    "stars": "4",
    "reason": "thử",
    "note": "thử",
    "product_id": "0",
    "category_code": "1.1",
}


@pytest.fixture
def two_producers(app):
    with app.app_context():
        manager_a = make_user(name="Quản lý A")
        producer_a = make_producer(name="HTX A", manager=manager_a)
        product_a = make_product(producer_a)
        manager_b = make_user(name="Quản lý B")
        producer_b = make_producer(name="HTX B", manager=manager_b)
        helper_b = add_member(make_user(name="Người hỗ trợ B"), producer_b, "helper")
        product_b = make_product(producer_b, status="draft")
        image_b = ProductImage(product_id=product_b.id, key="bimage", width=10, height=10)
        db.session.add(image_b)
        certificate_b = make_certificate(product_b)
        evaluation_b = OcopEvaluation(
            product_id=product_b.id, producer_id=producer_b.id, province_code=25
        )
        db.session.add(evaluation_b)
        db.session.commit()
        return {
            "manager_a": manager_a.id,
            "a": {
                "producer_id": producer_a.id,
                "product_id": product_a.id,
                "variant_id": product_a.variants[0].id,
            },
            "b": {
                "producer_id": producer_b.id,
                "product_id": product_b.id,
                "variant_id": product_b.variants[0].id,
                "membership_id": helper_b.id,
                "image_id": image_b.id,
                "certificate_id": certificate_b.id,
                "evaluation_id": evaluation_b.id,
            },
        }


def _producer_rules(app) -> list:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX)]
    assert len(rules) >= 12, [r.rule for r in rules]
    return rules


def _url(rule, values: dict[str, int]) -> str:
    def fill(match: re.Match) -> str:
        choices, name = match.group(1), match.group(2)
        if choices:  # <any(xlsx, csv):kind>: the first of the choices
            return choices.split(",")[0].strip()
        return str(values.get(name, 1))

    return ARGUMENT.sub(fill, rule.rule)


def _post_data() -> dict:
    return {
        **FORM,
        "photos": (io.BytesIO(jpeg_with_gps()), "a.jpg"),
        "logo": (io.BytesIO(jpeg_with_gps()), "logo.jpg"),
    }


def _requests(rule):
    yield from sorted(rule.methods & {"GET", "POST"})


def test_a_manager_of_a_gets_404_on_every_route_of_producer_b(app, client, two_producers):
    login(client, two_producers["manager_a"])
    with app.app_context():
        before = database_snapshot()
    checked = []
    for rule in _producer_rules(app):
        url = _url(rule, two_producers["b"])
        for method in _requests(rule):
            if method == "GET":
                response = client.get(url)
            else:
                limiter.reset()  # the hourly photo budget is not what this test is about
                response = client.post(url, data=_post_data(), content_type="multipart/form-data")
            assert response.status_code == 404, (method, url, response.status_code)
            checked.append((method, rule.rule))
    assert (
        client.get(f"/manage/go?producer_id={two_producers['b']['producer_id']}").status_code == 404
    )
    with app.app_context():
        assert database_snapshot() == before
    assert any(m == "POST" for m, _r in checked)


def test_ids_of_b_under_a_own_producer_are_404_too(app, client, two_producers):
    """/manage/<A>/products/<B's product>: the sub-object must belong to the producer in the URL."""
    login(client, two_producers["manager_a"])
    with app.app_context():
        before = database_snapshot()
    mixed = {**two_producers["b"], "producer_id": two_producers["a"]["producer_id"]}
    tried = 0
    for rule in _producer_rules(app):
        arguments = {m.group(2) for m in ARGUMENT.finditer(rule.rule) if not m.group(1)} - {
            "producer_id"
        }
        if not arguments:
            continue
        url = _url(rule, mixed)
        for method in _requests(rule):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data=_post_data(), content_type="multipart/form-data")
            assert response.status_code == 404, (method, url, response.status_code)
            tried += 1
    with app.app_context():
        assert database_snapshot() == before
    assert tried >= 8


def test_own_routes_answer_for_the_manager_of_a(app, client, two_producers):
    """The same enumeration is not vacuous: A's own pages answer (no 404) for A's manager."""
    login(client, two_producers["manager_a"])
    for rule in _producer_rules(app):
        if "GET" not in rule.methods:
            continue
        arguments = {m.group(2) for m in ARGUMENT.finditer(rule.rule) if not m.group(1)}
        if not arguments <= set(two_producers["a"]):
            continue
        response = client.get(_url(rule, two_producers["a"]))
        assert response.status_code != 404, rule.rule


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


def test_garbage_on_every_catalog_route_never_causes_a_server_error(app, client, two_producers):
    login(client, two_producers["manager_a"])
    with app.app_context():
        image = ProductImage(
            product_id=two_producers["a"]["product_id"], key="aimage", width=10, height=10
        )
        db.session.add(image)
        membership = db.session.scalar(
            select(Membership.id).where(Membership.user_id == two_producers["manager_a"])
        )
        db.session.commit()
        own = {**two_producers["a"], "image_id": image.id, "membership_id": membership}
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
