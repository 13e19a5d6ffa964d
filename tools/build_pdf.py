"""Build the book as one PDF, with solutions and without: ``python tools/build_pdf.py``.

Writes

- ``_build/pdf/lecture9.pdf``: the full edition (every solution printed, open);
- ``_build/pdf/lecture9-students.pdf``: the solutions-hidden edition
  (``LECTURE9_HIDE_SOLUTIONS=1``: no solution, its code or its figures);
- ``_build/pdf/<name>.json`` beside each: the chapters and sections with their pages
  (read by ``tests/test_pdf.py``).

The route: Jupyter Book's single-page HTML build of the print edition (``LECTURE9_PRINT=1``,
see ``book/_ext/lecture9_book.py``: the notebooks' stored outputs, no execution; solutions
as open boxes; ``book/_ext/print_static/lecture9-print.css`` for the paper) is printed by
Debian's headless Chromium through Selenium, after MathJax (shipped with the build) has
typeset every formula; a display formula or table wider than the paper's text is scaled
down to fit. Chromium writes the PDF with its links and text; pypdf then adds
the page numbers (in the margins and in the table of contents) and the bookmarks.

Nothing is downloaded: Chromium and chromedriver are Debian packages (``apt-get install
chromium chromium-driver``), the Python packages come from ``requirements.txt``.

The API reference (about 150 pages of docstrings) is left out unless ``--with-api``: the
site serves it; a link to it in a chapter keeps its text in the PDF.

Options: ``--edition full|students|both`` (default both, built side by side),
``--no-build`` to print the single-page HTML already in ``_build/pdf/html-<edition>``,
``--with-api`` to print the API reference too.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "pdf"
# Left out of the PDF unless ``--with-api``: the API reference is about 150 pages of
# docstrings, a third of the book, which readers look up in the site or with help()
# rather than print; leaving it out also takes a third off the time to typeset and print.
LEFT_OUT = {"book/api": "the API reference"}
PAGE_TIMEOUT_S = 300
PRINT_TIMEOUT_S = 900
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]


@dataclass(frozen=True)
class Edition:
    """One PDF: its name, the environment of its build and the line on its title page."""

    key: str
    pdf_name: str
    env: dict
    label: str


EDITIONS = {
    "full": Edition(
        "full", "lecture9.pdf", {}, "Full edition, with the solutions to the exercises"
    ),
    "students": Edition(
        "students",
        "lecture9-students.pdf",
        {"LECTURE9_HIDE_SOLUTIONS": "1"},
        "Students' edition, without solutions",
    ),
}


def html_dir(edition: Edition) -> Path:
    """The single-page HTML build of an edition."""
    return OUT / f"html-{edition.key}" / "_build" / "singlehtml"


def book_config() -> tuple[dict, dict]:
    """``_config.yml`` and ``_toc.yml``, parsed."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return config, toc


def parts_of(toc: dict) -> list[dict]:
    """The parts of the table of contents: caption, numbered, and their documents."""
    return [
        {
            "caption": part.get("caption", ""),
            "numbered": bool(part.get("numbered", False)),
            "docs": [str(chapter["file"]) for chapter in part.get("chapters", [])],
        }
        for part in toc.get("parts", [])
    ]


def unexecuted_notebooks() -> list[str]:
    """The chapters' notebooks with a code cell never executed: the PDF prints no output for it."""
    import nbformat

    _, toc = book_config()
    found = []
    for part in parts_of(toc):
        for doc in part["docs"]:
            path = ROOT / f"{doc}.ipynb"
            if not path.is_file():
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # nbformat: cells without ids
                cells = nbformat.read(path, as_version=4).cells
            missing = sum(1 for c in cells if c.cell_type == "code" and c.execution_count is None)
            if missing:
                found.append(f"{path.relative_to(ROOT)} ({missing} code cells never executed)")
    return found


# --- the single-page HTML ------------------------------------------------------------


