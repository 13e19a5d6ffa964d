"""The built book as a reader sees it: every page of ``_build/html`` in headless Chromium.

For each page in ``_toc.yml`` the test opens the built HTML page in Debian's Chromium
(through Selenium and Debian's ``chromium-driver``; nothing is downloaded) and checks:

- the page has a title and an ``<h1>``;
- MathJax (shipped with the build, no network) typeset every formula: each ``.math``
  element holds a rendered ``mjx-container``, MathJax reported no TeX error, and no raw
  ``\\(``, ``\\[``, ``$$`` or TeX command is left in the visible text;
- every ``<img>`` loaded (``naturalWidth > 0``);
- the browser console shows no error (JavaScript exceptions, failed loads);
- nothing is fetched from the network (all resources are local files);
- solutions are collapsed dropdowns that open when clicked, and a page with exercises
  has solutions (in the solutions-hidden edition: no solution at all).

A full-page screenshot of each page is written to ``_build/screenshots/`` (``<page>.png``,
and ``<page>-2.png``, ... for the rest of a very long page).

``test_no_dead_links`` reads every HTML file of the build: no link leads to the
placeholder repository ``https://github.com/OWNER/...`` of ``_config.yml`` (the build
leaves out the repository and launch buttons until ``repository.url`` is set), and every
internal link (``href``/``src``: pages, downloads, images, scripts) points to a file of the
build and, with a ``#fragment``, to an element of that page with that ``id``.

``test_solutions_hidden_build`` checks the instructors' solutions-hidden edition
(``LECTURE9_HIDE_SOLUTIONS=1 jupyter-book build . --path-output _build/students``): no
line of any solution of the full build appears anywhere in its output.

Run after building the book: ``pytest -m browser tests/test_browser.py``. The tests skip
with a message where Chromium, chromedriver or the built book is absent, unless the
environment sets ``LECTURE9_REQUIRE_BROWSER=1`` (as ``.ci/run`` does): then they fail.
``LECTURE9_BOOK_HTML`` and ``LECTURE9_STUDENT_HTML`` point the tests at other builds.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from tools.build_pdf import CHROMIUM_FLAGS  # the PDF is printed by the same headless Chromium

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("LECTURE9_BOOK_HTML", ROOT / "_build" / "html")).resolve()
STUDENT_HTML = Path(
    os.environ.get("LECTURE9_STUDENT_HTML", ROOT / "_build" / "students" / "_build" / "html")
).resolve()
SCREENSHOTS = HTML.parent / "screenshots"
REQUIRE = os.environ.get("LECTURE9_REQUIRE_BROWSER", "") == "1"

PAGE_TIMEOUT_S = 60
MATHJAX_TIMEOUT_MS = 30_000
SCREENSHOT_TILE = 12_000  # px per screenshot file (Chromium caps one capture at 16384 px)
MAX_SCREENSHOT_TILES = 5

# TeX that survived typesetting: delimiters or common commands left in the visible text.
RAW_TEX = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:frac|mathbb|mathcal|mathrm|operatorname|sum|int|prod|nabla|"
    r"hat|bar|tilde|sqrt|theta|sigma|mu|partial|left|right|begin|end|log|exp|approx|sim)\b"
)


def _unavailable(message: str):
    if REQUIRE:
        pytest.fail(f"{message} (LECTURE9_REQUIRE_BROWSER=1, so this is an error, not a skip)")
    pytest.skip(message)


def toc_pages(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document of the table of contents, in reading order (``book/intro``, ...)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    pages: list[str] = []

    def walk(entry):
        if isinstance(entry, dict):
            if "file" in entry:
                pages.append(str(entry["file"]))
            for key in ("parts", "chapters", "sections"):
                for child in entry.get(key, []) or []:
                    walk(child)
        elif isinstance(entry, list):
            for child in entry:
                walk(child)

    pages.append(str(toc["root"]))
    walk({k: v for k, v in toc.items() if k != "root"})
    return [re.sub(r"\.(md|ipynb|rst)$", "", page) for page in pages]


PAGES = toc_pages()


def _find_executable(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            name if os.path.isabs(name) and os.access(name, os.X_OK) else None
        )
        if found:
            return found
    return None


@contextlib.contextmanager
def headless_chromium(
    *, profile_prefix: str, timeout_s: float, extra_flags=(), browser_log: bool = False
):
    """A headless Chromium with a fresh profile, quit afterwards; skips (or fails, if required) when unavailable."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -r requirements.txt)")
    chromium = _find_executable(
        "chromium", "chromium-browser", "google-chrome", "/usr/lib/chromium/chromium"
    )
    chromedriver = _find_executable("chromedriver", "/usr/lib/chromium/chromedriver")
    if chromium is None or chromedriver is None:
        _unavailable(
            "headless Chromium is not available (Debian: apt-get install -y chromium chromium-driver)"
        )
    profile = tempfile.mkdtemp(prefix=profile_prefix)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    browser.set_page_load_timeout(timeout_s)
    browser.set_script_timeout(timeout_s)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def driver():
    """Headless Chromium for the built book's pages."""
    if not (HTML / "index.html").is_file():
        _unavailable(f"no built book at {HTML}: run `jupyter-book build .` first")
    with headless_chromium(
        profile_prefix="lecture9-chromium-", timeout_s=PAGE_TIMEOUT_S, browser_log=True
    ) as browser:
        yield browser


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const timer = setTimeout(() => done("timeout"), arguments[0]);
const finish = (result) => { clearTimeout(timer); done(result); };
if (!document.querySelector(".math")) { finish("no math"); return; }
(function wait() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => finish("ok"), (e) => finish("error: " + e));
  } else {
    setTimeout(wait, 50);
  }
})();
"""

WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach((img) => { img.loading = "eager"; });
Promise.all(images.map((img) => img.complete ? null : new Promise((resolve) => {
  img.addEventListener("load", resolve); img.addEventListener("error", resolve);
  setTimeout(resolve, 20000);
}))).then(() => done(images.map((img) => ({
  src: img.getAttribute("src"), width: img.naturalWidth, complete: img.complete,
}))));
"""

