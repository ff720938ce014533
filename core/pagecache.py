"""A page cache for anonymous visitors that never serves a page older than the data it shows.

What it does for a view decorated with `@cached_page`:
- a visitor without a session cookie gets the page from the cache when every *tag* the page was
  built from still has the generation it had then (tags name what a page shows:
  `product:42`, `producer:7`, `catalog`, `all`); otherwise the view runs and its page is kept;
- every answer carries a strong `ETag` and a `Last-Modified`, so `If-None-Match` /
  `If-Modified-Since` get a 304 with no body; anonymous answers are `public, max-age=…,
  stale-while-revalidate=…` (a proxy may keep them that long), anyone with a session cookie gets
  `private, no-cache`;
- the key holds the path, the allowed query arguments, the locale and today's date in
  Asia/Ho_Chi_Minh (a certificate lapsing at midnight changes the page with no write at all).

How pages are invalidated: a domain declares which of its models show on public pages and under
which tags (`track(Product, tags_of_product)`); every ORM flush that adds, changes or deletes
such an object collects its tags, and the commit bumps their generations (a rollback forgets
them). Writes that bypass the ORM, or things no model records (stock from an outside system),
call `invalidate(*tags)`: after the current transaction commits, or at once outside one.

Where generations live: Redis when `REDIS_URL` is set (`PAGE_CACHE=redis`: pages and
generations shared by every worker and host); otherwise each worker keeps its own pages and all
workers of the host share one *epoch*, a file in instance/ that grows by a byte on every change
(`PAGE_CACHE=local`: any change empties every worker's cache; correct on one host only — several
hosts need Redis). `PAGE_CACHE=off` turns it off (the default under tests).

No lie in a race: the store's sequence number is read before the view reads the database, and
read again with the tags' generations once the page is built; if anything changed in between,
the page is sent but not kept. With a read replica (core/replica.py) the primary's WAL position
is noted before every bump, and a page is built from the replica only once it has replayed it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, make_response, request
from flask import session as visitor_session
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.http import http_date

from core import replica
from core.redis_link import RedisLink

EXTENSION = "page_cache"
PENDING = "choque_page_tags"
ALLOWED_ARGS = frozenset({"page", "lang"})  # other arguments (a search) are not cached
LOCAL_MAX_ENTRIES = 2048
NEAR_MAX_ENTRIES = 256  # pages a worker keeps in front of Redis (the hot ones: ≈ 4 MB)
REDIS_TTL = 3600  # seconds a page stays in Redis unread (its tags decide if it is still true)

TagsOf = Callable[[Any], Iterable[str]]
_TRACKED: dict[type, TagsOf] = {}


@dataclass(frozen=True)
class Page:
    body: bytes
    mimetype: str
    etag: str
    built_at: float  # Last-Modified


# --------------------------------------------------------------------------- what to invalidate


def track(model: type, tags_of: TagsOf) -> None:
    """Declare that `model`'s rows show on public pages under `tags_of(instance)`."""
    _TRACKED[model] = tags_of


def invalidate(*tags: str) -> None:
    """Bump these tags' generations once the current transaction commits (at once outside one).

    The hook for writes the ORM does not see — e.g. the shop's stock:
    `invalidate(f"product:{product_id}")`."""
    from core.db import db

    session = db.session()
    if session.in_transaction():
        session.info.setdefault(PENDING, set()).update(tags)
    else:
        _publish(set(tags))


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    if not _TRACKED:
        return
    tags: set[str] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        tags_of = _TRACKED.get(type(instance))
        if tags_of is not None:
            tags.update(tags_of(instance))
    if tags:
        session.info.setdefault(PENDING, set()).update(tags)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    tags = session.info.pop(PENDING, None)
    if tags:
        _publish(tags)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def _publish(tags: set[str]) -> None:
    if not has_app_context():
        return
    # First the primary's WAL position, then the bump: a page built after the bump reads a
    # replica that has replayed this commit, or the primary (core/replica.py).
    replica.note_write()
    store = current_app.extensions.get(EXTENSION)
    if store is not None:
        store.bump(tags)


