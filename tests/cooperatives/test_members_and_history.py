"""Members and community helpers: invited by phone, attributed in the history, removable."""

from __future__ import annotations

from sqlalchemy import select

from accounts.models import User
from cooperatives.models import Membership
from core.db import db
from tests.conftest import login
from tests.cooperatives.catalog_helpers import household
from tests.factories import add_member, make_producer, make_user


def _household(app, **kwargs) -> dict:
    with app.app_context():
        ids = household(**kwargs)
        db.session.commit()
        return ids


def test_manager_adds_a_helper_by_phone_and_a_passwordless_account_is_made(app, client):
    ids = _household(app, helper=False)
    login(client, ids["manager"])
    response = client.post(
        f"/manage/{ids['producer']}/members",
        data={"phone": "0987 654 321", "name": "Anh Tuấn", "role": "helper"},
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "+84987654321"))
        assert user.name == "Anh Tuấn"
        assert user.password_hash is None  # signs in with a one-time code
        membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        assert (membership.producer_id, membership.role) == (ids["producer"], "helper")
        assert membership.invited_by_id == ids["manager"]


def test_adding_someone_twice_or_a_bad_phone_is_refused_and_kept(app, client):
    ids = _household(app)
    login(client, ids["manager"])
    with app.app_context():
        tuan_phone = db.session.get(User, ids["helper"]).phone
    again = client.post(
        f"/manage/{ids['producer']}/members", data={"phone": tuan_phone, "role": "helper"}
    )
    assert again.status_code == 422
    assert "đã ở trong danh sách" in again.get_data(as_text=True)
    bad = client.post(
        f"/manage/{ids['producer']}/members",
        data={"phone": "123", "name": "Chị Thu", "role": "member"},
    )
    assert bad.status_code == 422
    assert 'value="Chị Thu"' in bad.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Membership)).all()) == 2


def test_a_helper_sees_every_household_that_invited_them_and_a_banner(app, client):
    with app.app_context():
        tuan = make_user(name="Anh Tuấn")
        names = []
        for n in range(3):
            manager = make_user(name=f"Chủ hộ {n}")
            producer = make_producer(name=f"Hộ Rau {n}", kind="hkd", manager=manager)
            add_member(tuan, producer, "helper")
            names.append((producer.id, producer.name))
        make_producer(name="Hộ không mời", kind="hkd", manager=make_user())
        db.session.commit()
        tuan_id = tuan.id
    login(client, tuan_id)
    dashboard = client.get("/manage").get_data(as_text=True)
    for _id, name in names:
        assert name in dashboard
    assert "Hộ không mời" not in dashboard
    producer_id, name = names[0]
    for path in ("", "/products", "/products/new", "/members", "/history", "/profile"):
        page = client.get(f"/manage/{producer_id}{path}")
        assert page.status_code == 200, path
        assert f"Bạn đang nhập thay cho {name}" in page.get_data(as_text=True), path


def test_history_names_the_helper_who_typed_for_the_household(app, client):
    ids = _household(app)
    login(client, ids["helper"])
    response = client.post(
        f"/manage/{ids['producer']}/products/new",
        data={"name_vi": "Rau cải", "category_code": "1.1"},
    )
    assert response.status_code == 302
    login(client, ids["manager"])
    history = client.get(f"/manage/{ids['producer']}/history").get_data(as_text=True)
    assert "Anh Tuấn nhập thay cho Hộ Nguyễn Văn A: thêm sản phẩm Rau cải" in history


def test_a_household_removes_its_helper_who_loses_access_at_once(app, client):
    ids = _household(app)
    helper_client = app.test_client()
    login(helper_client, ids["helper"])
    assert helper_client.get(f"/manage/{ids['producer']}").status_code == 200
    login(client, ids["manager"])
    response = client.post(f"/manage/{ids['producer']}/members/{ids['helper_membership']}/remove")
    assert response.status_code == 302
    assert helper_client.get(f"/manage/{ids['producer']}").status_code == 404
    created = helper_client.post(
        f"/manage/{ids['producer']}/products/new", data={"name_vi": "Rau lén"}
    )
    assert created.status_code == 404
    with app.app_context():
        membership = db.session.get(Membership, ids["helper_membership"])
        assert membership.ended_at is not None  # kept for the history
    history = client.get(f"/manage/{ids['producer']}/history").get_data(as_text=True)
    assert "gỡ Anh Tuấn" in history
    assert "Rau lén" not in client.get(f"/manage/{ids['producer']}/products").get_data(as_text=True)


def test_a_helper_may_leave_but_cannot_manage_members(app, client):
    ids = _household(app)
    login(client, ids["helper"])
    refused = client.post(
        f"/manage/{ids['producer']}/members", data={"phone": "0987654321", "role": "helper"}
    )
    assert refused.status_code == 403
    with app.app_context():
        manager_membership = db.session.scalar(
            select(Membership.id).where(Membership.user_id == ids["manager"])
        )
    assert (
        client.post(f"/manage/{ids['producer']}/members/{manager_membership}/remove").status_code
        == 403
    )
    assert (
        client.post(
            f"/manage/{ids['producer']}/members/{manager_membership}/role", data={"role": "member"}
        ).status_code
        == 403
    )
    left = client.post(f"/manage/{ids['producer']}/members/{ids['helper_membership']}/remove")
    assert left.status_code == 302
    assert client.get(f"/manage/{ids['producer']}").status_code == 404


def test_a_producer_never_loses_its_last_manager(app, client):
    ids = _household(app, helper=False)
    login(client, ids["manager"])
    with app.app_context():
        own = db.session.scalar(select(Membership.id).where(Membership.user_id == ids["manager"]))
    demote = client.post(f"/manage/{ids['producer']}/members/{own}/role", data={"role": "member"})
    assert demote.status_code == 302
    leave = client.post(f"/manage/{ids['producer']}/members/{own}/remove")
    assert leave.status_code == 302
    with app.app_context():
        membership = db.session.get(Membership, own)
        assert (membership.role, membership.ended_at) == ("manager", None)
    page = client.get(f"/manage/{ids['producer']}/members").get_data(as_text=True)
    assert "cần ít nhất một người quản lý" in page