INSPECT_PAGE = """
const main = document.querySelector("main") || document.body;
const h1 = main.querySelector("h1");
const mathElements = Array.from(document.querySelectorAll(".math"));
const clone = main.cloneNode(true);
clone.querySelectorAll("pre, code, script, style, textarea, mjx-container, .headerlink")
     .forEach((el) => el.remove());
const external = Array.from(document.querySelectorAll(
  "script[src], link[rel~='stylesheet'][href], img[src], iframe[src], video[src], audio[src], source[src]"))
  .map((el) => el.src || el.href).filter((url) => /^(https?:)?\\/\\//.test(url));
const fetched = performance.getEntriesByType("resource").map((e) => e.name)
  .filter((url) => !/^(file|data|blob|about):/.test(url));
function mathErrors() {
  // TeX errors (merror) and undefined macros, which MathJax's noundefined package
  // typesets as their own name in red instead of failing.
  const errors = [];
  if (!(window.MathJax && MathJax.startup && MathJax.startup.document)) return errors;
  for (const item of MathJax.startup.document.math) {
    let problem = null;
    item.root.walkTree((node) => {
      if (problem) return;
      if (node.isKind("merror")) {
        problem = "TeX error";
      } else if (node.isKind("mtext") && node.attributes.get("mathcolor") === "red"
                 && node.getText && node.getText().startsWith("\\\\")) {
        problem = "undefined macro " + node.getText();
      }
    });
    if (problem) errors.push(problem + " in " + String(item.math).slice(0, 80));
  }
  return errors;
}
const solutions = Array.from(document.querySelectorAll("div.solution")).map((el) => {
  const body = Array.from(el.children).filter((c) => !c.classList.contains("admonition-title"));
  return {
    id: el.id,
    dropdown: el.classList.contains("dropdown"),
    button: !!el.querySelector(".admonition-title button.toggle-button"),
    collapsed: body.every((c) => getComputedStyle(c).display === "none" || c.getBoundingClientRect().height === 0),
  };
});
const edition = document.querySelector("meta[name='lecture9-edition']");
return {
  edition: edition ? edition.content : "full",
  title: document.title,
  h1: h1 ? h1.textContent.replace(/#\\s*$/, "").trim() : "",
  math: mathElements.length,
  untypeset: mathElements.filter((el) => !el.querySelector("mjx-container")).map((el) => el.textContent.slice(0, 80)),
  rendered: document.querySelectorAll("mjx-container").length,
  mathErrors: mathErrors(),
  text: clone.textContent,
  external: external,
  fetched: fetched,
  exercises: document.querySelectorAll("div.exercise").length,
  solutions: solutions,
};
"""

OPEN_FIRST_SOLUTION = """
const el = document.querySelector("div.solution");
el.querySelector(".admonition-title button.toggle-button").click();
"""

