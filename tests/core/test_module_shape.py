"""The shape of the code, read from the source: no module over ~500 lines in the six packages,
and no queries in views or API routes (they call services, which hold the queries)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "accounts", "cooperatives", "traceability", "shop", "partners")
MAX_LINES = 500
# Modules allowed past MAX_LINES, each with the reason. Empty: every module fits today.
LONG_MODULES: dict[str, str] = {}
QUERY = re.compile(r"\bdb\.session\.|\bselect\(")


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _is_route_module(path: Path) -> bool:
    return path.name.endswith("views.py") or path.name == "api.py"


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """Lines of code, without comments (a comment may name a query it does not run)."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        code = line.split("#", 1)[0]
        if code.strip():
            found.append((number, code))
    return found


def test_the_packages_are_all_read():
    names = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert "cooperatives/views.py" in names
    assert "traceability/lots/views.py" in names
    assert "traceability/lots/api.py" in names


def test_no_module_is_longer_than_500_lines():
    long = {}
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and name not in LONG_MODULES:
            long[name] = lines
    assert long == {}, f"split these into cohesive modules: {long}"


def test_the_exceptions_are_still_needed():
    for name in LONG_MODULES:
        path = ROOT / name
        assert path.exists(), f"{name} is gone: remove it from LONG_MODULES"
        assert len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES, name


def test_views_and_api_routes_run_no_queries_of_their_own():
    queries = []
    for path in filter(_is_route_module, _modules()):
        for number, code in _code_lines(path):
            if QUERY.search(code):
                queries.append(f"{path.relative_to(ROOT).as_posix()}:{number}: {code.strip()}")
    assert queries == [], "move these queries into a service:\n" + "\n".join(queries)


def test_the_query_check_finds_a_query():
    assert QUERY.search("    rows = db.session.scalars(select(Product))")
    assert QUERY.search("    product = db.session.get(Product, product_id)")
    assert not QUERY.search("    items = products.list_products(producer_id)")