def build_html(edition: Edition, left_out: dict[str, str], log) -> Path:
    """``jupyter-book build --builder singlehtml`` of the print edition; returns the page to print."""
    target = OUT / f"html-{edition.key}"
    env = {k: v for k, v in os.environ.items() if k != "LECTURE9_HIDE_SOLUTIONS"}
    env.update({"LECTURE9_PRINT": "1", **edition.env})
    jupyter_book = (
        shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or "jupyter-book"
    )
    command = [
        jupyter_book,
        "build",
        str(ROOT),
        "--builder",
        "singlehtml",
        "--path-output",
        str(target),
        "--keep-going",
    ]
    started = time.time()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    (OUT / f"build-{edition.key}.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise RuntimeError(
            f"single-page build of the {edition.key} edition failed; see {OUT / f'build-{edition.key}.log'}:\n"
            + (result.stdout + result.stderr)[-3000:]
        )
    log(f"{edition.key}: single-page HTML built in {time.time() - started:.0f} s")
    return print_page(edition, left_out)


def print_page(edition: Edition, left_out: dict[str, str]) -> Path:
    """The root page, copied to the top of the build (its links are relative to that folder).

    The documents of ``left_out`` are removed, and every link within the book is made a
    link within the page: the single-page build links to its root page by file name
    (``book/intro.html#...``), which in a PDF would point at a file on the build machine.
    A link into a document left out keeps its text and loses its target.
    """
    from urllib.parse import unquote

    from bs4 import BeautifulSoup

    folder = html_dir(edition)
    _, toc = book_config()
    root_page = folder / f"{toc['root']}.html"
    if not root_page.is_file():
        raise FileNotFoundError(f"no single-page build at {root_page}: run without --no-build")
    soup = BeautifulSoup(root_page.read_text(encoding="utf-8"), "html.parser")
    for doc in left_out:
        span = soup.find(id=f"document-{doc}")
        if span is None:
            raise RuntimeError(f"{doc} is not in the single-page build: cannot leave it out")
        section = span.find_next_sibling("section")
        if section is not None:
            section.decompose()
        span.decompose()
    ids = {element["id"] for element in soup.find_all(id=True)}
    own = {"", f"{toc['root']}.html", "print.html"}
    for link in soup.find_all("a", href=True):
        path, hash_sign, anchor = link["href"].partition("#")
        if path not in own:
            continue  # another site, a download, an image
        if hash_sign and unquote(anchor) in ids:
            link["href"] = f"#{anchor}"
        else:
            link.unwrap()
    page = folder / "print.html"
    page.write_text(str(soup), encoding="utf-8")
    return page


# --- printing ------------------------------------------------------------------------

WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
document.documentElement.dataset.theme = "light";
document.documentElement.dataset.mode = "light";
const images = Array.from(document.images);
images.forEach((img) => { img.loading = "eager"; });
const loaded = Promise.all(images.map((img) => img.complete ? null : new Promise((resolve) => {
  img.addEventListener("load", resolve); img.addEventListener("error", resolve);
})));
const typeset = new Promise((resolve) => {
  if (!document.querySelector(".math")) { resolve("no math"); return; }
  (function wait() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(() => resolve("ok"), (e) => resolve("error: " + e));
    } else {
      setTimeout(wait, 50);
    }
  })();
});
Promise.all([loaded, typeset]).then(([_, math]) => done({
  math: math,
  images: images.length,
  broken: images.filter((img) => !img.naturalWidth).map((img) => img.getAttribute("src")),
  untypeset: document.querySelectorAll(".math:not(:has(mjx-container))").length,
}));
"""

# Title page, table of contents, chapter classes and part names; returns the entries of
# the table of contents (id, level, text) for the bookmarks and the manifest.
PREPARE = """
const [meta, parts] = arguments;
const article = document.querySelector("article.bd-article") || document.querySelector("main");
document.title = meta.title;
const textOf = (heading) => {
  const clone = heading.cloneNode(true);
  clone.querySelectorAll(".headerlink").forEach((el) => el.remove());
  clone.querySelectorAll("mjx-container").forEach((el) => {
    const mml = el.querySelector("mjx-assistive-mml");
    el.replaceWith(document.createTextNode(mml ? mml.textContent : ""));
  });
  return clone.textContent.replace(/\\s+/g, " ").trim();
};
const htmlOf = (heading) => {
  const clone = heading.cloneNode(true);
  clone.querySelectorAll(".headerlink, mjx-assistive-mml").forEach((el) => el.remove());
  clone.querySelectorAll("[id]").forEach((el) => el.removeAttribute("id"));
  return clone.innerHTML;
};
const partOf = {};
parts.forEach((part) => part.docs.forEach((doc, i) => {
  partOf[doc] = {caption: part.caption, first: i === 0, numbered: part.numbered};
}));
// The root page (the introduction) and the chapters: each opens a page.
const intro = article.querySelector("section");
intro.classList.add("l9-chapter");
const introHeading = intro.querySelector("h1, h2");
introHeading.childNodes.forEach((n) => { if (n.nodeType === 3) n.remove(); });
introHeading.insertBefore(document.createTextNode("Introduction"), introHeading.firstChild);
const chapters = [{doc: meta.root, section: intro, part: null}];
article.querySelectorAll('span[id^="document-"]').forEach((span) => {
  const section = span.nextElementSibling;
  if (!section || section.tagName !== "SECTION") return;
  const doc = span.id.slice("document-".length);
  section.classList.add("l9-chapter");
  chapters.push({doc: doc, section: section, part: partOf[doc] || null});
});
const entries = [];
const toc = document.createElement("nav");
toc.id = "l9-toc";
toc.innerHTML = "<h1>Contents</h1>";
let lastPart = null;
for (const chapter of chapters) {
  const heading = chapter.section.querySelector("h1, h2");
  const part = chapter.part;
  if (part && part.caption !== lastPart) {
    lastPart = part.caption;
    const p = document.createElement("p");
    p.className = "l9-toc-part";
    p.textContent = part.caption;
    toc.appendChild(p);
    if (part.first) {
      const kicker = document.createElement("p");
      kicker.className = "l9-part";
      kicker.textContent = part.caption;
      chapter.section.insertBefore(kicker, heading);
    }
  }
  const add = (section, head, level) => {
    // section ids repeat across the pages of a single-page build ("exercises"): each
    // entry's heading gets an id of its own. The id goes on the heading itself, not on
    // an empty span inside it: Chromium places an empty inline element's destination on
    // the page before a page break, so a chapter or a heading pushed to the next page
    // would be listed one page early.
    const id = "l9-toc-" + entries.length;
    head.id = id;
    const a = document.createElement("a");
    a.className = "l9-toc-entry " + (level === 1 ? "l9-toc-chapter" : "l9-toc-section");
    a.href = "#" + id;
    a.innerHTML = htmlOf(head);
    toc.appendChild(a);
    entries.push({id: id, level: level, text: textOf(head), doc: chapter.doc,
                  numbered: !!(part && part.numbered)});
  };
  add(chapter.section, heading, 1);
  if (part && part.numbered) {
    chapter.section.querySelectorAll(":scope > section").forEach((sub) => {
      const h = sub.querySelector(":scope > h2, :scope > h3");
      if (h && sub.id) add(sub, h, 2);
    });
  }
}
const title = document.createElement("div");
title.id = "l9-title-page";
title.innerHTML = '<div class="l9-title"></div><div class="l9-author"></div>'
  + '<div class="l9-edition"></div><div class="l9-date"></div>';
