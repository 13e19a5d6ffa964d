"""No code or output block of the built book scrolls sideways at a 1280 x 800 window.

Every page of ``_toc.yml`` is opened in headless Chromium (Debian's ``chromium`` and
``chromium-driver`` through Selenium, as in ``tests/test_browser.py``) at a 1280 x 800
window, with every solution dropdown and hidden cell opened, and every code block and
printed output (``pre`` elements and output areas of the article) is measured: a block
whose ``scrollWidth`` exceeds its ``clientWidth`` has a horizontal scrollbar, and the test
names the page, the block and its widest line.

The edition is the one at ``LECTURE9_BOOK_HTML`` (default ``_build/html``), so ``.ci/run``
checks both the full and the solutions-hidden edition. Run after building the book:
``pytest -m browser tests/test_page_width.py``; ``python tests/test_page_width.py`` prints
a per-page table and how many monospace characters fit in the code column.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import HTML, PAGES, _unavailable, headless_chromium  # noqa: E402

pytestmark = pytest.mark.browser

WINDOW = (1280, 800)
PAGE_TIMEOUT_S = 60

# Open every collapsed solution and hidden cell, then report the blocks that scroll sideways
# and the number of monospace characters that fit in a code cell's line.
MEASURE = """
document.querySelectorAll("details").forEach((d) => { d.open = true; });
document.querySelectorAll(".toggle-hidden").forEach((el) => el.classList.remove("toggle-hidden"));
document.querySelectorAll("button.toggle-button.toggle-button-hidden")
  .forEach((b) => b.click());
const article = document.querySelector("article") || document.querySelector("main") || document.body;
const blocks = Array.from(article.querySelectorAll(
  "pre, div.cell_output .output, div.cell_output > div, div.highlight"));
const wide = blocks.filter((el) => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
  .map((el) => {
    const lines = (el.innerText || "").split("\\n");
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), "");
    return {tag: el.tagName.toLowerCase() + "." + (el.className || "").split(" ")[0],
            scroll: el.scrollWidth, client: el.clientWidth, line: longest.slice(0, 100),
            chars: longest.length};
  });
const pre = article.querySelector("div.cell div.highlight pre") || article.querySelector("pre");
let columns = null;
if (pre) {
  const probe = document.createElement("span");
  probe.textContent = "x".repeat(200);
  pre.appendChild(probe);
  const style = getComputedStyle(pre);
  const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  columns = Math.floor(inner / (probe.getBoundingClientRect().width / 200));
  probe.remove();
}
return {wide: wide, columns: columns, blocks: blocks.length};
"""


def _measure_all(pages=PAGES) -> dict[str, dict]:
    """Open each built page at 1280 x 800 and measure its code and output blocks."""
    flags = [f"--window-size={WINDOW[0]},{WINDOW[1]}"]
    results = {}
    with headless_chromium(
        profile_prefix="lecture9-width-", timeout_s=PAGE_TIMEOUT_S, extra_flags=flags
    ) as browser:
        browser.set_window_size(*WINDOW)
        for page in pages:
            path = HTML / f"{page}.html"
            if not path.is_file():
                results[page] = {"missing": True, "wide": [], "columns": None}
                continue
            browser.get(path.as_uri())
            results[page] = browser.execute_script(MEASURE)
    return results


@pytest.fixture(scope="module")
def measurements():
    if not (HTML / "index.html").is_file():
        _unavailable(f"no built book at {HTML}: run `jupyter-book build .` first")
    return _measure_all()


@pytest.mark.parametrize("page", PAGES)
def test_no_code_block_scrolls_sideways(measurements, page):
    result = measurements[page]
    assert not result.get("missing"), f"{page}: no HTML page in {HTML}"
    wide = result["wide"]
    report = "\n".join(
        f"  {w['tag']}: {w['scroll']} px of content in {w['client']} px, widest line "
        f"({w['chars']} chars): {w['line']!r}"
        for w in wide[:10]
    )
    assert not wide, (
        f"{page}: {len(wide)} code/output block(s) scroll sideways at "
        f"{WINDOW[0]}x{WINDOW[1]} ({result['columns']} monospace characters fit):\n{report}"
    )


def test_code_column_fits_79_characters(measurements):
    """The book's convention (code and output lines of at most 79 characters) must fit."""
    columns = [r["columns"] for r in measurements.values() if r.get("columns")]
    assert columns, "no code block found in the built book"
    assert min(columns) >= 79, f"only {min(columns)} monospace characters fit in the code column"


if __name__ == "__main__":
    for name, res in _measure_all().items():
        print(f"{name:40s} columns={res.get('columns')} wide={len(res['wide'])}")
        for w in res["wide"][:3]:
            print(f"    {w['chars']:4d} {w['line'][:90]!r}")
