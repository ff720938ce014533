"""Printing stamps: 10,000 labels to an A4 PDF (5×13 sheets) with traceability.stamps.printing,
against a plain loop of `qrcode.make()` over the same 10,000 URLs, each in a fresh
process of its own.

Baseline: `for url in urls: qrcode.make(url)` (the qrcode library, default settings) in the same
run. Figures: wall time of the work (imports and app start excluded) and peak memory of the
process (ru_maxrss), also as the rise over the process's size before the work. Aim: 10,000
stamps in under 10 s on a 2-core machine.

    python -m bench.bench_stamp_printing        (BENCH_PRINT_STAMPS to change the count)
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT, env_int, log, machine, ratio, write_results

NAME = "stamp_printing"
BASELINE = "a plain loop of qrcode.make(url) over the same URLs, in a process of its own"
STAMPS = env_int("BENCH_PRINT_STAMPS", 10_000)
BASE_URL = "https://choque.vn"
AIM_SECONDS = 10.0
TITLE = "Cam Cao Phong loại 1"


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def child(kind: str, urls_file: str, out_file: str) -> dict[str, Any]:
    """Runs in its own process: do one kind of work and report time and memory."""
    urls = json.loads(Path(urls_file).read_text())
    if kind == "qrcode":
        import qrcode

        before = _maxrss_kib()
        started = time.perf_counter()
        for url in urls:
            qrcode.make(url)
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "rss_before_kib": before, "rss_peak_kib": _maxrss_kib()}

    import os

    os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(out_file).with_suffix('.db')}")
    os.environ.setdefault("SECRET_KEY", "bench-printing-" + "x" * 40)
    from traceability.stamps import printing
    from wsgi import create_app

    app = create_app()
    labels = [
        printing.StampLabel(serial=n, code=url.rsplit("/", 1)[-1], url=url)
        for n, url in enumerate(urls, 1)
    ]
    layout = printing.PRESETS["5x13"]
    with app.app_context():
        before = _maxrss_kib()
        started = time.perf_counter()
        with open(out_file, "wb") as out:
            result = printing.render_sheets(labels, printing.LabelText(TITLE, 4), layout, out)
        seconds = time.perf_counter() - started
    head = Path(out_file).read_bytes()[:5]
    return {
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": _maxrss_kib(),
        "pages": result.pages,
        "labels": result.labels,
        "pdf_bytes": Path(out_file).stat().st_size,
        "is_pdf": head == b"%PDF-",
    }


def run_child(kind: str, urls_file: Path, out_file: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.bench_stamp_printing",
        "child",
        kind,
        str(urls_file),
        str(out_file),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stdout}\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["rss_peak_mib"] = round(figures["rss_peak_kib"] / 1024, 1)
    figures["rss_rise_mib"] = round((figures["rss_peak_kib"] - figures["rss_before_kib"]) / 1024, 1)
    figures["seconds"] = round(figures["seconds"], 3)
    figures["per_second"] = round(STAMPS / figures["seconds"])
    return figures


def main() -> int:
    facts = machine()
    log(f"{NAME}: {facts['cores']} cores, Python {facts['python']}, commit {facts['commit']}")
    try:
        from traceability.stamps import (
            code_url,
            printing,  # noqa: F401
            random_codes,
        )
    except ImportError as exc:
        log(f"  traceability printing is not there yet ({exc}); not measured")
        write_results(NAME, BASELINE, {"printing": f"not measured: {exc}"})
        return 0

    urls = [code_url(BASE_URL, code) for code in random_codes(STAMPS)]
    with tempfile.TemporaryDirectory(prefix="choque-print-") as tmp:
        urls_file = Path(tmp) / "urls.json"
        urls_file.write_text(json.dumps(urls))
        baseline = run_child("qrcode", urls_file, Path(tmp) / "qrcode.out")
        log(
            f"  qrcode.make() × {STAMPS:,}: {baseline['seconds']:.2f} s "
            f"({baseline['per_second']:,}/s), peak {baseline['rss_peak_mib']} MiB "
            f"(+{baseline['rss_rise_mib']} MiB)"
        )
        sheets = run_child("sheets", urls_file, Path(tmp) / "stamps.pdf")
        log(
            f"  PDF of {STAMPS:,} stamps (5×13): {sheets['seconds']:.2f} s "
            f"({sheets['per_second']:,}/s), peak {sheets['rss_peak_mib']} MiB "
            f"(+{sheets['rss_rise_mib']} MiB), {sheets['pages']} pages, "
            f"{sheets['pdf_bytes'] / 1e6:.1f} MB"
        )
    expected_pages = math.ceil(STAMPS / 65)
    figures = {
        "stamps": STAMPS,
        "url_example": urls[0],
        "qrcode_make_loop": baseline,
        "pdf_sheets": sheets,
        "ratio_time_pdf_over_qrcode": ratio(sheets["seconds"], baseline["seconds"]),
        "ratio_peak_memory_pdf_over_qrcode": ratio(
            sheets["rss_peak_kib"], baseline["rss_peak_kib"]
        ),
        "aim_seconds": AIM_SECONDS,
        "within_aim": sheets["seconds"] < AIM_SECONDS,
        "pdf_valid": sheets["is_pdf"] and sheets["pages"] == expected_pages,
    }
    log(
        f"  ratio: the PDF takes {figures['ratio_time_pdf_over_qrcode']:.2f}× the time of the "
        f"qrcode.make() loop, {figures['ratio_peak_memory_pdf_over_qrcode']:.2f}× its peak "
        f"memory; aim < {AIM_SECONDS:.0f} s: {'met' if figures['within_aim'] else 'NOT met'}"
    )
    write_results(NAME, BASELINE, figures, load_tool=None)
    return 0 if figures["pdf_valid"] else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], sys.argv[4])))
        raise SystemExit(0)
    raise SystemExit(main())