title.querySelector(".l9-title").textContent = meta.title;
title.querySelector(".l9-author").textContent = meta.author;
title.querySelector(".l9-edition").textContent = meta.edition;
title.querySelector(".l9-date").textContent = meta.date;
article.insertBefore(toc, article.firstChild);
article.insertBefore(title, toc);
return entries;
"""

# Run while the page is laid out as on paper (print media, the text block's width): a
# display formula or a table wider than its column is scaled down to fit (MathJax 3 does
# not break lines, and paper cannot scroll sideways); returns what was scaled, and what is
# still too wide (scaled no further than MIN_SCALE, to stay legible).
FIT_TO_PAGE = """
const minScale = arguments[0];
const article = document.querySelector("article.bd-article") || document.querySelector("main");
const fitted = [], tooWide = [];
const fit = (el, inner) => {
  const available = el.clientWidth;
  const natural = Math.max(el.scrollWidth, inner ? inner.getBoundingClientRect().width : 0);
  if (!available || natural <= available + 1) return;
  const scale = Math.max(minScale, 0.98 * available / natural);
  el.style.fontSize = (100 * scale).toFixed(1) + "%";
  const what = (el.textContent || "").replace(/\\s+/g, " ").trim().slice(0, 60);
  fitted.push({scale: scale, what: what});
  const after = Math.max(el.scrollWidth, inner ? inner.getBoundingClientRect().width : 0);
  if (after > el.clientWidth + 1) tooWide.push(what);
};
article.querySelectorAll('mjx-container[display="true"]').forEach(
  (el) => fit(el, el.querySelector("mjx-math")));
article.querySelectorAll("table").forEach((table) => {
  const box = table.parentElement;
  if (table.getBoundingClientRect().width > box.clientWidth + 1) {
    const scale = Math.max(minScale, 0.98 * box.clientWidth / table.getBoundingClientRect().width);
    table.style.fontSize = (100 * scale * 0.9).toFixed(1) + "%";
    fitted.push({scale: scale, what: "table: " + table.textContent.trim().slice(0, 50)});
    if (table.getBoundingClientRect().width > box.clientWidth + 1) {
      tooWide.push("table: " + table.textContent.trim().slice(0, 50));
    }
  }
});
return {fitted: fitted, tooWide: tooWide, width: article.clientWidth};
"""
MIN_SCALE = 0.6
# A4 (210 mm) less the side margins of lecture9-print.css (2 x 17 mm), in CSS pixels
TEXT_WIDTH_PX = round((210 - 2 * 17) / 25.4 * 96)


def fit_to_page(driver, edition: Edition, log) -> None:
    """Scale down what is wider than the paper's text block (laid out as for print)."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": TEXT_WIDTH_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        result = driver.execute_script(FIT_TO_PAGE, MIN_SCALE)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    scales = [item["scale"] for item in result["fitted"]]
    log(
        f"{edition.key}: {len(scales)} wide formula(s) or table(s) scaled to the text width "
        f"({result['width']} px)" + (f", the smallest to {min(scales):.0%}" if scales else "")
    )
    for what in result["tooWide"]:
        log(f"{edition.key}: still wider than the page at {MIN_SCALE:.0%}: {what}")


