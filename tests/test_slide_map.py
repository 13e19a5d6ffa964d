"""The instructors' slide map (book/slide_map.md) covers every slide heading and resolves.

``SLIDE_HEADINGS`` are the headings of the lecture's slides, in slide order, as the slides'
text gives them (without bullet marks). Every one must be the first cell of a row of the
map's first table. Every ``{ref}`` target on the page must be a label defined in the book
(a MyST ``(label)=`` target, an exercise's ``:label:`` or a figure's name) and every
``{doc}`` target an existing page. Where the slides' text is available
(``LECTURE9_SLIDES_TXT``, or ``shared/reference/lecture9-slides.txt`` next to or inside the
repository), its markdown headings are checked against ``SLIDE_HEADINGS`` too.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
MAP = BOOK / "slide_map.md"

SLIDE_HEADINGS = [
    "Lecture 9: Deep Sampling & Stochastic Gradients Efstratios Gavves",
    "VAE Training Pseudocode",
    "Data:",
    r"$\int_{z} q_{\varphi}(z|x) \log p_{\theta}(x|z) \, dz$",
    r"We set the prior $p_{\lambda}(z)$ to be the unit Gaussian $p(z) \sim N(0, 1)$",
    "We set the likelihood to be a Bernoulli for binary data",
    r"$p(x|z) \sim Bernoulli(\pi)$",
    "Monte Carlo Estimation Monte Carlo Simulation",
    "How it started",
    "Stanislav Ulam",
    "John von Neumann",
    "Manhattan project",
    r"Estimating $\pi$ with Monte Carlo: A toy example",
    "How is it done algorithmically? What is our F(x), f(x) and p(x)?",
    r"Estimating $\pi$ with Monte Carlo: Revisiting",
    "Challenges with sensitivity analysis",
    "Minimum variance",
    "Score-function estimator (aka REINFORCE)",
    r"This estimator revolves around the following derivative "
    r"$\frac{d \log f(x)}{dx} = \frac{1}{f(x)} \cdot \frac{df(x)}{dx}$",
    r"Or with pdfs $\nabla_{\theta} \log p(x;\theta) = \frac{1}{p(x;\theta)} \nabla_{\theta} p(x;\theta)$",
    "Pathwise gradient estimator (aka reparameterization trick)",
    "Deriving pathwise gradients",
    r"We can instead first sample from $\varepsilon \sim N(0, 1)$",
    "Pathwise gradient estimator properties",
    "Qualitative comparison between estimators (1)",
    "Revisiting VAE learning",
    "Reparameterization Trick (graphically)",
    r"$z \sim N(\mu_Z, \sigma_Z)$",
    "Summary",
]

ROLE = re.compile(r"\{(ref|doc)\}`([^`<]*?)(?:<([^>]+)>)?`")


def normalize(heading: str) -> str:
    """A slide heading without bullet marks (•, o, $\\circ$) and with single spaces."""
    text = re.sub(r"\\circ\s*", "", heading)
    text = re.sub(r"(^|\s)[•o](?=\s)", " ", text)
    text = text.replace("$ $", " ").replace("$$", "")
    return " ".join(text.split()).strip()


def _rows(table: str) -> list[list[str]]:
    rows, current = [], None
    for line in table.splitlines():
        if line.startswith("* - "):
            current = [line[4:].strip()]
            rows.append(current)
        elif line.startswith("  - ") and current is not None:
            current.append(line[4:].strip())
    return rows


def _tables(text: str) -> list[str]:
    return re.findall(r"^```\{list-table\}.*?^```$", text, re.M | re.S)


def _defined_labels() -> set[str]:
    labels: set[str] = set()
    sources = [p.read_text(encoding="utf-8") for p in BOOK.glob("*.md")]
    for path in BOOK.glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            sources.append("".join(cell["source"]))
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if "name" in figure:
                labels.add(figure["name"])
    for text in sources:
        labels |= set(re.findall(r"^\(([\w.-]+)\)=\s*$", text, re.M))
        labels |= set(re.findall(r"^:(?:label|name): *([\w.-]+)\s*$", text, re.M))
    return labels


def _slides_text() -> str | None:
    candidates = [os.environ.get("LECTURE9_SLIDES_TXT", "")]
    candidates += [
        ROOT / "shared/reference/lecture9-slides.txt",
        ROOT.parent / "shared/reference/lecture9-slides.txt",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text(encoding="utf-8")
    return None


def test_the_map_is_in_the_table_of_contents():
    assert "book/slide_map" in (ROOT / "_toc.yml").read_text(encoding="utf-8")


def test_every_slide_heading_has_a_row_with_a_section():
    rows = _rows(_tables(MAP.read_text(encoding="utf-8"))[0])
    listed = {normalize(row[0]): row for row in rows[1:]}
    missing = [h for h in SLIDE_HEADINGS if normalize(h) not in listed]
    assert not missing, f"slide headings missing from book/slide_map.md: {missing}"
    for heading in SLIDE_HEADINGS:
        row = listed[normalize(heading)]
        assert len(row) == 3 and ROLE.search(row[1]), f"{heading!r}: no section named in {row}"


def test_every_reference_resolves():
    text = MAP.read_text(encoding="utf-8")
    labels = _defined_labels()
    refs = ROLE.findall(text)
    assert len(refs) > len(SLIDE_HEADINGS)
    broken = []
    for role, title, target in refs:
        name = (target or title).strip()
        if role == "ref" and name not in labels:
            broken.append(f"{{ref}}`{name}`")
        if role == "doc" and not any(
            (BOOK / f"{name}{ext}").is_file() for ext in (".md", ".ipynb")
        ):
            broken.append(f"{{doc}}`{name}`")
    assert not broken, f"references in book/slide_map.md that resolve to nothing: {broken}"


def test_slide_headings_match_the_slides_text():
    text = _slides_text()
    if text is None:
        pytest.skip("the slides' text is not available (set LECTURE9_SLIDES_TXT)")
    headings = [
        normalize(re.sub(r"^#+\s*", "", line))
        for line in text.splitlines()
        if re.match(r"^#+\s", line)
    ]
    known = {normalize(h) for h in SLIDE_HEADINGS}
    unknown = [h for h in headings if h not in known]
    assert not unknown, f"slide headings not in SLIDE_HEADINGS: {unknown}"
