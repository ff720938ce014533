"""`make bench`: run every bench/bench_*.py in turn, each in its own process.

    python -m bench.run                  all benchmarks
    python -m bench.run catalog scan     only those whose name contains a word given

Each script prints its figures and writes bench/results/<name>.json; this runner prints the
ratios against each benchmark's baseline at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, ROOT, load_tool, machine

BENCH_DIR = ROOT / "bench"


def scripts(words: list[str]) -> list[str]:
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if words:
        names = [n for n in names if any(w in n for w in words)]
    return names


def summary_lines(result: dict[str, Any]) -> list[str]:
    """Every `*ratio*` figure in a results file (per database or overall), one line each."""
    lines: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and prefix.count(".") < 1:
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif "ratio" in prefix.rsplit(".", 1)[-1]:
            lines.append(f"    {prefix} = {value}")

    walk("", result.get("figures", {}))
    return lines


def main(argv: list[str]) -> int:
    facts = machine()
    print(
        f"Chợ Quê benchmarks · {facts['cores']} cores ({facts['cpu']}), {facts['memory']}, "
        f"Python {facts['python']}, commit {facts['commit']}, load tool {load_tool()}",
        flush=True,
    )
    failed: list[str] = []
    for name in scripts(argv):
        print(f"\n=== {name}", flush=True)
        started = time.perf_counter()
        status = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=ROOT)
        print(f"=== {name}: exit {status} after {time.perf_counter() - started:.0f} s", flush=True)
        if status != 0:
            failed.append(name)

    print("\nRatios against each benchmark's baseline (same run):")
    for name in scripts(argv):
        path = RESULTS / f"{name.removeprefix('bench_')}.json"
        if not path.exists():
            print(f"  {name}: no results file")
            continue
        result = json.loads(Path(path).read_text())
        print(f"  {result['benchmark']} — baseline: {result['baseline']}")
        print("\n".join(summary_lines(result)) or "    (no ratio measured)")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
