"""The GS1 conformance tally: `test_s<N>_…` in test_gs1_conformance.py checks statement N; the
terminal summary says how many applicable statements pass (all of a statement's tests passed)
and which were not applicable (skipped with the reason)."""

from __future__ import annotations

import re

import pytest

_STATEMENT = re.compile(r"test_gs1_conformance\.py::test_s(\d+)_")
_outcomes: dict[int, set[str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    found = _STATEMENT.search(report.nodeid)
    if found is None:
        return
    if report.when == "call" or report.outcome != "passed":
        _outcomes.setdefault(int(found.group(1)), set()).add(report.outcome)


def pytest_terminal_summary(terminalreporter) -> None:
    if not _outcomes:
        return
    skipped = sorted(n for n, seen in _outcomes.items() if seen == {"skipped"})
    applicable = sorted(n for n in _outcomes if n not in skipped)
    passing = [n for n in applicable if _outcomes[n] == {"passed"}]
    failing = [n for n in applicable if n not in passing]
    line = (
        f"GS1-Conformant Resolver 1.0: {len(passing)} of {len(applicable)} applicable "
        f"statements pass; not applicable: {', '.join(f'S{n}' for n in skipped) or 'none'}"
    )
    if failing:
        line += f"; failing: {', '.join(f'S{n}' for n in failing)}"
    terminalreporter.write_line(line)
