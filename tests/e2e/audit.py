"""What the journey tests check on every page they visit: axe-core (0 critical, serious or
moderate violations), tap targets of at least 44×44 px, and no sideways scrolling at 360 px.

axe-core comes from the npm registry, pinned in tests/e2e/axe/package.json and installed
there on demand (`npm install`, node_modules is not committed); its axe.min.js is injected
into the page by Playwright (the page's context bypasses the CSP for that script only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

AXE_DIR = Path(__file__).parent / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("critical", "serious", "moderate")
MIN_TARGET = 44

# Every interactive element, measured as a finger meets it: a checkbox or radio button by the
# union of its box and its label's; a link inside a sentence is exempt (WCAG 2.5.8's inline
# exception), a link standing alone is not.
TAP_TARGETS_JS = """
(min) => {
  const union = (a, b) => {
    const left = Math.min(a.left, b.left), top = Math.min(a.top, b.top);
    const right = Math.max(a.right, b.right), bottom = Math.max(a.bottom, b.bottom);
    return {width: right - left, height: bottom - top};
  };
  const describe = (el) => {
    const text = (el.innerText || el.value || el.name || '').trim().slice(0, 40);
    const id = el.id ? '#' + el.id : '';
    const classes = el.className ? '.' + String(el.className).split(' ').join('.') : '';
    return `${el.tagName.toLowerCase()}${id}${classes} "${text}"`;
  };
  const small = [];
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || (rect.width === 0 && rect.height === 0)) continue;
    if (el.closest('.visually-hidden')) continue;
    let box = rect;
    if (el.matches('input[type=checkbox], input[type=radio]') && el.labels && el.labels.length) {
      box = union(rect, el.labels[0].getBoundingClientRect());
    }
    if (el.tagName === 'A' && style.display === 'inline') {
      const inSentence = [...el.parentElement.childNodes].some(
        (n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim().length > 1);
      if (inSentence) continue;
    }
    if (box.height < min - 0.5 || box.width < min - 0.5) {
      small.push(`${describe(el)} ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return small;
}
"""


def axe_script() -> Path:
    """axe.min.js, installed from npm into tests/e2e/axe when missing."""
    if AXE_JS.exists():
        return AXE_JS
    npm = shutil.which("npm")
    reason = "axe-core is not installed and npm is missing (cd tests/e2e/axe && npm install)"
    if npm is not None:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=AXE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode == 0 and AXE_JS.exists():
            return AXE_JS
        reason = f"npm install axe-core failed: {done.stderr[-500:]}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)
    raise AssertionError  # unreachable: skip raises


@dataclass
class Findings:
    """What went wrong on the pages visited, by page address."""

    pages: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # paths already walked (any language)

    def add(self, url: str, problem: str) -> None:
        if problem not in self.problems.get(url, []):
            self.problems.setdefault(url, []).append(problem)

    def report(self) -> str:
        lines = [f"{len(self.pages)} pages visited"]
        for url, problems in self.problems.items():
            lines.append(url)
            lines += [f"  - {p}" for p in problems]
        return "\n".join(lines)


def audit_page(page, findings: Findings, *, lang: str) -> None:
    """Check the page the browser shows now."""
    url = page.url
    findings.pages.append(url)
    shown = page.evaluate("document.documentElement.lang")
    if shown != lang:
        findings.add(url, f'<html lang="{shown}">, expected "{lang}"')
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 360:
        findings.add(url, f"the page is {width} px wide at 360 px")
    for target in page.evaluate(TAP_TARGETS_JS, MIN_TARGET):
        findings.add(url, f"tap target under {MIN_TARGET} px: {target}")
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))}))"
    )
    for violation in result:
        if violation["impact"] in BLOCKING:
            findings.add(
                url,
                f"axe {violation['impact']} {violation['id']}: {violation['help']} "
                f"{violation['nodes']}",
            )
