"""Every chapter in the table of contents follows the course's chapter rules.

A chapter opens with a "Learning goals" admonition (3 to 5 goals) and ends, before its
exercises, with "Key takeaways"; no code cell but an exercise's solution is longer than
15 non-blank lines (the autograde checks included), and outside the exercises at most 2
functions are defined; every figure is captioned through
MyST-NB's figure metadata; it has at least 3 exercises, at least 2 of them coding ones
with an autograde cell; and its text has nothing meant for developers.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from lecture9 import assign, exercises

ROOT = Path(__file__).resolve().parents[1]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = sorted(
    ROOT / f"{c['file']}.ipynb"
    for part in TOC["parts"]
    for c in part["chapters"]
    if (ROOT / f"{c['file']}.ipynb").is_file()
)
EXERCISE = re.compile(r"^(```|:::)\{exercise\}", re.M)
ADMONITION = r"^(```+|:::+)\{{admonition\}} {title}\s*$(?P<body>.*?)^\1\s*$"
DEVELOPER_TEXT = re.compile(r"benchmarks/|tests/|\b\d+-core\b|set_num_threads|\bthreads?\b", re.I)


def _cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    first_exercise = next(
        (
            i
            for i, c in enumerate(nb.cells)
            if c.cell_type == "markdown" and EXERCISE.search(c.source)
        ),
        len(nb.cells),
    )
    return nb.cells, first_exercise


def _admonition(cells, title: str) -> tuple[int, str, bool] | None:
    """(cell index, body, whether an exercise follows in the same cell) of the first such admonition."""
    pattern = re.compile(ADMONITION.format(title=re.escape(title)), re.M | re.S)
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and (m := pattern.search(cell.source)):
            return i, m.group("body"), bool(EXERCISE.search(cell.source, m.end()))
    return None


def test_the_toc_lists_every_chapter_notebook():
    assert len(CHAPTERS) >= 11
    assert CHAPTERS == sorted(p for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_learning_goals_open_and_key_takeaways_close_the_text(path):
    cells, first_exercise = _cells(path)
    goals = _admonition(cells, "Learning goals")
    assert goals is not None, f"{path.name}: no 'Learning goals' admonition"
    index, body, _ = goals
    assert index <= 3, f"{path.name}: the learning goals come at cell {index}, not at the start"
    count = len(re.findall(r"^\s*(?:[-*]|\d+\.)\s+\S", body, re.M))
    assert 3 <= count <= 5, f"{path.name}: {count} learning goals (3 to 5 expected)"
    takeaways = _admonition(cells, "Key takeaways")
    assert takeaways is not None, f"{path.name}: no 'Key takeaways' admonition"
    index, _, exercise_follows = takeaways
    before = index < first_exercise or (index == first_exercise and exercise_follows)
    assert before, f"{path.name}: the key takeaways must come before the exercises"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_outside_the_exercises_is_short(path):
    cells, first_exercise = _cells(path)
    code = [c for c in cells[:first_exercise] if c.cell_type == "code"]
    longest = max(len([line for line in c.source.splitlines() if line.strip()]) for c in code)
    assert longest <= 15, (
        f"{path.name}: a code cell of {longest} non-blank lines before the exercises"
    )
    defs = sum(len(re.findall(r"^\s*def\s", c.source, re.M)) for c in code)
    assert defs <= 2, f"{path.name}: {defs} function definitions outside the exercises"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_code_cell_but_the_solutions_is_short(path):
    """What the student notebook keeps (set-up, checks), all but the stubs of the solutions."""
    student = assign.student_notebook(nbformat.read(path, as_version=4))
    long = [
        (i, n)
        for i, c in enumerate(student.cells)
        if c.cell_type == "code"
        and exercises.STUB not in c.metadata.get("tags", [])
        and (n := len([line for line in c.source.splitlines() if line.strip()])) > 15
    ]
    assert not long, (
        f"{path.name}: code cells (student notebook index, non-blank lines) over 15 lines: "
        f"{long}; split a long autograde check into several autograde cells"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_is_captioned(path):
    cells, _ = _cells(path)
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or exercises.SOLUTION in cell.metadata.get("tags", []):
            continue
        if any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
            caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption", "")
            assert caption.strip(), f"{path.name}: the figure of cell {i} has no caption"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_include_two_graded_coding_ones(path):
    cells, first_exercise = _cells(path)
    count = sum(len(EXERCISE.findall(c.source)) for c in cells if c.cell_type == "markdown")
    assert count >= 3, f"{path.name}: {count} exercises (at least 3)"
    coding = {
        exercises.parse_exercise_header(c.source)[0]
        for c in cells
        if c.cell_type == "code"
        and exercises.SOLUTION in c.metadata.get("tags", [])
        and exercises.parse_exercise_header(c.source)
    }
    autograde = [
        c
        for c in cells
        if c.cell_type == "code" and exercises.AUTOGRADE in c.metadata.get("tags", [])
    ]
    assert len(coding) >= 2, f"{path.name}: {len(coding)} coding exercises (at least 2)"
    assert len(autograde) >= len(coding), (
        f"{path.name}: {len(coding)} coding exercises but {len(autograde)} autograde cells"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_text_for_developers(path):
    cells, _ = _cells(path)
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and (m := DEVELOPER_TEXT.search(cell.source)):
            pytest.fail(f"{path.name}, cell {i}: {m.group(0)!r} is for the README, not the book")
