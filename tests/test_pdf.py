"""The PDF editions of the book (``python tools/build_pdf.py``), read back as a reader would.

For ``_build/pdf/lecture9.pdf`` (full) and ``_build/pdf/lecture9-students.pdf``
(solutions hidden), with the text extracted by poppler's ``pdftotext``:

- every document of ``_toc.yml`` is in the PDF, in order, its title on the page the
  table of contents gives for it;
- no raw TeX or MyST markup is left in the text (``$``, ``\\frac``, ``{exercise}``, ...);
- the PDF holds as many figures as the HTML edition has images, each on one page only
  (a figure split across two pages would be counted twice);
- every link leads to a page of the PDF or to a web address, none to a file of the build;
- the full edition prints every solution; the students' edition none: no line of a
  solution of the full build appears in it;
- the first page of each chapter is rendered (``pdftoppm``) to
  ``_build/pdf/pages/<edition>-<chapter>.png`` for a person to look at.

They run when selected, ``pytest -m pdf tests/test_pdf.py``; a plain ``pytest`` skips them
at once (a PDF left in ``_build/pdf`` may be older than the notebooks). They skip where a
PDF, poppler-utils or the HTML edition is missing, unless the environment sets
``LECTURE9_REQUIRE_PDF=1`` (as ``.ci/run`` does): then they fail.
``LECTURE9_BOOK_HTML`` and ``LECTURE9_STUDENT_HTML`` point at the HTML editions, as for
tests/test_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from test_browser import _coding_exercises  # the solution cells of the coding exercises
from test_browser import toc_pages as toc_docs  # the documents in reading order

pytestmark = pytest.mark.pdf

ROOT = Path(__file__).resolve().parents[1]
PDF_DIR = ROOT / "_build" / "pdf"
PAGES_DIR = PDF_DIR / "pages"
REQUIRE = os.environ.get("LECTURE9_REQUIRE_PDF", "") == "1"
EDITIONS = {
    "full": (
        PDF_DIR / "lecture9.pdf",
        Path(os.environ.get("LECTURE9_BOOK_HTML", ROOT / "_build" / "html")),
    ),
    "students": (
        PDF_DIR / "lecture9-students.pdf",
        Path(
            os.environ.get(
                "LECTURE9_STUDENT_HTML", ROOT / "_build" / "students" / "_build" / "html"
            )
        ),
    ),
}

# What only survives when something was not rendered: TeX delimiters and commands
# (``\frac``, ``\theta_t``), MathJax's error box, MyST directives and roles, reST roles
# (``:math:`...```), colon fences.
RAW_MARKUP = re.compile(
    r"\$|\\[()\[\]]|\\[A-Za-z]+|Math input error"
    r"|\{(?:exercise|solution|solution-start|solution-end|ref|numref|eq|doc|cite|cite:p|cite:t|math|"
    r"figure|admonition|note|warning|glue|code-cell|bibliography|prf:[a-z]+|py:[a-z]+)\}"
    r"|:[a-z]+:`|^:::|```"
)


def _unavailable(message: str):
    if REQUIRE:
        pytest.fail(f"{message} (LECTURE9_REQUIRE_PDF=1, so this is an error, not a skip)")
    pytest.skip(message)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        _unavailable(f"{name} is missing (Debian: apt-get install -y poppler-utils)")
    return path


def source_title(doc: str) -> str:
    """The first ``# `` heading of a chapter's notebook or Markdown file."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{doc}{suffix}"
        if path.is_file():
            if suffix == ".ipynb":
                cells = nbformat.read(path, as_version=4).cells
                text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
            else:
                text = path.read_text(encoding="utf-8")
            match = re.search(r"^# (.+)$", text, re.M)
            assert match, f"{path} has no '# ' title"
            return match.group(1).strip()
    raise AssertionError(f"no source for {doc}")


def _squash(text: str) -> str:
    """Text without whitespace and soft hyphens: line breaks and wrapping do not matter."""
    return re.sub(r"[\s\u00ad]+", "", text)


