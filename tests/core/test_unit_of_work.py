"""One unit of work: commit once on success, roll back on any error, side effects after commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accounts.models import User
from core.db import after_commit, after_rollback, db, unit_of_work
from core.numbers import parse_id, parse_int
from core.urls import public_url
from tests.factories import make_user


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_work_that_succeeds_is_committed_and_its_side_effects_run(ctx):
    ran = []
    with unit_of_work():
        make_user(phone="0912000001")
        after_commit(lambda: ran.append("purged"))
        assert ran == []
    db.session.rollback()  # nothing left to lose: it was committed
    assert _users() == 1
    assert ran == ["purged"]


def test_work_that_fails_leaves_nothing_and_runs_no_side_effect(ctx):
    ran = []
    with pytest.raises(RuntimeError), unit_of_work():
        make_user(phone="0912000002")
        after_commit(lambda: ran.append("purged"))
        raise RuntimeError("boom")
    assert _users() == 0
    assert ran == []
    with unit_of_work():  # a later unit does not inherit the forgotten callback
        pass
    assert ran == []


def test_nested_units_commit_once_at_the_outermost(ctx):
    with pytest.raises(RuntimeError), unit_of_work():
        with unit_of_work():
            make_user(phone="0912000003")
        raise RuntimeError("the outer unit fails after the inner one finished")
    assert _users() == 0


def test_files_stored_for_work_that_fails_are_removed_and_kept_when_it_lands(ctx):
    removed = []
    with pytest.raises(RuntimeError), unit_of_work():
        after_rollback(lambda: removed.append("new photo"))
        raise RuntimeError("the rows did not land")
    assert removed == ["new photo"]
    with unit_of_work():
        after_rollback(lambda: removed.append("kept photo"))
    assert removed == ["new photo"]


class Refused(Exception):
    pass


def test_work_named_in_commit_on_lands_before_its_error_propagates(ctx):
    ran = []
    with pytest.raises(Refused), unit_of_work(commit_on=Refused):
        make_user(phone="0912000004")  # a counted attempt
        after_commit(lambda: ran.append("sent"))
        raise Refused()
    db.session.rollback()
    assert _users() == 1
    assert ran == ["sent"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        ("²", None),
        ("٣", None),
        ("1e3", None),
        ("", None),
        ("99999999999999999999999", None),
        ("2147483648", None),
        ("-1", None),
        ("0", None),
    ],
)
def test_ids_from_the_outside_world_are_ascii_and_bounded(text, expected):
    assert parse_id(text) == expected


def test_parse_int_honours_bounds_and_sign():
    assert parse_int("-5", minimum=-10) == -5
    assert parse_int("11", maximum=10) is None
    assert parse_int(True) is None


def test_public_url_is_absolute_on_the_public_host(app):
    with app.test_request_context():
        assert public_url("/s/ABC") == "https://choque.test/s/ABC"
        assert public_url("p/x") == "https://choque.test/p/x"
