"""Members and community helpers: invited by phone and joining only by accepting, attributed in
the history, removable."""

from __future__ import annotations

from sqlalchemy import func, select

from accounts.models import OutboxMessage, User
from cooperatives.models import MemberInvitation, Membership
from core.db import db
from tests.conftest import login
from tests.cooperatives.catalog_helpers import household
from tests.factories import add_member, make_producer, make_user


def _household(app, **kwargs) -> dict:
    with app.app_context():
        ids = household(**kwargs)
        db.session.commit()
        return ids


def _invite(client, producer_id, **data):
    return client.post(f"/manage/{producer_id}/members", data=data)


def test_manager_invites_by_phone_and_the_person_joins_only_by_accepting(app, client):
    ids = _household(app, helper=False)
    with app.app_context():
        stranger = make_user(name="Nguyễn Thị Bí Mật", phone="+84987654321")
        db.session.commit()
        stranger_id = stranger.id
    login(client, ids["manager"])

    response = _invite(
        client, ids["producer"], phone="0987 654 321", name="Anh Tuấn", role="helper"
    )

    assert response.status_code == 302
    page = client.get(f"/manage/{ids['producer']}/members").get_data(as_text=True)
    assert "0987 654 321" in page and "Chờ người này đăng nhập" in page
    assert "Nguyễn Thị Bí Mật" not in page  # nothing about the account is revealed
    with app.app_context():
        assert (
            db.session.scalar(select(Membership).where(Membership.user_id == stranger_id)) is None
        )
        sms = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient == "+84987654321")
        )
        assert "Ho Nguyen Van A" in sms.body or "Hộ Nguyễn Văn A" in sms.body

    invited = app.test_client()
    login(invited, stranger_id)
    dashboard = invited.get("/manage").get_data(as_text=True)
    assert "mời bạn làm" in dashboard
    assert invited.get(f"/manage/{ids['producer']}").status_code == 404  # not yet a member
    with app.app_context():
        invitation_id = db.session.scalar(select(MemberInvitation.id))
    accepted = invited.post(f"/manage/invitations/{invitation_id}/accept")

    assert accepted.status_code == 302
    assert invited.get(f"/manage/{ids['producer']}").status_code == 200
    with app.app_context():
        membership = db.session.scalar(select(Membership).where(Membership.user_id == stranger_id))
        assert (membership.producer_id, membership.role) == (ids["producer"], "helper")
        assert membership.invited_by_id == ids["manager"]


def test_an_unknown_number_gets_no_account_until_it_registers(app, client):
    ids = _household(app, helper=False)
    login(client, ids["manager"])
    before = _users(app)

    assert _invite(client, ids["producer"], phone="0987 000 111", role="member").status_code == 302

    assert _users(app) == before


def test_only_the_invited_number_may_accept_or_decline(app, client):
    ids = _household(app, helper=False)
    login(client, ids["manager"])
    _invite(client, ids["producer"], phone="0987 654 321", role="manager")
    with app.app_context():
        invitation_id = db.session.scalar(select(MemberInvitation.id))
        other = make_user(name="Người khác", phone="+84911111111")
        db.session.commit()
        other_id = other.id
    intruder = app.test_client()
    login(intruder, other_id)

    assert intruder.post(f"/manage/invitations/{invitation_id}/accept").status_code == 404
    assert intruder.post(f"/manage/invitations/{invitation_id}/decline").status_code == 404
    assert "mời bạn làm" not in intruder.get("/manage").get_data(as_text=True)
    assert intruder.get(f"/manage/{ids['producer']}").status_code == 404


def test_a_declined_or_cancelled_invitation_grants_nothing(app, client):
    ids = _household(app, helper=False)
    with app.app_context():
        invited_id = make_user(phone="+84987654321").id
        db.session.commit()
    login(client, ids["manager"])
    _invite(client, ids["producer"], phone="0987654321", role="member")
    with app.app_context():
        first = db.session.scalar(select(MemberInvitation.id))
    invited = app.test_client()
    login(invited, invited_id)
    assert invited.post(f"/manage/invitations/{first}/decline").status_code == 302
    assert invited.post(f"/manage/invitations/{first}/accept").status_code == 404

    _invite(client, ids["producer"], phone="0987654321", role="member")
    with app.app_context():
        second = db.session.scalar(select(func.max(MemberInvitation.id)))
    assert client.post(f"/manage/{ids['producer']}/invitations/{second}/cancel").status_code == 302
    assert invited.post(f"/manage/invitations/{second}/accept").status_code == 404
    assert invited.get(f"/manage/{ids['producer']}").status_code == 404


def test_inviting_a_member_twice_or_a_bad_phone_is_refused_and_kept(app, client):
    ids = _household(app)
    login(client, ids["manager"])
    with app.app_context():
        tuan_phone = db.session.get(User, ids["helper"]).phone
    again = _invite(client, ids["producer"], phone=tuan_phone, role="helper")
    assert again.status_code == 422
    assert "đã ở trong danh sách" in again.get_data(as_text=True)
    assert _invite(client, ids["producer"], phone="0987654321", role="member").status_code == 302
    pending = _invite(client, ids["producer"], phone="0987 654 321", role="member")
    assert pending.status_code == 422
    assert "đang chờ người đó nhận lời" in pending.get_data(as_text=True)
    bad = _invite(client, ids["producer"], phone="123", name="Chị Thu", role="member")
    assert bad.status_code == 422
    assert 'value="Chị Thu"' in bad.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Membership)).all()) == 2
        assert len(db.session.scalars(select(MemberInvitation)).all()) == 1


def _users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


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
