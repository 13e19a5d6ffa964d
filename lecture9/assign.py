"""Write student versions of the chapter notebooks, without solutions (for instructors).

The command ``python -m lecture9 assign``; see the book's *For instructors* appendix::

    python -m lecture9 assign --out student/              # every chapter in book/
    python -m lecture9 assign --out student/ 04 05        # chapters 4 and 5
    python -m lecture9 assign --out nbgrader_source/ --nbgrader 04

Following the cell conventions of :mod:`lecture9.exercises`: a code cell tagged
``solution`` with a ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region keeps its header,
signature and docstring, the region becoming ``raise NotImplementedError(...)``
(:func:`lecture9.exercises.stub_source`, tagged ``stub``); other ``solution`` cells and the
gated sphinx-exercise solutions (``{solution-start}`` to ``{solution-end}``, and
``{solution}`` directives inside a markdown cell) are removed; ``autograde`` cells are
kept; outputs are cleared. :class:`ExercisePreprocessor` tags, nbconvert's
``TagRemovePreprocessor`` and ``ClearOutputPreprocessor`` remove and clear.

With ``--nbgrader`` the output is an nbgrader *source* notebook instead (solutions in
place, nbgrader metadata on solution, autograde and written-answer cells). The command
refuses to write into the book folder, over its inputs, or into a non-empty folder without
``--force``, and writes atomically (a temporary folder moved into place), together with
:data:`README_NAME` (:func:`instructor_readme`): what was generated and how to build the
*solutions-hidden edition*::

    LECTURE9_HIDE_SOLUTIONS=1 jupyter-book build . --path-output _build/students

run where the book's ``_config.yml`` is (``book/_ext/lecture9_book.py``).
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor, TagRemovePreprocessor
from traitlets import Bool, Float

from lecture9 import exercises
from lecture9._validation import check_bool, check_path

__all__ = [
    "README_NAME",
    "HIDE_SOLUTIONS_ENV",
    "HIDE_SOLUTIONS_BUILD",
    "HIDE_SOLUTIONS_HTML",
    "AssignError",
    "ExercisePreprocessor",
    "student_notebook",
    "read_notebook",
    "find_chapters",
    "instructor_readme",
    "assign",
    "check_points",
]

#: The book folder of this repository (the default source of the chapters).
DEFAULT_BOOK = Path(__file__).resolve().parent.parent / "book"

_FENCE = r"^[ \t]*(?:`{3,}|:{3,})[ \t]*"
#: Opening line of a gated solution block, with the exercise label as argument.
SOLUTION_START_RE = re.compile(_FENCE + r"\{solution-start\}[ \t]*(?P<label>\S*)", re.MULTILINE)
#: Opening line of the end of a gated solution block.
SOLUTION_END_RE = re.compile(_FENCE + r"\{solution-end\}", re.MULTILINE)
_SOLUTION_DIRECTIVE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})[ \t]*\{solution\}")
_EXERCISE_LABEL_RE = re.compile(r"^[ \t]*:label:[ \t]*(?P<label>\S+)", re.MULTILINE)
_EXERCISE_DIRECTIVE_RE = re.compile(_FENCE + r"\{exercise(?:-start)?\}", re.MULTILINE)

#: File name of the instructors' notes that ``assign`` writes next to the notebooks.
README_NAME = "README-instructors.md"
#: Environment variable that switches the book build to the solutions-hidden edition
#: (read by ``book/_ext/lecture9_book.py``).
HIDE_SOLUTIONS_ENV = "LECTURE9_HIDE_SOLUTIONS"
#: The command that builds the solutions-hidden edition (run where ``_config.yml`` is).
HIDE_SOLUTIONS_BUILD = f"{HIDE_SOLUTIONS_ENV}=1 jupyter-book build . --path-output _build/students"
#: Where that build writes the site, relative to the folder it is run in.
HIDE_SOLUTIONS_HTML = "_build/students/_build/html"

#: nbgrader's cell metadata schema version written by ``--nbgrader``.
NBGRADER_SCHEMA_VERSION = 3


def default_book() -> Path:
    """``book/`` next to the package (a source checkout), else ``book/`` in the working folder."""
    return DEFAULT_BOOK if DEFAULT_BOOK.is_dir() else Path("book")


class AssignError(Exception):
    """A notebook cannot be converted or the output cannot be written; the message says why."""


def _strip_solution_directives(source: str) -> str:
    """Cut every (non-gated) ``{solution}`` directive block out of a markdown cell."""
    lines = source.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _SOLUTION_DIRECTIVE_RE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence = match["fence"]
        closing = re.compile(
            r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$"
        )
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        if j == len(lines):
            raise ValueError(f"a '{fence}{{solution}}' directive is not closed")
        i = j + 1
    return "\n".join(out)


def _directive_end(source: str, start: int) -> int:
    """Offset just after the closing fence of the directive whose opening line starts at ``start``."""
    line_end = source.find("\n", start)
    if line_end == -1:
        return len(source)
    fence = re.match(r"[ \t]*(`{3,}|:{3,})", source[start:])[1]
    closing = re.compile(
        r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.MULTILINE
    )
    match = closing.search(source, line_end + 1)
    if match is None:
        return len(source)
    return match.end()


def _text_outside_blocks(source: str, events, in_block: bool) -> str:
    """The text of a markdown cell that lies outside gated solution blocks (directives excluded)."""
    outside, position = [], 0
    for offset, kind, _ in events:
        if kind == "start" and not in_block:
            outside.append(source[position:offset])
            in_block = True
        elif kind == "end":
            position = _directive_end(source, offset)
            in_block = False
    if not in_block:
        outside.append(source[position:])
    return "".join(outside)


def _nbgrader(
    *, grade_id: str, solution: bool, grade: bool, locked: bool, points: float | None
) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = int(points) if float(points).is_integer() else points
    return meta


@dataclass
class _Block:
    label: str
    cell_index: int
    answer: list  # markdown sources of the worked solution
    has_code_exercise: bool = False


class ExercisePreprocessor(Preprocessor):
    """Turn a chapter notebook's exercise cells into their student form.

    Coding-exercise solution cells (tag ``solution`` with a
    ``### BEGIN SOLUTION`` region) become stubs tagged ``stub``. Every other cell
    that belongs to a solution (other ``solution`` cells, the cells of gated
    ``{solution-start}`` ... ``{solution-end}`` blocks) is tagged ``solution``,
    so that nbconvert's ``TagRemovePreprocessor`` removes it afterwards.

    With :attr:`nbgrader`, the solution regions are kept and the cells get
    nbgrader metadata instead (see the module documentation).

    Raises:
        ValueError: on a malformed exercise (unbalanced gated blocks or
            solution markers, a region without an ``# Exercise <label>: <task>``
            header, markers in a cell that is not tagged ``solution``), naming
            the cell.
    """

    nbgrader = Bool(False, help="write nbgrader source metadata instead of stubs").tag(config=True)
    points = Float(
        1.0,
        help="points of each coding exercise (shared by its autograde cells) and written answer "
        "(nbgrader)",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        """Convert the cells of ``nb`` in place; return ``(nb, resources)``."""
        conversion = _Conversion(self.nbgrader, self.points)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                conversion.markdown(index, cell)
            else:
                conversion.code(index, cell)
        nb.cells = conversion.finish()
        return nb, resources


def _tag_for_removal(cell) -> None:
    tags = list(cell.metadata.get("tags", []))
    if exercises.SOLUTION not in tags:
        tags.append(exercises.SOLUTION)
    cell.metadata["tags"] = tags


class _Conversion:
    """The state of one notebook's conversion: the cells so far, the open solution block, the labels."""

    def __init__(self, nbgrader: bool, points: float):
        self.nbgrader, self.points = nbgrader, points
        self.cells: list = []
        self.block: _Block | None = None
        self.label = "exercise"
        self.grade_ids: set[str] = set()
        self.exercise = 0  # counts the exercises met so far (labels need not be unique)
        self.checks: dict[int, list] = {}  # exercise -> nbgrader metadata of its autograde cells

    def unique(self, grade_id: str) -> str:
        grade_id = re.sub(r"[^A-Za-z0-9_-]", "-", grade_id)  # nbgrader's allowed characters
        candidate, n = grade_id, 2
        while candidate in self.grade_ids:
            candidate, n = f"{grade_id}-{n}", n + 1
        self.grade_ids.add(candidate)
        return candidate

    def markdown(self, index: int, cell) -> None:
        where = f"cell {index + 1} ({cell.cell_type})"
        source = cell.source
        directive = _EXERCISE_DIRECTIVE_RE.search(source)
        if directive:
            match = _EXERCISE_LABEL_RE.search(source, directive.end())
            self.label = match["label"] if match else self.label
            self.exercise += 1
        events = sorted(
            [(m.start(), "start", m["label"]) for m in SOLUTION_START_RE.finditer(source)]
            + [(m.start(), "end", "") for m in SOLUTION_END_RE.finditer(source)]
        )
        part_of_block = self.block is not None or bool(events)
        if events and _text_outside_blocks(source, events, self.block is not None).strip():
            raise ValueError(
                f"{where}: '{{solution-start}}' and '{{solution-end}}' must each be in a markdown "
                "cell of their own (this cell also has text outside the solution, which the "
                "student version would lose)"
            )
        if self.block is not None and not events:
            self.block.answer.append(source)
        for _, kind, block_label in events:
            if kind == "start":
                self.open_block(where, block_label, index)
            else:
                self.close_block(where)
        if part_of_block or exercises.SOLUTION in cell.metadata.get("tags", []):
            _tag_for_removal(cell)
        elif "{solution}" in source:
            try:
                cell.source = _strip_solution_directives(source)
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
        self.cells.append(cell)

    def open_block(self, where: str, block_label: str, index: int) -> None:
        if self.block is not None:
            raise ValueError(
                f"{where}: '{{solution-start}}' inside the solution block of '{self.block.label}' (opened in "
                f"cell {self.block.cell_index + 1}); close it with '{{solution-end}}' first"
            )
        self.block = _Block(block_label or self.label, index, [])
        self.label = self.block.label

    def close_block(self, where: str) -> None:
        block = self.block
        if block is None:
            raise ValueError(
                f"{where}: '{{solution-end}}' without a '{{solution-start}}' before it"
            )
        if self.nbgrader and block.answer and not block.has_code_exercise:
            grading = _nbgrader(
                grade_id=self.unique(f"{block.label}-answer"),
                solution=True,
                grade=True,
                locked=False,
                points=self.points,
            )
            self.cells.append(
                nbformat.v4.new_markdown_cell(
                    "\n\n".join(block.answer), metadata={"nbgrader": grading}
                )
            )
        self.block = None

    def code(self, index: int, cell) -> None:
        where = f"cell {index + 1} ({cell.cell_type})"
        tags = list(cell.metadata.get("tags", []))
        source = cell.source
        if exercises.SOLUTION in tags and exercises.AUTOGRADE in tags:
            raise ValueError(f"{where}: a cell cannot be tagged both 'solution' and 'autograde'")
        if exercises.SOLUTION in tags:
            if exercises.has_solution_region(source):
                self.stub(where, cell, tags)
            else:
                _tag_for_removal(cell)
        elif self.block is not None:
            _tag_for_removal(
                cell
            )  # an untagged code cell inside a gated solution block is part of the solution
        elif exercises.has_solution_region(source):
            raise ValueError(
                f"{where}: has '{exercises.BEGIN_SOLUTION}' markers but is not tagged "
                f"'{exercises.SOLUTION}'; tag it, or the solution would reach the students"
            )
        elif exercises.AUTOGRADE in tags and self.nbgrader:
            cell.metadata["nbgrader"] = _nbgrader(
                grade_id=self.unique(f"{self.label}-autograde"),
                solution=False,
                grade=True,
                locked=True,
                points=self.points,
            )
            self.checks.setdefault(self.exercise, []).append(cell.metadata["nbgrader"])
        self.cells.append(cell)

    def stub(self, where: str, cell, tags: list) -> None:
        try:
            stub = exercises.stub_source(cell.source)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        self.label = exercises.parse_exercise_header(cell.source)[0]
        self.exercise += 1
        if self.block is not None:
            self.block.has_code_exercise = True
        tags.remove(exercises.SOLUTION)
        if self.nbgrader:
            cell.metadata["nbgrader"] = _nbgrader(
                grade_id=self.unique(self.label),
                solution=True,
                grade=False,
                locked=False,
                points=None,
            )
        else:
            cell.source = stub
            tags.append(exercises.STUB)
        cell.metadata["tags"] = tags

    def finish(self) -> list:
        if self.block is not None:
            raise ValueError(
                f"cell {self.block.cell_index + 1}: the '{{solution-start}} {self.block.label}' block is never closed "
                "by a '{solution-end}' cell"
            )
        for graded in self.checks.values():  # an exercise's points, shared by its checks
            for metadata, share in zip(graded, _shares(self.points, len(graded))):
                metadata["points"] = int(share) if share.is_integer() else share
        return self.cells


def _shares(points: float, count: int) -> list[float]:
    """``points`` in ``count`` shares to the hundredth, the rest of the rounding in the last one,
    so that the gradebook's sums are exact (1 point in 3: 0.33, 0.33, 0.34)."""
    share = round(points / count, 2)
    if share <= 0:  # fewer points than checks times a hundredth: unrounded shares
        return [points / count] * count
    return [share] * (count - 1) + [round(points - share * (count - 1), 2)]


def student_notebook(nb, *, nbgrader: bool = False, points: float = 1.0):
    """The student version of a chapter notebook (a new notebook; ``nb`` is not changed).

    Raises:
        ValueError: on a malformed exercise, naming the cell, or ``points``
            that is not a finite number > 0.
        TypeError: if ``nb`` is not a notebook.
    """
    points, nbgrader = check_points(points), check_bool(nbgrader, "nbgrader")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError(
            f"nb must be a notebook (nbformat.NotebookNode with cells), got {type(nb).__name__}; "
            f"read one with lecture9.assign.read_notebook(path)"
        )
    nb = nbformat.convert(copy.deepcopy(nb), 4)
    resources: dict = {}
    nb, resources = ExercisePreprocessor(nbgrader=nbgrader, points=points).preprocess(nb, resources)
    remover = TagRemovePreprocessor(remove_cell_tags={exercises.SOLUTION}, enabled=True)
    nb, resources = remover.preprocess(nb, resources)
    nb, resources = ClearOutputPreprocessor().preprocess(nb, resources)
    if not nbgrader:
        for index, cell in enumerate(nb.cells):  # belt and braces: no solution region may survive
            if exercises.has_solution_region(cell.source):
                raise ValueError(f"cell {index + 1}: a solution region survived the conversion")
    nbformat.validate(nb)
    return nb


def read_notebook(path: Path):
    """Read and validate a notebook; :class:`AssignError` naming the file if it is malformed."""
    path = check_path(path, "path")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises JSON, validation and OS errors
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AssignError(f"{path}: not a valid notebook ({type(err).__name__}: {first})") from err
    return nb


def find_chapters(chapters: list[str] | None, book: Path | None = None) -> list[Path]:
    """Resolve the chapter arguments of ``assign`` to notebook paths.

    Raises:
        AssignError: if a chapter does not match exactly one notebook.
    """
    book = default_book() if book is None else check_path(book, "book")
    _check_path_list(chapters, "chapters", optional=True)
    available = sorted(book.glob("*.ipynb"))
    if not chapters:
        if not available:
            raise AssignError(f"no chapter notebooks (*.ipynb) in {book}")
        return available
    found: list[Path] = []
    names = ", ".join(p.name for p in available) or "none"
    for chapter in chapters:
        path = Path(chapter)
        if chapter.isdigit():
            matches = [p for p in available if p.name.startswith(f"{int(chapter):02d}_")]
        elif path.suffix == ".ipynb" and path.is_file():
            matches = [path]
        else:
            stem = chapter[: -len(".ipynb")] if chapter.endswith(".ipynb") else chapter
            matches = [p for p in available if p.stem == Path(stem).name]
        if len(matches) != 1:
            what = "matches no" if not matches else "matches more than one"
            raise AssignError(f"chapter {chapter!r} {what} notebook in {book} (available: {names})")
        if matches[0].resolve() not in {p.resolve() for p in found}:
            found.append(matches[0])
    return found


def _exercise_summary(nb, *, nbgrader: bool) -> tuple[list[str], list[str], int]:
    """(labels of all exercises, ``label: task`` of the coding exercises, number of autograde cells)."""
    labels, coding, checks = [], [], 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for directive in _EXERCISE_DIRECTIVE_RE.finditer(cell.source):
                match = _EXERCISE_LABEL_RE.search(cell.source, directive.end())
                if match and match["label"] not in labels:
                    labels.append(match["label"])
            continue
        tags = cell.metadata.get("tags", [])
        if exercises.AUTOGRADE in tags:
            checks += 1
        meta = cell.metadata.get("nbgrader", {})
        is_coding = (
            (meta.get("solution") and not meta.get("grade")) if nbgrader else exercises.STUB in tags
        )
        header = exercises.parse_exercise_header(cell.source) if is_coding else None
        if header:
            coding.append(f"{header[0]}: {header[1]}")
    return labels, coding, checks


def book_root(book: Path) -> Path | None:
    """The folder holding the book's ``_config.yml`` (where ``jupyter-book build .`` runs), if found."""
    for folder in (book, book.parent):
        if (folder / "_config.yml").is_file():
            return folder
    return None


#: The notes on nbgrader source notebooks, and on student notebooks, of :func:`instructor_readme`.
_NBGRADER_NOTES = (
    "These notebooks contain the solutions: keep them private. The coding solutions are marked as nbgrader",
    "solution cells, the `autograde` cells as graded, locked test cells, and each written exercise's",
    "worked solution as a manually graded answer cell. Copy a notebook into your nbgrader course's",
    "`source/<assignment>/` folder and run `nbgrader generate_assignment <assignment>` to make the",
    "student version.",
    "",
)
_STUDENT_NOTES = (
    "In these notebooks the solutions of the written exercises are removed, each coding exercise's",
    'solution is replaced by a stub that raises `NotImplementedError("Exercise <label>: <task>")`,',
    "outputs are cleared and the `autograde` cells are kept. Hand them out: they run in JupyterLab in",
    "the course environment (`pip install -r requirements.txt`; the checks import `lecture9`). A",
    "student notebook runs until the first exercise not done yet and stops there with its message.",
    "",
    "To grade a submission, run it top to bottom:",
    "",
    "```bash",
    "jupyter nbconvert --to notebook --execute --allow-errors submission.ipynb",
    "```",
    "",
    "A coding exercise is passed when all its `autograde` cells run without an error; the written",
    "exercises are graded by hand against the worked solutions in the book.",
    "",
)
_EDITION_NOTES = (
    "In that edition every solution (text, code cells, outputs, figures, search-index entries) is",
    "removed from the pages (a coding exercise shows its stub instead), the notebook sources are",
    "not copied, the download menu offers the student notebooks, and the launch and repository",
    "buttons are off (they lead to the solutions).",
    "Instead of the environment variable you can set `lecture9_hide_solutions: true` under",
    "`sphinx: config:` in a copy of `_config.yml`. The switch is implemented by the book's Sphinx",
    "extension `book/_ext/lecture9_book.py`; sphinx-exercise's own `hide_solutions` option is not",
    "used, because with gated solutions it stops the build (sphinx-exercise 1.2.1).",
    "",
    "More in the book's *For instructors* appendix.",
    "",
)


def instructor_readme(notebooks, *, book: Path | None = None, nbgrader: bool = False) -> str:
    """The instructors' notes written next to the notebooks (:data:`README_NAME`).

    They list what was generated and say how to hand the notebooks out, how
    they are graded, and how to build and publish the book without solutions
    (the solutions-hidden edition of ``book/_ext/lecture9_book.py``).
    """
    source = Path(check_path(book, "book", optional=True) or default_book()).resolve()
    nbgrader = check_bool(nbgrader, "nbgrader")
    if (
        notebooks is None
        or isinstance(notebooks, (str, bytes))
        or not all(isinstance(item, tuple) and len(item) == 2 for item in notebooks)
    ):
        raise TypeError(
            f"notebooks must be a list of (name, notebook) pairs, got {notebooks!r:.80}"
        )
    root = book_root(source)
    kind = "nbgrader source notebook" if nbgrader else "student notebook"
    kind += "" if len(notebooks) == 1 else "s"
    kind += " (solutions included)" if nbgrader else ""
    lines = [
        "# lecture9: notes for instructors",
        "",
        f"Written by `python -m lecture9 assign{' --nbgrader' if nbgrader else ''}` from the chapter notebooks",
        f"in `{source}`. This file is for you, not for the students.",
        "",
        f"## What was generated: {len(notebooks)} {kind}",
        "",
        "| Notebook | Exercises | Coding exercises | Autograde cells |",
        "|---|---|---|---|",
    ]
    for name, nb in notebooks:
        labels, coding, checks = _exercise_summary(nb, nbgrader=nbgrader)
        coding_cell = "<br>".join(f"`{c}`".replace("|", "\\|") for c in coding) or "-"
        lines.append(f"| `{name}` | {len(labels)} | {coding_cell} | {checks} |")
    lines.append("")
    lines += list(_NBGRADER_NOTES if nbgrader else _STUDENT_NOTES)
    return "\n".join(lines + _publish_notes(root, source))


def _publish_notes(root: Path | None, source: Path) -> list[str]:
    """How to build and publish the solutions-hidden edition."""
    lines = [
        "## Publish the book without solutions",
        "",
        "The normal build shows every solution in a collapsed dropdown. While the exercises are being",
        "worked on, publish the *solutions-hidden edition* instead. In the folder that holds the book's",
        "`_config.yml`:",
        "",
        "```bash",
        f"cd {shlex.quote(str(root or source.parent))}",
        HIDE_SOLUTIONS_BUILD,
        "```",
        "",
    ]
    if root is None:
        lines += [
            f"(No `_config.yml` was found in `{source}` or the folder above it: run the command in the folder",
            "that holds the book's `_config.yml`, the root of the course repository.)",
            "",
        ]
    lines += [
        f"The site is written to `{HIDE_SOLUTIONS_HTML}/` (the normal build stays in `_build/html/`);",
        "publish that folder on any static host, for example",
        "",
        "```bash",
        f"ghp-import -n -p -f {HIDE_SOLUTIONS_HTML}",
        "```",
        "",
        *_EDITION_NOTES,
    ]
    return lines


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_points(points) -> float:
    """``points`` as a float; ValueError (TypeError) naming ``points`` unless a finite number > 0."""
    if isinstance(points, bool) or not isinstance(points, numbers.Real):
        raise TypeError(f"points (--points) must be a number, got {points!r}")
    if not math.isfinite(points) or points <= 0:
        raise ValueError(f"points (--points) must be a finite number > 0, got {points}")
    return float(points)


def _make_parents(target: Path, out: Path) -> list[Path]:
    """Create the missing folders above ``target``; return them, deepest first (to remove on failure)."""
    missing = []
    for folder in target.parents:
        if folder.is_dir():
            break
        if os.path.lexists(folder):
            raise AssignError(
                f"--out {out}: {folder} is not a folder; choose an output folder whose parents are folders"
            )
        missing.append(folder)
    created = []
    try:
        for folder in reversed(missing):
            folder.mkdir()
            created.insert(0, folder)
    except OSError as err:
        _remove_folders(created)
        raise AssignError(
            f"--out {out}: cannot create the folder {folder} ({err.strerror or err})"
        ) from err
    return created


def _remove_folders(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass


def _move_into_place(staging: Path, target: Path, names: list[str], out: Path) -> None:
    """Move ``staging/<name>`` to ``target/<name>`` for every name, all or none."""
    for name in names:
        dest = target / name
        if dest.is_dir() and not dest.is_symlink():
            raise AssignError(
                f"--out {out}: {dest} is a folder, so the file {name} cannot replace it; "
                "move it away or choose another output folder"
            )
    previous = staging / ".previous"
    previous.mkdir()
    done: list[
        tuple[str, bool, bool]
    ] = []  # (name, an old file was set aside, the new file is in place)
    try:
        for name in names:
            dest = target / name
            had = os.path.lexists(dest)
            if had:
                os.replace(dest, previous / name)
            done.append((name, had, False))
            os.replace(staging / name, dest)
            done[-1] = (name, had, True)
    except BaseException as err:
        failed = []
        for name, had, placed in reversed(done):
            try:
                if had:
                    os.replace(previous / name, target / name)
                elif placed:
                    os.unlink(target / name)
            except OSError:
                failed.append(name)
        if failed:
            raise AssignError(
                f"--out {out}: could not write {names} ({err}), nor restore {failed}; the previous "
                f"versions are in {previous}"
            ) from err
        if isinstance(err, OSError):
            raise AssignError(
                f"--out {out}: could not write the notebooks ({err.strerror or err}); "
                "the folder is as it was"
            ) from err
        raise


def _check_path_list(values, name: str, *, optional: bool = False) -> None:
    """Check a list of paths or chapter names: a list, not one string (which would be read letter by letter)."""
    if (values is None and optional) or (
        not isinstance(values, (str, bytes, os.PathLike))
        and isinstance(values, (list, tuple))
        and all(isinstance(v, (str, os.PathLike)) for v in values)
    ):
        return
    raise TypeError(
        f"{name} must be a list of paths or chapter names, got {values!r:.80}; e.g. {name}=['04']"
    )


def _check_output_folder(notebooks, out: Path, book, force: bool) -> Path:
    """The resolved output folder, refused if it is in the book, over an input or not empty."""
    target = out.resolve()
    for folder in {Path(book or default_book()).resolve(), DEFAULT_BOOK}:
        if _is_within(target, folder):
            raise AssignError(
                f"refusing to write into the book folder ({folder}): the student notebooks would replace "
                "or join the chapters; choose an output folder outside it, e.g. --out student/"
            )
    names: dict[str, Path] = {}
    for notebook in notebooks:
        source = Path(notebook).resolve()
        if _is_within(source.parent, target):
            raise AssignError(
                f"refusing to write over the input {notebook}: choose another output folder"
            )
        if source.name in names:
            raise AssignError(
                f"two input notebooks are both named {source.name}: {names[source.name]} and {notebook}"
            )
        names[source.name] = Path(notebook)
    if target.exists() and not target.is_dir():
        raise AssignError(f"the output {out} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise AssignError(
            f"the output folder {out} is not empty; use --force to replace the notebooks in it"
        )
    return target


def assign(
    notebooks: list[Path],
    out: Path,
    *,
    book: Path | None = None,
    force: bool = False,
    nbgrader: bool = False,
    points: float = 1.0,
) -> list[Path]:
    """Write the student version of each notebook into ``out``.

    Raises:
        ValueError, TypeError: if ``points`` is not a finite number > 0.
        AssignError: if ``out`` lies in the book or over an input, is a
            non-empty folder without ``force``, a file, below a file, or cannot
            be written, if a file to write would replace a folder, or if a
            notebook is malformed (naming the file). Nothing is written then:
            the notebooks and the notes are written into a temporary folder
            first and moved into place together, all or none.
    """
    points, out = check_points(points), check_path(out, "out")
    check_path(book, "book", optional=True)
    force, nbgrader = check_bool(force, "force"), check_bool(nbgrader, "nbgrader")
    _check_path_list(notebooks, "notebooks")
    target = _check_output_folder(notebooks, out, book, force)

    converted = []
    for notebook in notebooks:
        nb = read_notebook(Path(notebook))
        try:
            converted.append(
                (Path(notebook).name, student_notebook(nb, nbgrader=nbgrader, points=points))
            )
        except Exception as err:
            raise AssignError(f"{notebook}: {err}") from err

    created = _make_parents(target, out)
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.assign-", dir=target.parent))
        for name, nb in converted:
            nbformat.write(nb, staging / name)
        readme = instructor_readme(converted, book=book, nbgrader=nbgrader)
        (staging / README_NAME).write_text(readme, encoding="utf-8")
        if not target.exists():
            os.replace(staging, target)
        else:
            _move_into_place(staging, target, [name for name, _ in converted] + [README_NAME], out)
    except BaseException as err:
        kept = staging is not None and any(
            (staging / ".previous").glob("*")
        )  # old files not put back
        if staging is not None and staging.exists() and not kept:
            shutil.rmtree(staging, ignore_errors=True)
        _remove_folders(created)
        if isinstance(err, OSError):
            raise AssignError(
                f"--out {out}: could not write the output folder ({err.strerror or err})"
            ) from err
        raise
    if staging.exists():
        shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name, _ in converted]
