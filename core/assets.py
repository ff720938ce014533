"""Bytes on a slow link: gzip for text answers, content-hashed static files cached for a year.

- `url_for('static', filename='css/app.css')` builds `/static/css/app.<hash>.css` (a URL
  default): the name changes when the content does, so browsers may keep it forever
  (`Cache-Control: public, max-age=31536000, immutable`). An old hash still answers with the
  current file, revalidated (`no-cache`), so a page cached somewhere never loses its styles.
- `GzipMiddleware` compresses text answers (HTML, CSS, JS, JSON, SVG, XML, CSV) when the client
  accepts gzip. A proxy in front may do it instead (or brotli); this is the app's own fallback,
  and it leaves alone anything already encoded, streamed files and small bodies.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

from flask import Flask, Response, abort, current_app, request, send_from_directory
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_LENGTH = 10
_HASHED = re.compile(
    rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<ext>\.[A-Za-z0-9]+)$"
)
COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/ld+json",
    "application/problem+json",
    "application/linkset+json",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
)
MIN_SIZE = 512  # below this gzip's header costs more than it saves
GZIP_LEVEL = 6


@dataclass(frozen=True)
class StaticFile:
    digest: str
    body: bytes
    gzipped: bytes | None
    mimetype: str
    mtime: float


class StaticFiles:
    """Static files read once per process (the folder is a few dozen KB), with their hash and
    gzip; re-read when a file changes in debug mode."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._files: dict[str, StaticFile | None] = {}
        self._lock = Lock()

    def get(self, filename: str, *, recheck: bool = False) -> StaticFile | None:
        known = self._files.get(filename)
        if known is not None and not recheck:
            return known
        path = safe_join(self.folder, filename)
        if path is None or not Path(path).is_file():
            return None
        mtime = Path(path).stat().st_mtime
        if known is not None and known.mtime == mtime:
            return known
        body = Path(path).read_bytes()
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        gzipped = None
        if _compressible(mimetype) and len(body) >= MIN_SIZE:
            gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0)
        digest = hashlib.sha256(body).hexdigest()[:DIGEST_LENGTH]
        found = StaticFile(digest, body, gzipped, mimetype, mtime)
        with self._lock:
            self._files[filename] = found
        return found


def _compressible(mimetype: str) -> bool:
    return mimetype.split(";", 1)[0].strip().startswith(COMPRESSIBLE)


def _accepts_gzip(accept_encoding: str) -> bool:
    if not accept_encoding:
        return False
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


def hashed_name(filename: str) -> str:
    files: StaticFiles = current_app.extensions["static_files"]
    found = files.get(filename, recheck=current_app.debug)
    if found is None:
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot or "/" in ext:
        return f"{filename}.{found.digest}"
    return f"{stem}.{found.digest}.{ext}"


def _hash_static_urls(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and isinstance(values.get("filename"), str):
        values["filename"] = hashed_name(values["filename"])


def serve_static(filename: str) -> Response:
    files: StaticFiles = current_app.extensions["static_files"]
    match = _HASHED.match(filename)
    if match is None:  # an unhashed name: the current file, revalidated each time
        return send_from_directory(files.folder, filename, max_age=None)
    plain = match["stem"] + match["ext"]
    found = files.get(plain, recheck=current_app.debug)
    if found is None:
        abort(404)
    if found.digest != match["digest"]:  # an older version asked for: today's, not forever
        return send_from_directory(files.folder, plain, max_age=None)
    use_gzip = found.gzipped is not None and _accepts_gzip(
        request.headers.get("Accept-Encoding", "")
    )
    response = Response(found.gzipped if use_gzip else found.body, mimetype=found.mimetype)
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    if found.gzipped is not None:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = IMMUTABLE
    return response


class GzipMiddleware:
    """Compresses text answers of the wrapped WSGI app for clients that accept gzip."""

    def __init__(self, app: Callable[..., Iterable[bytes]], level: int = GZIP_LEVEL) -> None:
        self.app = app
        self.level = level

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        if (
            not _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
            or environ.get("REQUEST_METHOD") == "HEAD"
        ):
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"], captured["headers"], captured["exc_info"] = (
                status,
                headers,
                exc_info,
            )
            return lambda data: captured.setdefault("written", []).append(data)

        body_iter = self.app(environ, capture)
        headers: list[tuple[str, str]] = captured.get("headers", [])
        names = {name.lower(): value for name, value in headers}
        status = captured.get("status", "500 INTERNAL SERVER ERROR")
        if (
            "wsgi.file_wrapper" in environ
            and isinstance(body_iter, environ["wsgi.file_wrapper"])
            or "content-encoding" in names
            or not _compressible(names.get("content-type", ""))
            or status[:3] in ("204", "206", "304")
            or "no-transform" in names.get("cache-control", "")
        ):
            write = start_response(status, headers, captured.get("exc_info"))
            for data in captured.get("written", []):
                write(data)
            return body_iter
        try:
            body = b"".join([*captured.get("written", []), *body_iter])
        finally:
            if hasattr(body_iter, "close"):
                body_iter.close()
        if len(body) < MIN_SIZE:
            start_response(status, headers, captured.get("exc_info"))
            return [body]
        compressed = gzip.compress(body, self.level, mtime=0)
        kept = [(n, v) for n, v in headers if n.lower() not in ("content-length", "etag", "vary")]
        vary = [v.strip() for v in names.get("vary", "").split(",") if v.strip()]
        if "accept-encoding" not in {v.lower() for v in vary}:
            vary.append("Accept-Encoding")
        kept.append(("Vary", ", ".join(vary)))
        if "etag" in names:  # another representation: a weak validator at most
            etag = names["etag"]
            kept.append(("ETag", etag if etag.startswith("W/") else "W/" + etag))
        kept += [("Content-Encoding", "gzip"), ("Content-Length", str(len(compressed)))]
        start_response(status, kept, captured.get("exc_info"))
        return [compressed]


def init_app(app: Flask) -> None:
    app.extensions["static_files"] = StaticFiles(str(app.static_folder))
    app.url_defaults(_hash_static_urls)
    app.view_functions["static"] = serve_static
    if app.config.get("GZIP_RESPONSES", True):
        app.wsgi_app = GzipMiddleware(app.wsgi_app)  # type: ignore[method-assign]