class Pdf:
    """One built PDF: its per-page text, its manifest and its images."""

    def __init__(self, path: Path):
        self.path = path
        self.manifest = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        text = subprocess.run(
            [_tool("pdftotext"), "-enc", "UTF-8", str(path), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.pages = text.split("\f")
        if self.pages and not self.pages[-1].strip():
            self.pages.pop()
        self.text = "\n".join(self.pages)

    def images(self) -> list[tuple[int, str]]:
        """(page, object id) of every image drawn; masks of transparent images excluded."""
        listing = subprocess.run(
            [_tool("pdfimages"), "-list", str(self.path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()[2:]
        rows = [line.split() for line in listing if line.strip()]
        return sorted({(int(r[0]), r[10]) for r in rows if r[2] == "image"})


_CACHE: dict[str, Pdf] = {}


@pytest.fixture(params=list(EDITIONS), scope="module")
def pdf(request) -> Pdf:
    if not REQUIRE and "pdf" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the PDF checks run when selected: pytest -m pdf tests/test_pdf.py")
    path, _ = EDITIONS[request.param]
    if not (path.is_file() and path.with_suffix(".json").is_file()):
        _unavailable(f"no PDF at {path}: run `python tools/build_pdf.py` first")
    if request.param not in _CACHE:
        _CACHE[request.param] = Pdf(path)
    return _CACHE[request.param]


def _chapters(pdf: Pdf) -> list[dict]:
    return [e for e in pdf.manifest["entries"] if e["level"] == 1]


def test_every_chapter_in_order(pdf):
    """Every document of the table of contents, in order, its title on its first page."""
    chapters = _chapters(pdf)
    expected = [doc for doc in toc_docs() if doc not in pdf.manifest.get("left_out", [])]
    assert [c["doc"] for c in chapters] == expected, "the PDF's chapters differ from _toc.yml"
    assert len([doc for doc in expected if re.match(r"book/\d\d_", doc)]) == 11
    pages = [c["page"] for c in chapters]
    assert pages == sorted(pages) and len(set(pages)) == len(pages), (
        f"chapters out of order: {pages}"
    )
    squashed = _squash(pdf.text)
    for chapter in chapters:
        title = source_title(chapter["doc"])
        assert _squash(title) in squashed, (
            f"chapter title {title!r} not in the text of {pdf.path.name}"
        )
        if chapter["doc"] != chapters[0]["doc"]:  # the introduction's title is the book's
            page = pdf.pages[chapter["page"] - 1]
            assert _squash(title) in _squash(page), f"{title!r} not on page {chapter['page']}"
    # the contents, with the page numbers of the chapters
    assert pdf.pages[1].split()[:1] == ["Contents"], "page 2 does not open with 'Contents'"
    contents = "".join(pdf.pages[1 : chapters[0]["page"] - 1])
    for chapter in chapters[1:]:
        assert _squash(chapter["text"]) + str(chapter["page"]) in _squash(contents), (
            f"contents lack {chapter['text']!r} on page {chapter['page']}"
        )


def test_numbered_sections(pdf):
    """Numbered chapters print their numbered sections ("4.2. Deriving ...")."""
    sections = [e for e in pdf.manifest["entries"] if e["level"] == 2]
    assert len(sections) >= 3 * 11, f"only {len(sections)} numbered sections"
    for section in sections:
        assert re.match(r"\d+\.\d+\. ", section["text"]), section
        assert _squash(section["text"])[:30] in _squash(pdf.pages[section["page"] - 1]), section


def _code_of(html_page: Path) -> tuple[str, list[str]]:
    """The squashed text of a page's code blocks and signatures, and its inline code (longest first)."""
    from bs4 import BeautifulSoup

    main = BeautifulSoup(html_page.read_text(encoding="utf-8"), "html.parser")
    # code cells, printed output and the API reference's signatures (default plot labels are TeX)
    blocks = "\n".join(_squash(el.get_text()) for el in main.select("pre, dt.sig"))
    inline = {
        _squash(code.get_text())
        for code in main.find_all("code")
        if code.find_parent("pre") is None
    }
    return blocks, sorted((s for s in inline if s), key=len, reverse=True)


def test_no_raw_markup(pdf):
    """No TeX or MyST markup in the text: every formula typeset, every directive rendered.

    Code is left out: a plot label in a code cell or a signature is TeX on purpose
    (``r"$\\hat{\\pi}_n$"``), and the instructors' page shows MyST syntax as inline code.
    """
    blocks, inline = _code_of(ROOT / pdf.manifest["html"])
    found = []
    for number, page in enumerate(pdf.pages, 1):
        for line in page.splitlines():
            if not RAW_MARKUP.search(line):
                continue
            squashed = _squash(line)
            if squashed in blocks:
                continue
            for snippet in inline:
                squashed = squashed.replace(snippet, " ")
            match = RAW_MARKUP.search(squashed)
            if match:
                found.append(f"page {number}: {match.group(0)!r} in {line.strip()[:100]!r}")
    assert not found, f"{len(found)} line(s) with raw markup in {pdf.path.name}:\n" + "\n".join(
        found[:20]
    )


def _html_images(html: Path, left_out: list[str]) -> int:
    from bs4 import BeautifulSoup

    count = 0
    for doc in toc_docs():
        if doc in left_out:
            continue
        page = html / f"{doc}.html"
        assert page.is_file(), f"the HTML edition lacks {page}"
        main = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select_one("main")
        count += len(main.find_all("img")) if main else 0
    return count


def test_as_many_figures_as_html(pdf):
    """Every image of the HTML edition is in the PDF, each on one page (none split)."""
    html = EDITIONS[pdf.manifest["edition"]][1]
    if not (html / "index.html").is_file():
        _unavailable(f"no HTML edition at {html} to count its images: build the book first")
    expected = _html_images(html, pdf.manifest.get("left_out", []))
    images = pdf.images()
    assert expected > 0, f"no images in {html}"
    assert len(images) == expected, (
        f"{pdf.path.name}: {len(images)} images drawn (page, object) against {expected} in {html}; "
        "more means a figure split across pages, fewer a figure lost"
    )


def test_links_stay_inside(pdf):
    """Every link is a page of the PDF or a web address: none points at a file of the build."""
    from pypdf import PdfReader

    reader = PdfReader(pdf.path)
    internal, outside = 0, []
    for number, page in enumerate(reader.pages, 1):
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            action = annot.get("/A")
            uri = str(action.get_object().get("/URI", "")) if action is not None else ""
            if annot.get("/Dest") is not None or (action is not None and not uri):
                internal += 1
            elif uri and not uri.startswith(("http://", "https://", "mailto:")):
                outside.append(f"page {number}: {uri[:100]}")
    assert internal > 100, f"only {internal} links within {pdf.path.name}"
    assert not outside, f"{len(outside)} link(s) to files, e.g. {outside[:3]}"


def _solution_lines(html: Path) -> tuple[set[str], int]:
    """Squashed lines (30+ characters) found only inside solutions, and the number of solutions."""
    from bs4 import BeautifulSoup

    inside, outside, count = set(), set(), 0
    for doc in toc_docs():
        main = BeautifulSoup(
            (html / f"{doc}.html").read_text(encoding="utf-8"), "html.parser"
        ).select_one("main")
        if main is None:
            continue
        for element in main.select(".math, mjx-container, script, style"):
            element.decompose()
        solutions = main.select("div.solution")
        count += len(solutions)
        for solution in solutions:
            solution.select_one(".admonition-title").decompose()
            inside |= {_squash(line) for line in solution.get_text("\n").splitlines()}
            solution.decompose()
        outside |= {_squash(line) for line in main.get_text("\n").splitlines()}
    # a line is the solution's own only if the rest of the book never prints it, not even
    # inside a longer line (the instructors' page quotes a solution cell's first line)
    elsewhere = "\n".join(outside)
    return {line for line in inside - outside if len(line) >= 30 and line not in elsewhere}, count


def _stubs() -> list[str]:
    """The stub of every coding exercise of the book, as the students' edition prints it."""
    from lecture9 import exercises

    return [exercises.stub_source(source) for source in _coding_exercises()]


def test_solutions_in_full_edition_only(pdf):
    """The full edition prints the solutions; the students' edition has none of their lines."""
    full_html = EDITIONS["full"][1]
    if not (full_html / "index.html").is_file():
        _unavailable(
            f"no HTML edition at {full_html} to read the solutions from: build the book first"
        )
    secrets, count = _solution_lines(full_html)
    assert count and secrets, "the full HTML edition has no solutions to look for"
    squashed = _squash(pdf.text)
    printed = sorted(line for line in secrets if line in squashed)
    headings = len(re.findall(r"Solution to Exercise", pdf.text))
    if pdf.manifest["edition"] == "full":
        assert headings >= count, f"{headings} of {count} solutions printed"
        assert len(printed) >= 0.9 * len(secrets), (
            f"only {len(printed)} of {len(secrets)} solution lines found in the text of {pdf.path.name}"
        )
    else:
        assert headings == 0, f"{headings} solution heading(s) in {pdf.path.name}"
        # each coding exercise's stub (header, signature, docstring) is printed on purpose
        stubs = _squash("\n".join(_stubs()))
        printed = [line for line in printed if line not in stubs]
        assert not printed, (
            f"{len(printed)} solution line(s) in {pdf.path.name}, e.g. {printed[:3]}"
        )


def test_chapter_pages_rendered(pdf):
    """The first page of every chapter as a PNG in _build/pdf/pages/, for a person to look at."""
    from PIL import Image

    PAGES_DIR.mkdir(parents=True, exist_ok=True)
    edition = pdf.manifest["edition"]
    for old in PAGES_DIR.glob(f"{edition}-*.png"):  # none left from an earlier build
        old.unlink()
    for chapter in _chapters(pdf):
        name = f"{edition}-{Path(chapter['doc']).name}"
        stem = PAGES_DIR / name
        subprocess.run(
            [
                _tool("pdftoppm"),
                "-png",
                "-r",
                "80",
                "-singlefile",
                "-f",
                str(chapter["page"]),
                "-l",
                str(chapter["page"]),
                str(pdf.path),
                str(stem),
            ],
            check=True,
            capture_output=True,
        )
        png = stem.with_suffix(".png")
        with Image.open(png) as image:
            extrema = image.convert("L").getextrema()
        assert extrema[0] < 128, f"{png} is blank"