def chromium_driver(profile: str):
    """Debian's headless Chromium through Selenium and Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = next(
        (
            shutil.which(n)
            for n in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(n)
        ),
        None,
    )
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        raise SystemExit(
            "headless Chromium is missing: apt-get install -y chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    driver.set_script_timeout(PAGE_TIMEOUT_S)
    # printing a few hundred pages takes over the client's default 120 s on a busy machine
    driver.command_executor.client_config.timeout = PRINT_TIMEOUT_S
    return driver


def print_to_pdf(page: Path, edition: Edition, log) -> tuple[bytes, list[dict]]:
    """Open the single page, wait for images and MathJax, add title page and contents, print."""
    config, toc = book_config()
    meta = {
        "title": str(config.get("title", "")),
        "author": str(config.get("author", "")),
        "edition": edition.label,
        "date": dt.date.today().strftime("%d %B %Y").lstrip("0"),
        "root": str(toc["root"]),
    }
    profile = tempfile.mkdtemp(prefix="lecture9-pdf-")
    driver = chromium_driver(profile)
    try:
        started = time.time()
        driver.get(page.as_uri())
        state = driver.execute_async_script(WAIT_FOR_PAGE)
        if state["math"] not in ("ok", "no math") or state["untypeset"] or state["broken"]:
            raise RuntimeError(f"{edition.key}: the page did not render completely: {state}")
        entries = driver.execute_script(PREPARE, meta, parts_of(toc))
        fit_to_page(driver, edition, log)
        log(f"{edition.key}: page loaded and typeset in {time.time() - started:.0f} s")
        started = time.time()
        result = driver.execute_cdp_cmd(
            "Page.printToPDF",
            {
                "printBackground": True,
                "preferCSSPageSize": True,
                "displayHeaderFooter": False,
                "generateTaggedPDF": False,  # tags double the time pypdf needs; see README
            },
        )
        log(f"{edition.key}: printed in {time.time() - started:.0f} s")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return base64.b64decode(result["data"]), entries


# --- page numbers, bookmarks ---------------------------------------------------------


HELVETICA = {
    "/Type": "/Font",
    "/Subtype": "/Type1",
    "/BaseFont": "/Helvetica",
    "/Encoding": "/WinAnsiEncoding",
}


def _text_ops(items: list[tuple[float, float, float, str, str]]) -> bytes:
    """PDF operators drawing text items (x, y, size, align, text); align "l", "c" or "r"."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    def width_of(text: str, size: float) -> float:
        # Helvetica: digits 0.556 em, other characters about 0.5 em (right and centred
        # alignment are used for page numbers only)
        return sum(0.556 if c.isdigit() else 0.5 for c in text) * size

    ops = ["Q q BT"]  # the page's own graphics state closed: our coordinates are in points
    for x, y, size, align, text in items:
        shift = {"l": 0.0, "c": width_of(text, size) / 2, "r": width_of(text, size)}[align]
        ops.append(
            f"/L9F {size:.1f} Tf 0.35 g 1 0 0 1 {x - shift:.2f} {y:.2f} Tm ({escape(text)}) Tj"
        )
    ops.append("ET Q")
    return "\n".join(ops).encode("cp1252", errors="replace")


