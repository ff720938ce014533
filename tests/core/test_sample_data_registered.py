"""Every package that ships demo or benchmark data registers it: a package whose demo.py is
not registered would leave `make run` without its part of the journeys (the shop's stock)."""

from __future__ import annotations

from pathlib import Path

from core.sample_data import EXTENSION

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "cooperatives", "traceability", "shop", "partners")


def _registered(app, kind: str) -> set[str]:
    return {package for package, _hook in app.extensions[EXTENSION][kind]}


def test_every_demo_module_is_registered(app):
    shipped = {p for p in PACKAGES if (ROOT / p / "demo.py").exists()}
    assert shipped <= _registered(app, "demo")


def test_every_bench_data_module_is_registered(app):
    shipped = {p for p in PACKAGES if (ROOT / p / "bench_data.py").exists()}
    assert shipped <= _registered(app, "bench")
