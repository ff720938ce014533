"""`make test` ends with one summary line; a PostgreSQL pass that did not run is said loudly."""

from __future__ import annotations

import pytest

from tests import run


@pytest.fixture
def passes(monkeypatch):
    calls: list[tuple[str, ...]] = []

    def fake_pytest(*args: str) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(run, "pytest", fake_pytest)
    monkeypatch.delenv("CI", raising=False)
    return calls


def test_a_skipped_postgresql_pass_is_the_loud_last_line(monkeypatch, capsys, passes):
    monkeypatch.setattr(run, "postgres_reachable", lambda: False)
    assert run.main() == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "POSTGRESQL PASS SKIPPED" in last and "DID NOT RUN" in last
    assert len(passes) == 1


def test_a_skipped_postgresql_pass_fails_in_ci(monkeypatch, capsys, passes):
    monkeypatch.setattr(run, "postgres_reachable", lambda: False)
    monkeypatch.setenv("CI", "true")
    assert run.main() == 1
    assert "POSTGRESQL PASS SKIPPED" in capsys.readouterr().out.strip().splitlines()[-1]


def test_both_passes_are_named_in_the_last_line(monkeypatch, capsys, passes):
    monkeypatch.setattr(run, "postgres_reachable", lambda: True)
    assert run.main() == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "make test: SQLite pass passed · PostgreSQL pass passed"
    assert [args[0] for args in passes] == ["--db=sqlite", "--db=postgresql"]