FIRST_SOLUTION_VISIBLE = """
const el = document.querySelector("div.solution");
const body = Array.from(el.children).filter((c) => !c.classList.contains("admonition-title"));
return body.some((c) => getComputedStyle(c).display !== "none" && c.getBoundingClientRect().height > 0);
"""


def _screenshot(driver, page: str) -> Path:
    """Full-page screenshot(s): ``<page>.png``, and ``<page>-2.png``, ... for a very long page."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    height = int(max(size["height"], 1))
    width = int(driver.execute_script("return document.documentElement.clientWidth") or 1280)
    name = page.replace("/", "_")
    for old in SCREENSHOTS.glob(f"{name}-*.png"):
        old.unlink()
    first = None
    for number, top in enumerate(
        range(0, min(height, MAX_SCREENSHOT_TILES * SCREENSHOT_TILE), SCREENSHOT_TILE), 1
    ):
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": top,
                    "width": width,
                    "height": min(SCREENSHOT_TILE, height - top),
                    "scale": 1,
                },
            },
        )
        path = SCREENSHOTS / (f"{name}.png" if number == 1 else f"{name}-{number}.png")
        path.write_bytes(base64.b64decode(shot["data"]))
        first = first or path
    return first


def _severe_console_messages(driver) -> list[str]:
    return [
        entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"
    ]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(driver, page):
    """Open one built page and check what a reader would see."""
    from selenium.webdriver.support.ui import WebDriverWait

    path = HTML / f"{page}.html"
    assert path.is_file(), f"{page}: the book build produced no {path.relative_to(HTML.parent)}"
    driver.get_log("browser")  # drop messages of the previous page
    driver.get(path.as_uri())
    WebDriverWait(driver, PAGE_TIMEOUT_S).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS)
    images = driver.execute_async_script(WAIT_FOR_IMAGES)
    info = driver.execute_script(INSPECT_PAGE)
    shot = _screenshot(driver, page)
    console = _severe_console_messages(driver)

    problems: list[str] = []
    if not info["title"] or info["title"].startswith("<no title>"):
        problems.append(f"no page title ({info['title']!r})")
    if not info["h1"]:
        problems.append("no <h1> heading")
    if info["math"]:
        if mathjax != "ok":
            problems.append(
                f"MathJax did not typeset the page ({mathjax}); is _static/mathjax in the build?"
            )
        if info["untypeset"]:
            problems.append(
                f"{len(info['untypeset'])} formula(s) not typeset, e.g. {info['untypeset'][:3]}"
            )
        if info["mathErrors"]:
            problems.append(f"MathJax could not typeset: {info['mathErrors'][:5]}")
    raw = sorted({m.group(0) for m in RAW_TEX.finditer(info["text"])})
    if raw:
        snippets = []
        for m in list(RAW_TEX.finditer(info["text"]))[:3]:
            snippets.append(" ".join(info["text"][max(0, m.start() - 40) : m.end() + 40].split()))
        problems.append(f"raw TeX left in the visible text {raw}: {snippets}")
    broken = [img["src"] for img in images if not (img["complete"] and img["width"] > 0)]
    if broken:
        problems.append(f"{len(broken)} image(s) did not load: {broken[:5]}")
    if console:
        problems.append(f"console errors: {console[:5]}")
    if info["external"] or info["fetched"]:
        problems.append(
            f"page needs the network: {sorted(set(info['external'] + info['fetched']))[:5]}"
        )
    solutions = info["solutions"]
    if info["edition"] == "solutions-hidden":
        if solutions:
            problems.append(
                f"{len(solutions)} solution(s) on a page of the solutions-hidden edition"
            )
    elif info["exercises"] and not solutions:
        problems.append(f"{info['exercises']} exercise(s) but no solution on the page")
    for solution in solutions:
        if not (solution["dropdown"] and solution["button"]):
            problems.append(f"solution {solution['id']} is not a dropdown with a toggle button")
        elif not solution["collapsed"]:
            problems.append(f"solution {solution['id']} is open when the page loads")
    if solutions and all(s["button"] for s in solutions):
        driver.execute_script(OPEN_FIRST_SOLUTION)
        try:
            WebDriverWait(driver, 5).until(lambda d: d.execute_script(FIRST_SOLUTION_VISIBLE))
        except Exception:  # noqa: BLE001 - reported below
            problems.append(
                f"solution {solutions[0]['id']} does not open when its button is clicked"
            )
    assert not problems, f"{page} ({path}, screenshot {shot}):\n  - " + "\n  - ".join(problems)


# --- the solutions-hidden edition ----------------------------------------------------

_BLOCKS = [
    "p",
    "li",
    "pre",
    "td",
    "dt",
    "dd",
    "div.math",
    "span.math",
    "h1",
    "h2",
    "h3",
    "h4",
    "caption",
]
MIN_SECRET_LENGTH = 16


def _lines(element) -> set[str]:
    lines = set()
    for block in element.select(", ".join(_BLOCKS)):
        for line in block.get_text().splitlines():
            line = " ".join(line.split())
            if line:
                lines.add(line)
    return lines


def _solution_lines(html_dir: Path, pages: list[str]):
    """(lines inside solutions, lines outside them, solution image names) of a full build."""
    from bs4 import BeautifulSoup

    inside, outside, images = set(), set(), set()
    for page in pages:
        path = html_dir / f"{page}.html"
        if not path.is_file():
            continue
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        main = soup.find("main") or soup
        for solution in main.select("div.solution"):
            inside |= _lines(solution)
            images |= {Path(img.get("src", "")).name for img in solution.find_all("img")}
            solution.decompose()
        outside |= _lines(main)
    return inside, outside, images


def _notebook_text(notebook) -> list[str]:
    """Cell sources and text outputs of a student notebook, except its exercise stubs.

    A stub (tag ``stub``, written by ``lecture9.assign``) keeps the header, signature and
    docstring of a coding exercise's solution cell on purpose; what replaced the
    solution is checked by the ``### BEGIN SOLUTION`` test and by tests/test_assign.py.
    """
    texts = []
    for cell in notebook.cells:
        if "stub" in cell.get("metadata", {}).get("tags", []):
            texts.append(
                "\n".join(line for line in cell.source.splitlines() if "BEGIN SOLUTION" in line)
            )
            continue
        texts.append(cell.source)
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return texts


def _coding_exercises() -> list[str]:
    """The solution cells of the book's coding exercises (those with a solution region)."""
    from lecture9 import exercises

    return [
        cell.source
        for page in PAGES
        if (ROOT / f"{page}.ipynb").is_file()
        for cell in nbformat.read(ROOT / f"{page}.ipynb", as_version=4).cells
        if cell.cell_type == "code" and exercises.has_solution_region(cell.source)
    ]


