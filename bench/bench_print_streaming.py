"""Printing a 100,000-stamp run: the PDF streamed page by page (traceability.stamps.printing
now) against the buffered way it was made before (reportlab's canvas keeps every page until it
saves), each in a fresh process of its own, on the same labels.

Baseline: the buffered renderer of the commit before streaming (its code taken with `git
archive` into a temporary directory; BENCH_PRINT_BUFFERED_COMMIT to choose another) drawing the
same labels. Figures: wall time, time to the first byte and to the first page handed to the
output (what a download waits for), and the peak memory of the process (ru_maxrss), as the rise
over its size before the work. Labels come from a generator in both (the run is never a list in
memory), the output goes to a sink that counts bytes. Aims (issue 12): 100,000 stamps in ≤ 30 s,
memory that does not grow with the run.

    python -m bench.bench_print_streaming     (BENCH_PRINT_STREAM_STAMPS to change the count)
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import ROOT, env_int, log, machine, ratio, write_results

NAME = "print_streaming"
BASELINE = (
    "the buffered reportlab renderer of the commit before streaming, same labels, same layout, "
    "in a process of its own"
)
STAMPS = env_int("BENCH_PRINT_STREAM_STAMPS", 100_000)
AIM_SECONDS = 30.0
STREAMED_FILE = "traceability/stamps/printing/pdf_stream.py"

# Runs in a fresh process with the checkout to measure as its working directory.
CHILD = r"""
import json, os, random, resource, sys, time
sys.path.insert(0, os.getcwd())
count = int(sys.argv[1])
os.environ.setdefault("DATABASE_URL", "sqlite://")
os.environ.setdefault("SECRET_KEY", "bench-printing-" + "x" * 40)
from traceability.stamps import printing
from wsgi import create_app

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

def labels():
    rng = random.Random(12)
    for serial in range(1, count + 1):
        code = "".join(rng.choice(ALPHABET) for _ in range(13))
        yield printing.StampLabel(serial, code, "HTTPS://CHOQUE.VN/S/" + code, pin="%06d" % serial)

class Sink:
    def __init__(self, started):
        self.started, self.size, self.writes = started, 0, []
    def write(self, data):
        if len(self.writes) < 2:
            self.writes.append(time.perf_counter() - self.started)
        self.size += len(data)

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

app = create_app()
with app.app_context():
    layout = printing.PRESETS["5x13"]
    before = rss()
    started = time.perf_counter()
    sink = Sink(started)
    text = printing.LabelText("Cam Cao Phong loại 1", 4)
    result = printing.render_sheets(labels(), text, layout, sink)
    seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": seconds,
    "first_byte_s": sink.writes[0],
    "first_page_s": sink.writes[-1],  # the buffered canvas writes everything in one go
    "writes_seen": len(sink.writes),
    "rss_before_kib": before,
    "rss_peak_kib": rss(),
    "pages": result.pages,
    "labels": result.labels,
    "pdf_bytes": sink.size,
}))
"""


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def buffered_commit() -> str:
    """The commit before the streamed renderer arrived (or BENCH_PRINT_BUFFERED_COMMIT)."""
    import os

    chosen = os.environ.get("BENCH_PRINT_BUFFERED_COMMIT", "")
    if chosen:
        return chosen
    added = _git("log", "--diff-filter=A", "--format=%H", "--", STREAMED_FILE).splitlines()
    return f"{added[-1]}^" if added else "HEAD"


def checkout(commit: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def run_child(code_dir: Path) -> dict[str, Any]:
    command = [sys.executable, "-c", CHILD, str(STAMPS)]
    done = subprocess.run(
        command, cwd=code_dir, capture_output=True, text=True, timeout=1200, env=None
    )
    if done.returncode != 0:
        raise RuntimeError(f"printing in {code_dir} failed:\n{done.stdout}\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["rss_peak_mib"] = round(figures["rss_peak_kib"] / 1024, 1)
    figures["rss_rise_mib"] = round((figures["rss_peak_kib"] - figures["rss_before_kib"]) / 1024, 1)
    for key in ("seconds", "first_byte_s", "first_page_s"):
        figures[key] = round(figures[key], 3)
    figures["per_second"] = round(STAMPS / figures["seconds"])
    return figures


def _line(name: str, f: dict[str, Any]) -> str:
    return (
        f"  {name}: {f['seconds']:.1f} s ({f['per_second']:,}/s), first byte "
        f"{f['first_byte_s']:.2f} s, first page {f['first_page_s']:.2f} s, peak "
        f"{f['rss_peak_mib']} MiB (+{f['rss_rise_mib']} MiB), {f['pages']} pages, "
        f"{f['pdf_bytes'] / 1e6:.1f} MB"
    )


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    commit = buffered_commit()
    with tempfile.TemporaryDirectory(prefix="choque-print-before-") as tmp:
        before_dir = Path(tmp)
        checkout(commit, before_dir)
        log(f"  buffered renderer from {_git('rev-parse', '--short', commit)}; {STAMPS:,} labels")
        buffered = run_child(before_dir)
        log(_line("buffered (before)", buffered))
    streamed = run_child(ROOT)
    log(_line("streamed (now)", streamed))
    expected_pages = math.ceil(STAMPS / 65)
    figures = {
        "stamps": STAMPS,
        "buffered_commit": commit,
        "buffered": buffered,
        "streamed": streamed,
        "ratio_time_streamed_over_buffered": ratio(streamed["seconds"], buffered["seconds"]),
        "ratio_first_page_streamed_over_buffered": ratio(
            streamed["first_page_s"], buffered["first_page_s"]
        ),
        "ratio_memory_rise_streamed_over_buffered": ratio(
            max(streamed["rss_rise_mib"], 0.1), max(buffered["rss_rise_mib"], 0.1)
        ),
        "aim_seconds": AIM_SECONDS,
        "within_aim": streamed["seconds"] <= AIM_SECONDS,
        "pdf_pages_ok": streamed["pages"] == expected_pages == buffered["pages"],
    }
    log(
        f"  streamed ÷ buffered: time {figures['ratio_time_streamed_over_buffered']:.2f}×, "
        f"first page {figures['ratio_first_page_streamed_over_buffered']:.4f}×, memory rise "
        f"{figures['ratio_memory_rise_streamed_over_buffered']:.2f}×; aim ≤ {AIM_SECONDS:.0f} s: "
        + ("met" if figures["within_aim"] else "NOT met")
    )
    write_results(NAME, BASELINE, figures, load_tool=None)
    return 0 if figures["pdf_pages_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