def _stamp(writer, page, items, font_ref) -> None:
    """Draw text over a page: its content is wrapped in q ... Q and ours appended after it."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    def stream(data: bytes):
        obj = DecodedStreamObject()
        obj.set_data(data)
        return writer._add_object(obj.flate_encode())

    contents = page["/Contents"]
    old = list(contents) if isinstance(contents.get_object(), ArrayObject) else [contents]
    page[NameObject("/Contents")] = ArrayObject([stream(b"q"), *old, stream(_text_ops(items))])
    resources = page["/Resources"].get_object()
    fonts = resources.get("/Font")
    fonts = fonts.get_object() if fonts is not None else DictionaryObject()
    fonts[NameObject("/L9F")] = font_ref
    resources[NameObject("/Font")] = fonts


def finish_pdf(
    raw: bytes, entries: list[dict], edition: Edition, meta_title: str, left_out: dict[str, str]
) -> dict:
    """Page numbers, running heads, contents page numbers and bookmarks; writes the PDF and its manifest."""
    import io

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    # Chromium's cross-reference table is one entry short ("Object count ... exceeds
    # defined trailer size"): pypdf reads it correctly and says so on every run
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    (OUT / f"html-{edition.key}" / "chromium.pdf").write_bytes(raw)  # as printed, for comparison
    reader = PdfReader(io.BytesIO(raw))
    dests = reader.named_destinations
    for entry in entries:
        dest = dests.get("/" + entry["id"])
        entry["page"] = reader.get_destination_page_number(dest) + 1 if dest is not None else None
    missing = [e["id"] for e in entries if e["page"] is None]
    if missing:
        raise RuntimeError(f"{edition.key}: no page found for {missing[:5]}")
    first_body_page = entries[0]["page"]  # the introduction opens the body of the book
    page_of = {"/" + e["id"]: e["page"] for e in entries}

    writer = PdfWriter(clone_from=reader)
    font_ref = writer._add_object(
        DictionaryObject({NameObject(k): NameObject(v) for k, v in HELVETICA.items()})
    )
    chapters = [e for e in entries if e["level"] == 1]
    for index, page in enumerate(writer.pages, 1):
        box = page.mediabox
        width, height = float(box.width), float(box.height)
        items = []
        if index > 1:
            items.append((width / 2, 28.0, 8.5, "c", str(index)))
        if index >= first_body_page:
            current = [c for c in chapters if c["page"] <= index]
            if current and current[-1]["page"] != index:
                items.append((48.0, height - 34.0, 7.5, "l", current[-1]["text"]))
            items.append((width - 48.0, height - 34.0, 7.5, "r", meta_title))
        else:
            for annot in page.get("/Annots", []) or []:
                annot = annot.get_object()
                target = page_of.get(str(annot.get("/Dest", "")))
                if annot.get("/Subtype") == "/Link" and target:
                    x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
                    items.append((x2, y1 + 0.28 * (y2 - y1), 9.5, "r", str(target)))
        if items:
            _stamp(writer, page, items, font_ref)
    parents: dict[int, object] = {}
    for entry in entries:
        parent = parents.get(1) if entry["level"] == 2 else None
        item = writer.add_outline_item(
            title=entry["text"], page_number=entry["page"] - 1, parent=parent
        )
        if entry["level"] == 1:
            parents[1] = item
    writer.add_metadata(
        {"/Title": f"{meta_title} ({edition.label})", "/Author": book_config()[0].get("author", "")}
    )
    writer.page_mode = "/UseOutlines"
    target = OUT / edition.pdf_name
    with open(target, "wb") as handle:
        writer.write(handle)
    manifest = {
        "pdf": edition.pdf_name,
        "edition": edition.key,
        "pages": len(writer.pages),
        "html": str(html_dir(edition).relative_to(ROOT) / "print.html"),
        "entries": entries,
        "left_out": sorted(left_out),
    }
    target.with_suffix(".json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def build_edition(edition: Edition, build: bool, left_out: dict[str, str], log) -> dict:
    """Build (unless told not to), print and finish one edition."""
    started = time.time()
    page = build_html(edition, left_out, log) if build else print_page(edition, left_out)
    raw, entries = print_to_pdf(page, edition, log)
    title = str(book_config()[0].get("title", ""))
    manifest = finish_pdf(raw, entries, edition, title, left_out)
    log(
        f"{edition.key}: {OUT / edition.pdf_name} ({manifest['pages']} pages) in {time.time() - started:.0f} s"
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edition", choices=["full", "students", "both"], default="both")
    parser.add_argument(
        "--no-build", action="store_true", help="print the existing single-page HTML"
    )
    parser.add_argument(
        "--with-api", action="store_true", help="print the API reference too (about 150 pages)"
    )
    args = parser.parse_args(argv)
    left_out = {} if args.with_api else LEFT_OUT
    OUT.mkdir(parents=True, exist_ok=True)
    editions = list(EDITIONS.values()) if args.edition == "both" else [EDITIONS[args.edition]]

    def log(message: str) -> None:
        print(message, flush=True)

    for notebook in unexecuted_notebooks():
        log(f"warning: {notebook}: the PDF uses stored outputs, so these cells print none")
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(editions)) as pool:
        futures = [
            pool.submit(build_edition, edition, not args.no_build, left_out, log)
            for edition in editions
        ]
        for future in futures:
            future.result()
    log(f"PDF edition(s) built in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
