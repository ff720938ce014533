"""Object-level authorisation on every route whose path names a producer's objects.

Both producers own one of everything a path can name (product, variant, photo, certificate,
evaluation, lot, trace event, stamp run, stamps, membership). Signed in as A's manager, member
and helper, every route of the URL map under /manage/<producer_id> is requested, GET and POST,
(1) with every id taken from B, and (2) with A's producer id and every other id taken from B.
Each answer is a 404 (or a 403 where the role may not do this on any lot, whoever owns it) that
shows nothing of B (its lot code, stamp codes, product name), and the database is unchanged.
Routes are read from the URL map, so a new route is covered at once. POSTs carry every field a
form anywhere reads, photos and a logo included: if authorisation slipped, the change would land.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core.db import db
from core.security import limiter
from tests.conftest import login
from tests.cooperatives.catalog_helpers import jpeg_with_gps
from tests.hardening.world import (
    ARGUMENT,
    FORM,
    build_world,
    fill,
    methods,
    path_values,
    rules,
)
from tests.snapshots import database_snapshot

PREFIX = "/manage/<int:producer_id>"
FILE_FIELDS = ("photos", "photo", "logo", "upload")
# Serials are numbered per producer (B's serial 1 is A's serial 1 too): not an id of B's alone.
PER_PRODUCER = {"serial"}


@pytest.fixture
def world(app):
    with app.app_context():
        built = build_world()
        B_product = db.session.scalar(
            select(db.metadata.tables["product"].c.name_vi).where(
                db.metadata.tables["product"].c.id == built.b.ids["product_id"]
            )
        )
    built.extra["b_product_name"] = B_product
    return built


def _secrets_of_b(world) -> list[str]:
    return [world.b.lot_code, world.extra["b_product_name"], *world.b.codes[:3]]


def _request(client, method: str, url: str):
    limiter.reset()  # the hourly photo budget is not what this test is about
    if method == "GET":
        return client.get(url, query_string={"kind": "harvesting", "serial": "1"})
    files = {name: (io.BytesIO(jpeg_with_gps()), f"{name}.jpg") for name in FILE_FIELDS}
    return client.post(url, data={**FORM, **files}, content_type="multipart/form-data")


@pytest.mark.parametrize("role", ["manager", "member", "helper"])
def test_no_route_of_a_member_of_a_reaches_an_object_of_b(app, world, role):
    client = app.test_client()
    login(client, world.users[role])
    own, theirs = path_values(world.a, world), path_values(world.b, world)
    with app.app_context():
        before = database_snapshot()
    producer_rules = [r for r in rules(app) if r.rule.startswith(PREFIX)]
    assert len(producer_rules) >= 30, [r.rule for r in producer_rules]
    tried = 0
    for rule in producer_rules:
        names = {
            m.group(2)
            for m in ARGUMENT.finditer(rule.rule)
            if not (m.group(1) or "").startswith("any(")
        }
        mixed = {**own, **{n: theirs[n] for n in names - {"producer_id"} - PER_PRODUCER}}
        urls = [fill(rule.rule, theirs, rule.endpoint)]
        if names - {"producer_id"} - PER_PRODUCER:
            urls.append(fill(rule.rule, mixed, rule.endpoint))
        for url in urls:
            for method in methods(rule):
                response = _request(client, method, url)
                allowed = (404,) if url == urls[0] or role == "manager" else (403, 404)
                assert response.status_code in allowed, (role, method, url, response.status_code)
                body = response.get_data(as_text=True)
                for secret in _secrets_of_b(world):
                    assert secret not in body, (role, method, url, secret)
                tried += 1
    switch = client.get(f"/manage/go?producer_id={world.b.ids['producer_id']}")
    assert switch.status_code == 404  # nor can the producer switch open B
    with app.app_context():
        assert database_snapshot() == before
    assert tried >= 70


def test_the_same_requests_with_a_own_ids_are_answered(app, world):
    """Not vacuous: with A's own ids, A's manager gets past authorisation on every GET."""
    client = app.test_client()
    login(client, world.users["manager"])
    own = path_values(world.a, world)
    for rule in rules(app):
        if rule.rule.startswith(PREFIX) and "GET" in rule.methods:
            response = _request(client, "GET", fill(rule.rule, own, rule.endpoint))
            assert response.status_code in (200, 303), (rule.rule, response.status_code)


def test_other_routes_naming_a_lot_or_key_refuse_a_producer_manager(app, world):
    """Routes outside /manage that take an id (authority recall, API key revocation, council
    pages) refuse a producer's manager whatever the id."""
    client = app.test_client()
    login(client, world.users["manager"])
    theirs = path_values(world.b, world)
    with app.app_context():
        before = database_snapshot()
    for rule in rules(app):
        if not rule.rule.startswith(("/recalls/", "/admin/", "/council/")):
            continue
        if not ARGUMENT.search(rule.rule):
            continue
        for method in methods(rule):
            response = _request(client, method, fill(rule.rule, theirs, rule.endpoint))
            assert response.status_code in (403, 404), (method, rule.rule, response.status_code)
    with app.app_context():
        assert database_snapshot() == before