def test_solutions_hidden_build():
    """No solution line of the full build appears anywhere in the solutions-hidden build."""
    if not (HTML / "index.html").is_file():
        _unavailable(f"no built book at {HTML}: run `jupyter-book build .` first")
    if not (STUDENT_HTML / "index.html").is_file():
        _unavailable(
            f"no solutions-hidden build at {STUDENT_HTML}: run "
            "`LECTURE9_HIDE_SOLUTIONS=1 jupyter-book build . --path-output _build/students`"
        )
    from bs4 import BeautifulSoup  # beautifulsoup4 is in requirements.txt: never a skip

    inside, outside, solution_images = _solution_lines(HTML, PAGES)
    # A line of a solution that also appears outside the solutions (a signature given in
    # the exercise, a marker documented in the API reference) is not secret.
    shown = "\n".join(outside)
    secrets = {
        line for line in inside - outside if len(line) >= MIN_SECRET_LENGTH and line not in shown
    }
    assert secrets, f"the full build at {HTML} has no solution text to check against"

    problems = []
    missing = [page for page in PAGES if not (STUDENT_HTML / f"{page}.html").is_file()]
    if missing:
        problems.append(f"pages missing from the solutions-hidden build: {missing}")
    # _sources/ may hold only the student notebooks behind the download button; the page
    # sources (html_copy_source) would be the full notebooks.
    copied = sorted(
        str(p.relative_to(STUDENT_HTML))
        for p in (STUDENT_HTML / "_sources").rglob("*")
        if p.is_file() and p.suffix != ".ipynb"
    )
    if copied:
        problems.append(
            f"page sources copied into _sources/ (html_copy_source must be off): {copied[:5]}"
        )
    leaked_images = sorted(
        name for name in solution_images if name and (STUDENT_HTML / "_images" / name).exists()
    )
    if leaked_images:
        problems.append(f"solution figures copied into _images/: {leaked_images[:5]}")
    stubs: list[str] = []
    for path in sorted(STUDENT_HTML.rglob("*")):
        if not path.is_file() or path.suffix in {
            ".png",
            ".jpg",
            ".jpeg",
            ".gif",
            ".woff",
            ".woff2",
            ".ttf",
        }:
            continue
        if "_static" in path.relative_to(STUDENT_HTML).parts and path.suffix != ".html":
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        haystack = text
        if path.suffix == ".ipynb":
            notebook = nbformat.reads(text, as_version=4)
            haystack = "\n".join(_notebook_text(notebook))
            if "### BEGIN SOLUTION" in haystack:
                problems.append(
                    f"{path.relative_to(STUDENT_HTML)}: a solution region (### BEGIN SOLUTION)"
                )
        elif path.suffix == ".html":
            soup = BeautifulSoup(text, "html.parser")
            if soup.select("div.solution"):
                problems.append(f"{path.relative_to(STUDENT_HTML)}: contains a solution block")
            # a coding exercise's stub keeps the solution cell's header, signature and
            # docstring on purpose (lecture9.exercises.stub_source, tested in test_assign.py)
            for stub in soup.select("div.lecture9-stub"):
                stubs.append(stub.get_text())
                stub.decompose()
            haystack = str(soup) + "\n" + "\n".join(_lines(soup))
        leaks = sorted(secret for secret in secrets if secret in haystack)
        if leaks:
            problems.append(f"{path.relative_to(STUDENT_HTML)}: solution text {leaks[:3]}")
    coding = len(_coding_exercises())
    if len(stubs) != coding or not all("raise NotImplementedError(" in stub for stub in stubs):
        problems.append(
            f"{len(stubs)} stubs (div.lecture9-stub raising NotImplementedError) for "
            f"{coding} coding exercises: each 'complete ... below' needs its stub"
        )
    assert not problems, "solutions-hidden build leaks solutions:\n  - " + "\n  - ".join(
        problems[:20]
    )


