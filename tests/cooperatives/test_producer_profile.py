"""Producer profiles: who can create one, what is validated, what is kept on error."""

from __future__ import annotations

from sqlalchemy import func, select

from accounts.models import AuditEntry
from cooperatives.models import Membership, Producer
from core.db import db
from tests.conftest import login
from tests.factories import make_user

VALID = {
    "name": "HTX Cam Cao Phong",
    "kind": "htx",
    "tax_code": "5400123456",
    "province_code": "25",
    "ward_code": "5089",
    "street": "Xóm Cải",
    "phone": "0912 345 678",
    "email": "Lan@Example.VN",
    "story": "Cam trồng trên đồi.",
    "bank_bin": "970405",
    "bank_account": "1234 5678 90",
    "bank_account_name": "HTX CAM CAO PHONG",
    "gs1_prefix": "8931234",
}


def _user(app, **kwargs) -> int:
    with app.app_context():
        user = make_user(**kwargs)
        db.session.commit()
        return user.id


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_signed_in_user_creates_a_producer_and_becomes_its_manager(app, client):
    user_id = _user(app, name="Bà Lan")
    login(client, user_id)
    response = client.post("/manage/new", data=VALID)
    assert response.status_code == 302
    with app.app_context():
        producer = db.session.scalar(select(Producer))
        assert producer.slug == "htx-cam-cao-phong"
        assert producer.phone == "+84912345678"
        assert producer.email == "lan@example.vn"
        assert producer.bank_account == "1234567890"
        assert response.headers["Location"].endswith(f"/manage/{producer.id}")
        membership = db.session.scalar(select(Membership))
        assert (membership.user_id, membership.role) == (user_id, "manager")
        entry = db.session.scalar(select(AuditEntry))
        assert (entry.action, entry.actor_id, entry.producer_id) == (
            "producer.create",
            user_id,
            producer.id,
        )
        assert entry.actor_role == "manager"


def test_dashboard_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/manage")
    assert response.status_code in (302, 401)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]


def test_tax_code_must_be_ten_digits_or_ten_dash_three(app, client):
    login(client, _user(app))
    for bad in ("12345", "01012345678", "0101234567-01", "010123456A"):
        response = client.post("/manage/new", data={**VALID, "tax_code": bad})
        assert response.status_code == 422, bad
        assert "Mã số thuế gồm 10 chữ số" in response.get_data(as_text=True)
    assert _count(app, Producer) == 0
    assert (
        client.post("/manage/new", data={**VALID, "tax_code": "0101234567-001"}).status_code == 302
    )
    with app.app_context():
        assert db.session.scalar(select(Producer.tax_code)) == "0101234567-001"


def test_phone_is_validated_and_normalised(app, client):
    login(client, _user(app))
    response = client.post("/manage/new", data={**VALID, "phone": "12345"})
    assert response.status_code == 422
    assert "Số điện thoại Việt Nam chưa đúng" in response.get_data(as_text=True)
    assert _count(app, Producer) == 0
    client.post("/manage/new", data={**VALID, "phone": "84 912.345.678"})
    with app.app_context():
        assert db.session.scalar(select(Producer.phone)) == "+84912345678"


def test_commune_must_belong_to_the_chosen_province(app, client):
    login(client, _user(app))
    # 15865 is Xã Hoằng Hóa in Thanh Hóa (38), not in Phú Thọ (25)
    response = client.post("/manage/new", data={**VALID, "ward_code": "15865"})
    assert response.status_code == 422
    assert "không thuộc tỉnh" in response.get_data(as_text=True) or "Vui lòng chọn xã" in (
        response.get_data(as_text=True)
    )
    assert _count(app, Producer) == 0


def test_every_error_is_shown_at_once_and_typed_values_stay(app, client):
    login(client, _user(app))
    data = {**VALID, "tax_code": "12", "bank_bin": "9704", "gs1_prefix": "12", "email": "lan@"}
    response = client.post("/manage/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Mã số thuế gồm",
        "Mã ngân hàng (BIN) gồm 6 chữ số",
        "GS1 gồm 7 đến 12",
        "e-mail chưa đúng",
    ):
        assert message in html
    assert 'value="HTX Cam Cao Phong"' in html
    assert 'value="Xóm Cải"' in html
    assert "Cam trồng trên đồi." in html
    assert _count(app, Producer) == 0


