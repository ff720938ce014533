"""Bytes a phone downloads for the scan page: the demo's genuine stamp opened in Chromium at
360×640 (device pixel ratio 2), first with an empty cache, then again in the same browser.

Counted from the browser's own network log (Chrome DevTools Protocol): bytes on the wire
(`encodedDataLength`: headers and compressed bodies) and requests that reached the server
(memory- and disk-cache hits are not requests). Lazy photos count when the browser loads them.

Aims (issue 11): first view ≤ 25 KB, repeat view ≤ 8 KB in one request. The figures hold the
ratio of each to its aim (≤ 1 meets it), and the same first view with compression refused
(`Accept-Encoding: identity`) to show what gzip saves.

    python -m bench.bench_scan_weight
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any
from urllib.parse import urlsplit

from bench.harness import (
    app_env,
    build_schema,
    database,
    flask,
    gunicorn,
    log,
    ratio,
    write_results,
)

AIM_FIRST_KB = 25
AIM_REPEAT_KB = 8
AIM_REPEAT_REQUESTS = 1
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class NetworkLog:
    """Requests and bytes of one page view, from the DevTools protocol."""

    def __init__(self, cdp: Any) -> None:
        self.sent: dict[str, str] = {}
        self.cached: set[str] = set()
        self.bytes: dict[str, int] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict[str, Any]) -> None:
        url = event["request"]["url"]
        if not url.startswith("data:"):
            self.sent[event["requestId"]] = url

    def _received(self, event: dict[str, Any]) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.cached.add(event["requestId"])

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes[event["requestId"]] = int(event.get("encodedDataLength", 0))

    def reset(self) -> None:
        self.sent.clear()
        self.cached.clear()
        self.bytes.clear()

    def figures(self) -> dict[str, Any]:
        network = [rid for rid in self.sent if rid not in self.cached]
        total = sum(self.bytes.get(rid, 0) for rid in network)
        return {
            "bytes": total,
            "kb": round(total / 1024, 2),
            "requests": len(network),
            "by_url": {urlsplit(self.sent[rid]).path: self.bytes.get(rid, 0) for rid in network},
        }


def _view(context: Any, url: str, network: NetworkLog) -> dict[str, Any]:
    network.reset()
    page = context.pages[0]
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return network.figures()


def measure(base: str, path: str, *, identity: bool = False) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Debian's Chromium is needed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 360, "height": 640},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="vi-VN",
                extra_http_headers={"Accept-Encoding": "identity"} if identity else None,
            )
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            network = NetworkLog(cdp)
            first = _view(context, base + path, network)
            repeat = _view(context, base + path, network)
            context.close()
        finally:
            browser.close()
    return {"first_view": first, "repeat_view": repeat}


def main() -> int:
    with database("sqlite") as db, tempfile.TemporaryDirectory(prefix="choque-media-") as media:
        env = app_env(db, media)
        build_schema(env)
        flask(env, "seed-demo")
        samples = dict(
            line.split(" ", 2)[0::2] for line in flask(env, "stamps", "sample").splitlines()
        )
        path = urlsplit(samples["active"]).path
        with gunicorn(env) as base:
            log(f"scan page {path} at 360×640, Chromium")
            gzip_on = measure(base, path)
            identity = measure(base, path, identity=True)
    first, repeat = gzip_on["first_view"], gzip_on["repeat_view"]
    figures = {
        "scan_page": gzip_on,
        "scan_page_uncompressed": identity,
        "first_view_kb": first["kb"],
        "repeat_view_kb": repeat["kb"],
        "repeat_view_requests": repeat["requests"],
        "first_view_ratio_to_aim": ratio(first["kb"], AIM_FIRST_KB),
        "repeat_view_ratio_to_aim": ratio(repeat["kb"], AIM_REPEAT_KB),
        "repeat_requests_ratio_to_aim": ratio(repeat["requests"], AIM_REPEAT_REQUESTS),
        "first_view_ratio_to_uncompressed": ratio(first["kb"], identity["first_view"]["kb"]),
    }
    log(
        f"first view {first['kb']} KB in {first['requests']} requests · repeat view "
        f"{repeat['kb']} KB in {repeat['requests']} requests · uncompressed first view "
        f"{identity['first_view']['kb']} KB"
    )
    write_results(
        "scan_weight",
        f"aims: first view ≤ {AIM_FIRST_KB} KB, repeat view ≤ {AIM_REPEAT_KB} KB in "
        f"{AIM_REPEAT_REQUESTS} request",
        figures,
    )
    met = first["kb"] <= AIM_FIRST_KB and repeat["kb"] <= AIM_REPEAT_KB
    return 0 if met and repeat["requests"] <= AIM_REPEAT_REQUESTS else 1


if __name__ == "__main__":
    raise SystemExit(main())