# --- links -------------------------------------------------------------------------

#: The repository of ``_config.yml`` before it is set (book/_ext/lecture9_book.py).
PLACEHOLDER_LINK = re.compile(r"github\.com/OWNER\b|//OWNER\.github\.io", re.IGNORECASE)
_LINK_ATTRIBUTES = {
    "a": "href",
    "link": "href",
    "img": "src",
    "script": "src",
    "iframe": "src",
    "source": "src",
}


def _link_problems(html_dir: Path) -> tuple[int, list[str]]:
    """(number of internal links checked, problems) over every HTML file of a build."""
    from bs4 import BeautifulSoup

    ids: dict[Path, set[str]] = {}

    def anchors(path: Path) -> set[str]:
        if path not in ids:
            soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="ignore"), "html.parser")
            ids[path] = {el["id"] for el in soup.find_all(id=True)} | {
                el["name"] for el in soup.find_all("a", attrs={"name": True})
            }
        return ids[path]

    checked, problems = 0, []
    for page in sorted(html_dir.rglob("*.html")):
        if "_static" in page.relative_to(html_dir).parts:
            continue
        where = page.relative_to(html_dir)
        text = page.read_text(encoding="utf-8", errors="ignore")
        if PLACEHOLDER_LINK.search(text):
            problems.append(
                f"{where}: mentions the placeholder repository ({PLACEHOLDER_LINK.search(text).group(0)})"
            )
        soup = BeautifulSoup(text, "html.parser")
        for tag, attribute in _LINK_ATTRIBUTES.items():
            for element in soup.find_all(tag, attrs={attribute: True}):
                link = element[attribute].strip()
                parts = urlsplit(link)
                if parts.scheme or link.startswith("//") or not link:
                    continue  # external (checked for the placeholder above), mailto:, data:, ...
                checked += 1
                target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file() or not target.is_relative_to(html_dir):
                    problems.append(
                        f"{where}: <{tag} {attribute}={link!r}> leads to no file of the build"
                    )
                elif (
                    parts.fragment
                    and target.suffix == ".html"
                    and unquote(parts.fragment) not in anchors(target)
                ):
                    problems.append(
                        f"{where}: <{tag} {attribute}={link!r}>: no id {parts.fragment!r} in {target.name}"
                    )
    return checked, problems


def test_no_dead_links():
    """No link to the placeholder repository, no internal link or anchor that leads nowhere."""
    if not (HTML / "index.html").is_file():
        _unavailable(f"no built book at {HTML}: run `jupyter-book build .` first")
    checked, problems = _link_problems(HTML)
    assert checked > 0, f"no internal link found in {HTML}"
    assert not problems, (
        f"{len(problems)} dead or placeholder link(s) in {HTML}:\n  - "
        + "\n  - ".join(problems[:30])
    )