def test_without_javascript_choosing_a_province_lists_its_communes_and_saves_nothing(app, client):
    login(client, _user(app))
    data = {**VALID, "province_code": "38", "ward_code": "", "pick_province": "1"}
    response = client.post("/manage/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Xã Hoằng Hóa" in html
    assert "Xã Cao Phong" not in html
    assert 'value="HTX Cam Cao Phong"' in html
    assert _count(app, Producer) == 0


def test_communes_of_a_province_as_json(client):
    response = client.get("/api/v1/places/provinces/25/wards")
    assert response.status_code == 200
    wards = {w["code"]: w["name"] for w in response.json["wards"]}
    assert wards[5089] == "Xã Cao Phong"
    assert 15865 not in wards
    missing = client.get("/api/v1/places/provinces/999/wards")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"


def test_slug_is_unique_and_stays_when_the_name_changes(app, client):
    with app.app_context():
        user = make_user()
        db.session.add(
            Producer(
                slug="htx-cam-cao-phong", name="Khác", kind="htx", province_code=25, ward_code=5089
            )
        )
        db.session.commit()
        user_id = user.id
    login(client, user_id)
    client.post("/manage/new", data=VALID)
    with app.app_context():
        producer = db.session.scalar(select(Producer).where(Producer.name == VALID["name"]))
        assert producer.slug == "htx-cam-cao-phong-2"
        producer_id = producer.id
    response = client.post(f"/manage/{producer_id}/profile", data={**VALID, "name": "HTX Cam Mới"})
    assert response.status_code == 302
    with app.app_context():
        producer = db.session.get(Producer, producer_id)
        assert (producer.name, producer.slug) == ("HTX Cam Mới", "htx-cam-cao-phong-2")


def test_bank_details_come_complete_or_not_at_all(app, client):
    login(client, _user(app))
    response = client.post(
        "/manage/new", data={**VALID, "bank_account": "", "bank_account_name": ""}
    )
    assert response.status_code == 422
    assert "Nhập đủ mã ngân hàng" in response.get_data(as_text=True)
    data = {**VALID, "bank_bin": "", "bank_account": "", "bank_account_name": ""}
    assert client.post("/manage/new", data=data).status_code == 302


def test_a_post_without_csrf_token_is_refused_and_saves_nothing(app, client):
    login(client, _user(app))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/manage/new", data=VALID)
        assert response.status_code == 400
        form = client.get("/manage/new").get_data(as_text=True)
        assert 'name="csrf_token"' in form
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _count(app, Producer) == 0


def test_a_logo_is_stored_without_metadata_and_replaces_the_old_one(app, client):
    import io

    from PIL import Image

    from core.images import image_path
    from tests.cooperatives.catalog_helpers import jpeg_with_gps

    login(client, _user(app))
    data = {**VALID, "logo": (io.BytesIO(jpeg_with_gps()), "logo.jpg")}
    assert (
        client.post("/manage/new", data=data, content_type="multipart/form-data").status_code == 302
    )
    with app.app_context():
        producer = db.session.scalar(select(Producer))
        first_key, producer_id = producer.logo_key, producer.id
        with Image.open(image_path(first_key, "full")) as logo:
            assert not logo.getexif()
    data = {**VALID, "logo": (io.BytesIO(b"GIF89a not really"), "logo.jpg")}
    refused = client.post(
        f"/manage/{producer_id}/profile", data=data, content_type="multipart/form-data"
    )
    assert refused.status_code == 422
    data = {**VALID, "logo": (io.BytesIO(jpeg_with_gps()), "new.jpg")}
    client.post(f"/manage/{producer_id}/profile", data=data, content_type="multipart/form-data")
    with app.app_context():
        new_key = db.session.get(Producer, producer_id).logo_key
        assert new_key != first_key
        assert image_path(first_key, "full") is None
        assert image_path(new_key, "full") is not None
    page = client.get(f"/c/{VALID['name'].lower().replace(' ', '-')}").get_data(as_text=True)
    assert (
        f'<meta property="og:image" content="https://choque.test/media/{new_key}/full.webp">'
        in page
    )
    assert '<meta property="og:url" content="https://choque.test/c/htx-cam-cao-phong">' in page
