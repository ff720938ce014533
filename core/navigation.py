"""Links between packages, registered by the package that owns the page.

A lower package's template never names a higher package's endpoint: it leaves a slot
(`nav_links('producer.nav')`) that packages fill in their `init_app`, the way they add API paths
to `core.openapi`. Slots in use:

- `site`: the header of every page (`base.html`), for signed-in people;
- `site.anonymous`: the header for visitors who are not signed in;
- `site.footer`: the footer of every page (open data and the like);
- `producer.nav`: the bar of a producer's management pages, after its products;
- `producer.tiles`: the tiles of a producer's home page, after "add a product";
- `lot.links`: links under the title of a lot's page (traceability), e.g. the lot's orders.

Links whose endpoint takes `producer_id` get the page's producer; on a lot's page, links whose
endpoint takes `batch_id` also get the lot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, url_for

EXTENSION = "navigation"


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: Any  # a lazy string: translated when the page renders
    order: int = 100
    method: str = "get"  # "post": a button in a small form (sign out)
    shown: Callable[[], bool] | None = None  # asked at render time (e.g. only for councils)

    def url(self, **values: Any) -> str:
        rule = next(iter(current_app.url_map.iter_rules(self.endpoint)), None)
        wanted = {k: v for k, v in values.items() if rule is not None and k in rule.arguments}
        return url_for(self.endpoint, **wanted)


def add_link(
    app: Flask,
    slot: str,
    endpoint: str,
    label: Any,
    *,
    order: int = 100,
    method: str = "get",
    shown: Callable[[], bool] | None = None,
) -> None:
    """Called from a package's init_app: show a link to `endpoint` in `slot`."""
    slots = app.extensions.setdefault(EXTENSION, {})
    slots.setdefault(slot, []).append(NavLink(endpoint, label, order, method, shown))
    slots[slot].sort(key=lambda link: link.order)


def nav_links(slot: str) -> list[NavLink]:
    """The links of a slot, in order, that are registered and shown to this request."""
    links = current_app.extensions.get(EXTENSION, {}).get(slot, [])
    return [link for link in links if link.shown is None or link.shown()]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nav_links"] = nav_links
