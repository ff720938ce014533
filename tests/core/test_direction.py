"""The direction rule holds in templates too: a page of one package links to a higher package's
pages only through the links that package registered (core.navigation)."""

from __future__ import annotations

import re
from pathlib import Path

from core.navigation import nav_links

ROOT = Path(__file__).resolve().parents[2]
ORDER = ("core", "accounts", "cooperatives", "traceability", "shop", "partners")
ENDPOINT = re.compile(r"""(?:url_for|has_endpoint)\(\s*['"]([a-z_]+)\.""")


def _owner(app, blueprint: str) -> str:
    return app.blueprints[blueprint].import_name.split(".")[0]


def test_templates_name_no_endpoint_of_a_higher_package(app):
    wrong = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        folder = path.relative_to(ROOT / "templates").parts
        package = folder[0] if len(folder) > 1 and folder[0] in ORDER else "core"
        for blueprint in ENDPOINT.findall(path.read_text(encoding="utf-8")):
            if blueprint not in app.blueprints:
                continue  # 'static' and the like
            owner = _owner(app, blueprint)
            if ORDER.index(owner) > ORDER.index(package):
                wrong.append(f"{path.relative_to(ROOT)} names {blueprint} ({owner})")
    assert wrong == []


def test_packages_fill_the_slots_of_the_pages_below_them(app):
    with app.test_request_context():
        producer_nav = [link.endpoint for link in nav_links("producer.nav")]
        anonymous = [link.endpoint for link in nav_links("site.anonymous")]
    assert producer_nav == [
        "traceability.batch_list",
        "stamps.runs",
        "fulfilment.orders",
        "fulfilment.stock",
        "transfers.transfers",
        "settlement.overview",
        "partners.producer_partners",
    ]
    assert anonymous == ["cart.show", "accounts.login"]