# --------------------------------------------------------------------------- stores


class LocalStore:
    """Pages kept by this process; one epoch per host (a file's size) that every change grows."""

    name = "local"

    def __init__(self, epoch_file: Path, max_entries: int = LOCAL_MAX_ENTRIES) -> None:
        self.epoch_file = epoch_file
        self.max_entries = max_entries
        self._pages: OrderedDict[Hashable, tuple[Hashable, Page]] = OrderedDict()
        self._lock = threading.Lock()
        epoch_file.parent.mkdir(parents=True, exist_ok=True)
        epoch_file.touch(exist_ok=True)

    def sequence(self) -> Hashable:
        info = os.stat(self.epoch_file)
        return (info.st_ino, info.st_size)

    def get(self, key: str) -> Page | None:
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            if entry[0] != self.sequence():
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return entry[1]

    def put(self, key: str, page: Page, tags: set[str], sequence: Hashable) -> None:
        if self.sequence() != sequence:
            return  # something changed while the page was built
        with self._lock:
            self._pages[key] = (sequence, page)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)

    def bump(self, tags: set[str]) -> None:
        with open(self.epoch_file, "ab") as epoch:  # O_APPEND: one byte, atomic
            epoch.write(b".")

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


class RedisStore(RedisLink):
    """Pages and per-tag generations in Redis, shared by every worker and host.

    Each worker also keeps the pages it served last (`NEAR_MAX_ENTRIES`) with the generations
    they were built at: a hit on that copy is one MGET of the tags' generations (no page sent
    over, no JSON read), and it is checked by the same rule as a page read from Redis."""

    name = "redis"

    def __init__(self, url: str, prefix: str = "choque:") -> None:
        super().__init__(url)
        self.prefix = prefix
        self._near: OrderedDict[str, tuple[list[str], list[int], Page]] = OrderedDict()
        self._lock = threading.Lock()

    def _remember(self, key: str, tags: list[str], gens: list[int], page: Page) -> None:
        with self._lock:
            self._near[key] = (tags, gens, page)
            self._near.move_to_end(key)
            while len(self._near) > NEAR_MAX_ENTRIES:
                self._near.popitem(last=False)

    def _current(self, tags: list[str]) -> list[int]:
        return [int(x or 0) for x in self.client.mget([self._gen(t) for t in tags])] if tags else []

    def _gen(self, tag: str) -> str:
        return f"{self.prefix}gen:{tag}"

    def _page(self, key: str) -> str:
        return f"{self.prefix}page:{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}"

    def sequence(self) -> Hashable:
        return self.client.get(self._gen("*"))

    def get(self, key: str) -> Page | None:
        near = self._near.get(key)
        if near is not None:
            tags, gens, page = near
            if self._current(tags) == gens:
                with self._lock:
                    if key in self._near:
                        self._near.move_to_end(key)
                return page
            with self._lock:
                self._near.pop(key, None)
        raw = self.client.get(self._page(key))
        if raw is None:
            return None
        head, _, body = raw.partition(b"\n")
        meta = json.loads(head)
        tags = meta["tags"]
        if self._current(tags) != meta["gens"]:
            return None
        page = Page(body, meta["mimetype"], meta["etag"], meta["built_at"])
        self._remember(key, tags, meta["gens"], page)
        return page

    def put(self, key: str, page: Page, tags: set[str], sequence: Hashable) -> None:
        ordered = sorted(tags)
        values = self.client.mget([self._gen("*"), *[self._gen(t) for t in ordered]])
        if values[0] != sequence:
            return  # something changed while the page was built
        meta = {
            "tags": ordered,
            "gens": [int(x or 0) for x in values[1:]],
            "mimetype": page.mimetype,
            "etag": page.etag,
            "built_at": page.built_at,
        }
        blob = json.dumps(meta, separators=(",", ":")).encode() + b"\n" + page.body
        self.client.set(self._page(key), blob, ex=REDIS_TTL)
        self._remember(key, ordered, meta["gens"], page)

    def bump(self, tags: set[str]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for tag in sorted(tags):
            pipe.incr(self._gen(tag))
        pipe.incr(self._gen("*"))
        pipe.execute()

    def clear(self) -> None:
        with self._lock:
            self._near.clear()
        for key in self.client.scan_iter(f"{self.prefix}page:*"):
            self.client.delete(key)


def store(app: Flask | None = None) -> LocalStore | RedisStore | None:
    return (app or current_app).extensions.get(EXTENSION)


# --------------------------------------------------------------------------- the decorator


def tag(*tags: str) -> None:
    """Name what the page being built shows (called by the view while it builds it)."""
    g.setdefault("page_tags", set()).update(tags)


def _anonymous() -> bool:
    """No session cookie: not signed in, no flashed message, nothing personal on the page."""
    return current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def _key() -> str | None:
    args = request.args
    if any(name not in ALLOWED_ARGS for name in args):
        return None
    from core.i18n import current_locale, local_today

    query = "&".join(f"{k}={v}" for k, v in sorted(args.items(multi=True)) if k != "lang")
    return f"{current_locale()}|{local_today().isoformat()}|{request.path}?{query}"


def _cache_headers(response: Response, public: bool) -> Response:
    config = current_app.config
    if public:
        response.headers["Cache-Control"] = (
            f"public, max-age={config['PAGE_MAX_AGE']}, "
            f"stale-while-revalidate={config['PAGE_STALE_WHILE_REVALIDATE']}"
        )
    else:
        response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response


def _page_response(page: Page) -> Response:
    response = Response(page.body, mimetype=page.mimetype)
    response.set_etag(page.etag)
    response.headers["Last-Modified"] = http_date(page.built_at)
    return response


def _new_page(response: Response) -> Page:
    body = response.get_data()
    etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    return Page(body, response.mimetype or "text/html", etag, float(int(time.time())))


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve this public GET page from the page cache to anonymous visitors (see above); the
    view names what it shows with `tag(...)`. Anything but a 200 is passed through untouched."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        store_ = store()
        public = _anonymous() and request.method in ("GET", "HEAD")
        reloading = current_app.jinja_env.auto_reload  # templates being edited: never keep
        key = _key() if public and store_ is not None and not reloading else None
        sequence: Hashable = None
        if key is not None:
            try:
                page = store_.get(key)
                if page is not None:
                    response = _page_response(page)
                    return _cache_headers(response, True).make_conditional(request)
                sequence = store_.sequence()
            except Exception:  # the cache server is down: build the page, never a 500
                current_app.logger.warning("page cache unavailable", exc_info=True)
                key = None
        g.page_tags = {"all"}
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or response.direct_passthrough:
            return response
        if visitor_session.modified or response.headers.getlist("Set-Cookie"):
            # The page wrote a session (a CSRF token, a flash): the cookie is set after this, and
            # neither the page nor the cookie may be kept for the next visitor or by a proxy.
            key, public = None, False
        page = _new_page(response)
        if key is not None:
            try:
                store_.put(key, page, g.page_tags, sequence)
            except Exception:
                current_app.logger.warning("page cache unavailable", exc_info=True)
        response.set_etag(page.etag)
        response.headers["Last-Modified"] = http_date(page.built_at)
        return _cache_headers(response, public).make_conditional(request)

    return wrapper


def init_app(app: Flask) -> None:
    config = app.config
    kind = config["PAGE_CACHE"]
    if kind == "off":
        return
    if kind == "redis":
        app.extensions[EXTENSION] = RedisStore(
            config["REDIS_URL"], prefix=config.get("PAGE_CACHE_PREFIX") or "choque:"
        )
    else:
        epoch = config.get("PAGE_CACHE_EPOCH_FILE") or Path(app.instance_path) / "page-epoch"
        app.extensions[EXTENSION] = LocalStore(Path(epoch))
