"""Partner accounts: created by the CLI and the admin page through accounts' one key mechanism,
keys prefixed and hashed, revocable, rotated with an overlap, limited per key; producers opt in."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import select, update

from accounts.models import ApiKey
from core.db import db, utcnow
from partners import services
from partners.models import FeedChange, PartnerKey
from tests.conftest import login
from tests.factories import make_producer, make_product, make_user
from tests.partners.conftest import bearer

KEY = re.compile(r"cq_[a-z0-9]{8}_[A-Za-z0-9]{40}")
FEED = "/api/v1/feeds/products"


def test_cli_creates_a_partner_and_prints_its_key_once(app, runner):
    result = runner.invoke(
        args=["partners", "create", "Voso", "--scopes", "feeds:read,orders:write"]
    )

    assert result.exit_code == 0, result.output
    plain = KEY.search(result.output).group(0)
    with app.app_context():
        key = db.session.scalar(select(ApiKey).where(ApiKey.name == "Voso"))
        assert key.scopes == ["feeds:read", "orders:write"]
        assert key.key_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert db.session.scalar(select(PartnerKey).where(PartnerKey.api_key_id == key.id))
    listing = runner.invoke(args=["partners", "list"])
    assert "Voso" in listing.output and plain not in listing.output


def test_cli_refuses_bad_scopes_and_changes_nothing(app, runner):
    result = runner.invoke(args=["partners", "create", "Voso", "--scopes", "feeds read!"])

    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(ApiKey)) is None


def test_feed_answers_problem_json_for_bad_missing_and_revoked_keys(app, client, partner):
    partner_id, plain = partner
    assert client.get(FEED).status_code == 401
    wrong = client.get(FEED, headers=bearer(plain[:-1] + ("A" if plain[-1] != "A" else "B")))
    assert wrong.status_code == 401
    assert wrong.mimetype == "application/problem+json"
    with app.app_context():
        key_id = db.session.scalar(select(PartnerKey.api_key_id))
        services.revoke_key(partner_id, key_id)
        db.session.commit()
    revoked = client.get(FEED, headers=bearer(plain))
    assert revoked.status_code == 401
    assert revoked.mimetype == "application/problem+json"


def test_missing_scope_is_403(app, client):
    with app.app_context():
        _partner, _key, plain = services.create_partner("Cổng tỉnh", "orders:write")
        db.session.commit()
    response = client.get(FEED, headers=bearer(plain))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_rotation_keeps_the_old_key_working_until_the_overlap_ends(app, client, partner):
    partner_id, old_plain = partner
    with app.app_context():
        old_id = db.session.scalar(select(PartnerKey.api_key_id))
        _new, new_plain = services.rotate_key(partner_id, old_id, overlap=timedelta(hours=1))
        db.session.commit()
    assert client.get(FEED, headers=bearer(old_plain)).status_code == 200
    assert client.get(FEED, headers=bearer(new_plain)).status_code == 200
    with app.app_context():
        db.session.execute(
            update(ApiKey).where(ApiKey.id == old_id).values(expires_at=utcnow() - timedelta(1))
        )
        db.session.commit()
    expired = client.get(FEED, headers=bearer(old_plain))
    assert expired.status_code == 401
    assert expired.mimetype == "application/problem+json"
    assert client.get(FEED, headers=bearer(new_plain)).status_code == 200


def test_each_key_has_its_own_rate_limit(build_app):
    limited = build_app()
    with limited.app_context():
        _p, _k, plain = services.create_partner("Sàn nhỏ", "feeds:read", rate_limit="2/minute")
        _p, _k, other = services.create_partner("Sàn lớn", "feeds:read")
        db.session.commit()
    client = limited.test_client()
    assert [client.get(FEED, headers=bearer(plain)).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    over = client.get(FEED, headers=bearer(plain))
    assert over.mimetype == "application/problem+json"
    assert client.get(FEED, headers=bearer(other)).status_code == 200


def test_admin_creates_a_partner_and_sees_the_key_once(app, client, ctx):
    admin = make_user(name="Quản trị", admin=True)
    db.session.commit()
    login(client, admin.id)

    bad = client.post("/admin/partners", data={"name": "Postmart", "scopes": "???"})
    assert bad.status_code == 422
    assert 'value="Postmart"' in bad.get_data(as_text=True)

    page = client.post("/admin/partners", data={"name": "Postmart", "scopes": "feeds:read"})
    assert page.status_code == 201
    assert page.headers["Cache-Control"] == "no-store"
    assert KEY.search(page.get_data(as_text=True))
    assert "Postmart" in client.get("/admin/partners").get_data(as_text=True)


def test_non_admin_cannot_manage_partners(app, client, ctx):
    user = make_user(name="Khách")
    db.session.commit()
    login(client, user.id)
    assert client.get("/admin/partners").status_code == 403
    assert (
        client.post("/admin/partners", data={"name": "X", "scopes": "feeds:read"}).status_code
        == 403
    )


def test_producer_manager_opts_in_and_out_and_others_cannot(app, client, partner, ctx):
    partner_id, _plain = partner
    manager = make_user(name="Bà Lan")
    producer = make_producer(manager=manager)
    product = make_product(producer)
    other = make_producer(manager=make_user(name="Người khác"))
    db.session.commit()
    login(client, manager.id)

    page = client.get(f"/manage/{producer.id}/partners")
    assert page.status_code == 200 and "Postmart" in page.get_data(as_text=True)
    client.post(f"/manage/{producer.id}/partners", data={"partner_id": str(partner_id)})
    assert services.opted_in_partner_ids(producer.id) == {partner_id}

    client.post(f"/manage/{producer.id}/partners", data={})
    assert services.opted_in_partner_ids(producer.id) == set()
    reasons = set(
        db.session.scalars(select(FeedChange.reason).where(FeedChange.product_id == product.id))
    )
    assert reasons == {"updated", "opted_in", "withdrawn"}  # updated: the product was created

    assert client.get(f"/manage/{other.id}/partners").status_code == 404
    client.post(f"/manage/{other.id}/partners", data={"partner_id": str(partner_id)})
    assert services.opted_in_partner_ids(other.id) == set()


def test_producer_downloads_its_own_bulk_upload_spreadsheet(app, client, ctx):
    import csv
    import io

    from openpyxl import load_workbook

    from tests.factories import make_certificate

    manager = make_user(name="Bà Lan")
    producer = make_producer(manager=manager)
    product = make_product(producer, name="=Bưởi", gtin="08930000000012", variants=2)
    make_certificate(product, total="80")
    other = make_producer(manager=make_user(name="Người khác"))
    make_product(other, name="Của người khác")
    db.session.commit()
    login(client, manager.id)

    xlsx = client.get(f"/manage/{producer.id}/partners/products.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert len(data) == 2
    row = dict(zip(header, data[0], strict=True))
    assert row["Tên sản phẩm"] == "'=Bưởi"  # never run as a formula
    assert row["Sao OCOP"] == 4 and row["GTIN"] == "08930000000012"
    assert row["Tỉnh/thành"] and row["Xã/phường"]

    text = client.get(f"/manage/{producer.id}/partners/products.csv").get_data(as_text=True)
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == 2 and "Của người khác" not in text

    assert client.get(f"/manage/{other.id}/partners/products.xlsx").status_code == 404


def test_a_keys_limit_lives_in_redis_where_every_worker_reads_it(build_app):
    """With Redis storage (REDIS_URL), a key's count is in Redis: another process (another
    gunicorn worker or host, here a separate limits client) sees the key exhausted too."""
    import os

    import pytest
    from limits import parse
    from limits.storage import storage_from_string
    from limits.strategies import MovingWindowRateLimiter

    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI: Redis must answer on 127.0.0.1:6379", pytrace=False)
        pytest.skip("no Redis on 127.0.0.1:6379")
    limited = build_app(RATELIMIT_STORAGE_URI=url)
    with limited.app_context():
        _p, key, plain = services.create_partner("Sàn chung", "feeds:read", rate_limit="3/minute")
        db.session.commit()
        prefix = key.prefix
    client = limited.test_client()
    answers = [client.get(FEED, headers=bearer(plain)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]

    elsewhere = MovingWindowRateLimiter(storage_from_string(url))
    assert not elsewhere.test(parse("3/minute"), "api_key", prefix)
    assert elsewhere.test(parse("3/minute"), "api_key", "otherkey")
    elsewhere.clear(parse("3/minute"), "api_key", prefix)
    assert client.get(FEED, headers=bearer(plain)).status_code == 200
