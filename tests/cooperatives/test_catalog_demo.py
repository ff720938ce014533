"""The catalog demo: real places, the journeys' products, certificates of every state."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from accounts.models import User
from cooperatives.demo import seed_demo
from cooperatives.models import (
    Membership,
    OcopCertificate,
    OcopEvaluation,
    Producer,
    Product,
    ProductImage,
    Variant,
)
from cooperatives.ocop import certificate_state
from core.db import db
from core.i18n import local_today
from core.images import image_path
from tests.conftest import login


def _counts() -> tuple[int, ...]:
    models = (Producer, Product, Variant, ProductImage, OcopCertificate, OcopEvaluation, Membership)
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in models)


def test_demo_loads_once_and_tells_the_journeys(app, client):
    with app.app_context():
        summary = seed_demo()
        db.session.commit()
        assert "sản phẩm mới" in summary
        first = _counts()
        assert seed_demo().startswith("0 cơ sở mới, 0 sản phẩm mới, 0 chứng nhận OCOP mới")
        db.session.commit()
        assert _counts() == first

        cam = db.session.scalar(select(Product).where(Product.slug == "cam-cao-phong-loai-1"))
        assert cam.gtin == "08931234567897"
        assert cam.status == "published"
        assert [v.label for v in cam.variants] == ["thùng 5 kg", "thùng 10 kg"]
        assert len(cam.images) == 3
        assert image_path(cam.images[0].key, "card") is not None
        producer = cam.producer
        assert (producer.province_code, producer.ward_code) == (25, 5089)
        roles = {
            m.user.phone: m.role
            for m in db.session.scalars(
                select(Membership).where(Membership.producer_id == producer.id)
            )
        }
        assert roles == {"+84912000001": "manager", "+84912000006": "member"}

        tuan = db.session.scalar(select(User).where(User.phone == "+84912000002"))
        households = db.session.scalars(
            select(Producer)
            .join(Membership, Membership.producer_id == Producer.id)
            .where(Membership.user_id == tuan.id, Membership.role == "helper")
        ).all()
        assert len(households) >= 4
        assert all(h.province_code == 38 for h in households)
        names = set(db.session.scalars(select(Product.name_vi)))
        assert {"Rau cải ngọt", "Mồng tơi", "Dưa lê Hoằng Hóa", "Bí đao"} <= names

        today = local_today()
        states = {certificate_state(c, today) for c in db.session.scalars(select(OcopCertificate))}
        assert {"expiring", "expired", "revoked"} <= states
        lan_certificate = db.session.scalar(
            select(OcopCertificate).where(OcopCertificate.decision_number == "1234/QĐ-UBND")
        )
        assert (lan_certificate.stars, lan_certificate.total_score) == (4, 80)
        assert lan_certificate.issuing_authority == "UBND tỉnh Hòa Bình"
        assert lan_certificate.valid_until == date(2027, 3, 15)
        evaluation = db.session.scalar(select(OcopEvaluation))
        assert (evaluation.province_code, evaluation.status) == (25, "submitted")
        household_id = db.session.scalar(
            select(Producer.id).where(Producer.name == "Hộ Nguyễn Văn A")
        )
        a_id = db.session.scalar(select(User.id).where(User.phone == "+84912000003"))

    page = client.get("/p/cam-cao-phong-loai-1").get_data(as_text=True)
    if local_today() <= date(2027, 3, 15):
        assert "★★★★" in page and "hiệu lực đến 03/2027" in page
    else:
        assert "★" not in page
    login(client, a_id)
    history = client.get(f"/manage/{household_id}/history").get_data(as_text=True)
    assert "Anh Tuấn nhập thay cho Hộ Nguyễn Văn A: thêm sản phẩm Rau cải ngọt" in history
