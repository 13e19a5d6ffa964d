"""Tests of ``python -m lecture9 assign`` (lecture9.assign): student notebooks without solutions.

On a fixture chapter (built in tmp_path, following the exercise conventions) and,
cheaply, on every real ``book/NN_*.ipynb`` that exists when the tests run.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from _exercise_notebooks import (
    KERNELSPEC,
    MC_INTEGRAL_BIASED,
    MC_INTEGRAL_SOLUTION,
    REAL_CHAPTERS,
    SAMPLE_MEAN_SOLUTION,
    SETUP,
    SOLUTION_END,
    WRITTEN_SOLUTION_CODE,
    WRITTEN_SOLUTION_TEXT,
    WRONG_ANSWERS,
    CellError,
    _names,
    code_indices,
    distinctive_lines,
    exercise_md,
    fill_stub,
    fixture_notebook,
    leaked_solution_lines,
    run_cells,
    solution_start,
    tags,
    with_dependencies,
    write_fixture_book,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from lecture9 import assign, cli, exercises


def run_assign(*argv) -> int:
    return cli.main(["assign", *map(str, argv)])


@pytest.fixture
def book(tmp_path):
    folder = tmp_path / "book"
    write_fixture_book(folder)
    return folder


@pytest.fixture
def student(book, tmp_path):
    out = tmp_path / "student"
    assert run_assign("--book", book, "--out", out) == 0
    return out / "01_fixture.ipynb"


def execute_in_one_kernel(notebooks, folder):
    """Execute each notebook top to bottom with nbclient, all in one kernel (one start-up, one torch import).

    Returns, for each notebook, the index of the cell that failed (or None) and its
    ``CellExecutionError``; a failing notebook stops there, like ``jupyter nbconvert --execute``.
    """
    client = NotebookClient(
        notebooks[0],
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    results = []
    with client.setup_kernel():
        for nb in notebooks:
            client.nb = nb
            result = (None, None)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as err:
                    result = (index, err)
                    break
            results.append(result)
    return results


def _fill(nb, answers):
    for cell in nb.cells:
        header = (
            exercises.parse_exercise_header(cell.source) if exercises.STUB in tags(cell) else None
        )
        if header and header[0] in answers:
            cell.source = answers[header[0]]
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The fixture's student notebook executed as handed out, filled with the reference, filled with a bias."""
    folder = tmp_path_factory.mktemp("executed")
    write_fixture_book(folder / "book")
    assign.assign([folder / "book" / "01_fixture.ipynb"], folder / "student", book=folder / "book")
    path = folder / "student" / "01_fixture.ipynb"
    notebooks = {
        "as handed out": nbformat.read(path, as_version=4),
        "reference": _fill(
            nbformat.read(path, as_version=4),
            {"ex-99-mc-integral": MC_INTEGRAL_SOLUTION, "ex-99-mean": SAMPLE_MEAN_SOLUTION},
        ),
        "biased": _fill(
            nbformat.read(path, as_version=4),
            {"ex-99-mc-integral": MC_INTEGRAL_BIASED, "ex-99-mean": SAMPLE_MEAN_SOLUTION},
        ),
    }
    results = execute_in_one_kernel(list(notebooks.values()), folder / "student")
    return {name: (nb, *result) for (name, nb), result in zip(notebooks.items(), results)}


# ---------------------------------------------------------------------------------------
# The student notebook of the fixture chapter.


def test_student_notebook_structure(student, book):
    source = nbformat.read(book / "01_fixture.ipynb", as_version=4)
    nb = nbformat.read(student, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    # written solution, its code cell, and all six gated start/end cells are gone: 20 - 1 - 1 - 6 = 12
    assert len(nb.cells) == len(source.cells) - 8
    stubs = [c for c in nb.cells if exercises.STUB in tags(c)]
    assert [c.source.splitlines()[0] for c in stubs] == [
        "# Exercise ex-99-mc-integral: implement a Monte Carlo estimate of an integral over [a, b].",
        "# Exercise ex-99-mean: implement the sample mean of a 1-d tensor.",
    ]
    assert stubs[0].source.splitlines()[1:] == [
        "def mc_integral(f, a, b, num_samples, *, generator=None):",
        '    """Return the Monte Carlo estimate of the integral of ``f`` over ``[a, b]`` (a 0-d tensor)."""',
        "    raise NotImplementedError(",
        '        "Exercise ex-99-mc-integral: implement a Monte Carlo estimate of an "',
        '        "integral over [a, b]."',
        "    )",
    ]
    assert all(exercises.SOLUTION not in tags(c) for c in nb.cells)
    assert sum(exercises.AUTOGRADE in tags(c) for c in nb.cells) == 2
    assert all(
        c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code"
    )
    text = "\n".join(c.source for c in nb.cells)
    assert "{solution-start}" not in text and "{solution-end}" not in text
    assert "{exercise}" in text and "**Learning goal:**" in text  # the exercises themselves stay


def test_student_notebook_contains_no_solution_text(student, book):
    source = nbformat.read(book / "01_fixture.ipynb", as_version=4)
    lines = [line for _, line in distinctive_lines(source)]
    # every kind of solution is represented by at least one distinctive line
    for snippet in (
        WRITTEN_SOLUTION_TEXT,
        WRITTEN_SOLUTION_CODE,
        MC_INTEGRAL_SOLUTION,
        SAMPLE_MEAN_SOLUTION,
    ):
        assert any(line in " ".join(snippet.split()) for line in lines), snippet
    assert leaked_solution_lines(source, student) == []
    raw = student.read_text()
    for marker in (
        exercises.BEGIN_SOLUTION,
        exercises.END_SOLUTION,
        "uniform_draws_for_the_integral",
        "total_of_the_entries",
        "variance_of_the_uniform_check",
        "By linearity of expectation",
    ):
        assert marker not in raw


def test_student_notebook_fails_exactly_at_the_first_stub(executed):
    nb, failed, err = executed["as handed out"]
    first_stub = next(i for i, c in enumerate(nb.cells) if exercises.STUB in tags(c))
    first_check = next(
        i for i, c in enumerate(nb.cells) if i > first_stub and exercises.AUTOGRADE in tags(c)
    )
    assert failed == first_check  # the stub only defines the function; its first use raises
    assert err.ename == "NotImplementedError"
    assert (
        "Exercise ex-99-mc-integral: implement a Monte Carlo estimate of an integral over [a, b]."
        in err.evalue
    )
    for i in range(failed):  # every cell before ran without error
        cell = nb.cells[i]
        if cell.cell_type == "code":
            assert cell.execution_count is not None
            assert all(out.output_type != "error" for out in cell.outputs)


def test_filled_with_the_reference_solution_the_autograde_cells_pass(executed):
    nb, failed, err = executed["reference"]
    assert failed is None, err
    printed = [
        out.text
        for c in nb.cells
        if exercises.AUTOGRADE in tags(c)
        for out in c.outputs
        if "text" in out
    ]
    assert printed == ["ex-99-mc-integral: all checks passed\n", "ex-99-mean: all checks passed\n"]


def test_filled_with_a_biased_estimator_the_autograde_cell_explains_the_bias(executed):
    nb, failed, err = executed["biased"]
    assert exercises.AUTOGRADE in tags(nb.cells[failed])
    assert err.ename == "ExerciseCheckError"
    assert err.evalue.startswith("your estimate of the integral is biased: mean 1.6")
    assert "expected 2.667 +- 0.038" in err.evalue


def test_in_process_run_of_the_student_notebook_matches_the_kernel_run(student):
    """The cheap in-process runner used for the real chapters sees the same failure as nbclient."""
    nb = nbformat.read(student, as_version=4)
    with pytest.raises(CellError) as info:
        run_cells(nb, code_indices(nb), folder=student.parent)
    assert isinstance(info.value.error, NotImplementedError)
    assert str(info.value.error).startswith("Exercise ex-99-mc-integral: ")


# ---------------------------------------------------------------------------------------
# Command line: chapters, nbgrader, refusals.


def test_chapters_by_number_name_and_path(tmp_path):
    book = tmp_path / "book"
    paths = write_fixture_book(book, ("01_one.ipynb", "02_two.ipynb", "10_ten.ipynb"))
    assert assign.find_chapters([], book) == paths
    assert assign.find_chapters(["2", "01", "10_ten", "02_two.ipynb"], book) == [
        paths[1],
        paths[0],
        paths[2],
    ]
    assert assign.find_chapters([str(paths[0])], book) == [paths[0]]
    with pytest.raises(
        assign.AssignError, match=r"chapter '7' matches no notebook in .*available: 01_one.ipynb"
    ):
        assign.find_chapters(["7"], book)
    with pytest.raises(assign.AssignError, match="no chapter notebooks"):
        assign.find_chapters([], tmp_path / "empty")


def test_assign_selected_chapters_only(tmp_path, capsys):
    book = tmp_path / "book"
    write_fixture_book(book, ("01_one.ipynb", "02_two.ipynb"))
    assert run_assign("--book", book, "--out", tmp_path / "out", "02") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "02_two.ipynb",
        assign.README_NAME,
    ]
    printed = capsys.readouterr().out
    assert (
        "wrote student notebook" in printed
        and "LECTURE9_HIDE_SOLUTIONS=1 jupyter-book build" in printed
    )
    assert (
        f"wrote {tmp_path / 'out' / assign.README_NAME} (what was generated; how to publish"
        in printed
    )


# ---------------------------------------------------------------------------------------
# The instructors' notes written next to the notebooks: what was generated, and the
# solutions-hidden build of the book.

BOOK_EXTENSION = assign.DEFAULT_BOOK / "_ext" / "lecture9_book.py"


def test_the_build_command_matches_the_book_extension():
    """The notes' command switches on what book/_ext/lecture9_book.py reads, and names where the site lands."""
    extension = BOOK_EXTENSION.read_text(encoding="utf-8")
    assert "from lecture9.assign import HIDE_SOLUTIONS_ENV" in extension  # defined once, in assign
    assert assign.HIDE_SOLUTIONS_BUILD in extension
    assert f"``{assign.HIDE_SOLUTIONS_HTML}``" in extension
    assert (
        assign.HIDE_SOLUTIONS_BUILD
        == "LECTURE9_HIDE_SOLUTIONS=1 jupyter-book build . --path-output _build/students"
    )


def test_the_book_extension_reads_the_variable_defined_in_assign(monkeypatch):
    spec = importlib.util.spec_from_file_location("_lecture9_book_under_test", BOOK_EXTENSION)
    extension = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, extension)  # its dataclasses look the module up
    spec.loader.exec_module(extension)
    assert extension.HIDE_SOLUTIONS_ENV is assign.HIDE_SOLUTIONS_ENV
    monkeypatch.setenv(assign.HIDE_SOLUTIONS_ENV, "1")
    assert extension.hide_solutions_requested()
    monkeypatch.setenv(assign.HIDE_SOLUTIONS_ENV, "0")
    assert not extension.hide_solutions_requested()


def test_assign_writes_the_instructors_notes(book, tmp_path):
    out = tmp_path / "student"
    written = assign.assign([book / "01_fixture.ipynb"], out, book=book)
    assert written == [out / "01_fixture.ipynb"]  # the notes are not a notebook
    assert sorted(p.name for p in out.iterdir()) == ["01_fixture.ipynb", assign.README_NAME]
    notes = (out / assign.README_NAME).read_text(encoding="utf-8")
    assert notes.startswith("# lecture9: notes for instructors\n")
    assert f"in `{book.resolve()}`" in notes
    # what was generated: the notebook, its exercises, the stubbed coding exercises, the checks
    assert "## What was generated: 1 student notebook\n" in notes
    assert (
        "| `01_fixture.ipynb` | 3 | `ex-99-mc-integral: implement a Monte Carlo estimate of an integral over "
        "[a, b].`<br>`ex-99-mean: implement the sample mean of a 1-d tensor.` | 2 |"
    ) in notes
    assert "jupyter nbconvert --to notebook --execute --allow-errors submission.ipynb" in notes
    # how to publish the book without solutions: where to run the exact command, where the site lands
    # (the fixture book has no _config.yml, nor has its parent: the notes say so)
    assert f"```bash\ncd {book.parent.resolve()}\n{assign.HIDE_SOLUTIONS_BUILD}\n```" in notes
    assert f"(No `_config.yml` was found in `{book.resolve()}` or the folder above it" in notes
    assert f"The site is written to `{assign.HIDE_SOLUTIONS_HTML}/`" in notes
    assert f"ghp-import -n -p -f {assign.HIDE_SOLUTIONS_HTML}" in notes
    assert "`lecture9_hide_solutions: true`" in notes and "book/_ext/lecture9_book.py" in notes
    # and no solution
    source = nbformat.read(book / "01_fixture.ipynb", as_version=4)
    assert [line for _, line in distinctive_lines(source) if line in " ".join(notes.split())] == []


def test_the_notes_name_the_folder_of_the_books_config(tmp_path):
    root = tmp_path / "my course"
    (root / "_config.yml").parent.mkdir()
    (root / "_config.yml").write_text("title: x\n")
    write_fixture_book(root / "book")
    assign.assign([root / "book" / "01_fixture.ipynb"], tmp_path / "out", book=root / "book")
    notes = (tmp_path / "out" / assign.README_NAME).read_text(encoding="utf-8")
    assert f"\ncd '{root}'\n{assign.HIDE_SOLUTIONS_BUILD}\n" in notes  # quoted for the shell
    assert "No `_config.yml` was found" not in notes


def test_the_notes_of_the_repositorys_book_name_the_repository_root(tmp_path):
    (chapter,) = REAL_CHAPTERS[:1] or pytest.skip("no chapter notebooks in book/")
    assign.assign([chapter], tmp_path / "out")
    notes = (tmp_path / "out" / assign.README_NAME).read_text(encoding="utf-8")
    assert (assign.DEFAULT_BOOK.parent / "_config.yml").is_file()
    assert f"\ncd {assign.DEFAULT_BOOK.parent}\n{assign.HIDE_SOLUTIONS_BUILD}\n" in notes
    assert f"| `{chapter.name}` |" in notes


def test_the_notes_of_nbgrader_source_notebooks(book, tmp_path, capsys):
    out = tmp_path / "nbgrader"
    assert run_assign("--book", book, "--out", out, "--nbgrader") == 0
    notes = (out / assign.README_NAME).read_text(encoding="utf-8")
    assert "`python -m lecture9 assign --nbgrader`" in notes
    assert "## What was generated: 1 nbgrader source notebook (solutions included)\n" in notes
    assert "`ex-99-mc-integral: implement a Monte Carlo estimate" in notes
    assert "keep them private" in notes and "nbgrader generate_assignment <assignment>" in notes
    assert assign.HIDE_SOLUTIONS_BUILD in notes


def test_forced_assign_replaces_the_notes_and_keeps_other_files(book, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / assign.README_NAME).write_text("old notes")
    assign.assign([book / "01_fixture.ipynb"], out, book=book, force=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "01_fixture.ipynb",
        assign.README_NAME,
        "notes.txt",
    ]
    assert (
        (out / assign.README_NAME)
        .read_text(encoding="utf-8")
        .startswith("# lecture9: notes for instructors")
    )


@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "forced-into-a-folder"])
def test_a_failure_while_writing_the_notes_leaves_nothing(book, tmp_path, monkeypatch, existing):
    """The notes are written with the notebooks into the staging folder: no notebook without its notes."""
    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    real_write_text = assign.Path.write_text

    def broken_write_text(self, *args, **kwargs):
        if self.name == assign.README_NAME:
            raise OSError("disk full")
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(assign.Path, "write_text", broken_write_text)
    with pytest.raises(assign.AssignError, match="could not write .*disk full"):
        assign.assign([book / "01_fixture.ipynb"], out, book=book, force=existing)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["book", "out"] if existing else ["book"])
    if existing:
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_failure_while_making_the_notes_leaves_nothing(book, tmp_path, monkeypatch):
    def broken_notes(*args, **kwargs):
        raise OSError("cannot read the book folder")

    monkeypatch.setattr(assign, "instructor_readme", broken_notes)
    with pytest.raises(assign.AssignError, match="could not write .*cannot read the book folder"):
        assign.assign([book / "01_fixture.ipynb"], tmp_path / "out", book=book)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]


def test_nbgrader_source_notebook(book, tmp_path):
    out = tmp_path / "nbgrader"
    assert run_assign("--book", book, "--out", out, "--nbgrader", "--points", "2") == 0
    nb = nbformat.read(out / "01_fixture.ipynb", as_version=4)
    graded = {c.metadata.nbgrader.grade_id: c for c in nb.cells if "nbgrader" in c.metadata}
    assert sorted(graded) == [
        "ex-99-mc-integral",
        "ex-99-mc-integral-autograde",
        "ex-99-mean",
        "ex-99-mean-autograde",
        "ex-99-unbiased-answer",
    ]
    solution = graded["ex-99-mc-integral"]
    assert (
        solution.source == MC_INTEGRAL_SOLUTION
    )  # nbgrader generate_assignment removes the region itself
    assert solution.metadata.nbgrader == {
        "grade": False,
        "grade_id": "ex-99-mc-integral",
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    check = graded["ex-99-mc-integral-autograde"]
    assert exercises.AUTOGRADE in tags(check)
    assert check.metadata.nbgrader == {
        "grade": True,
        "grade_id": "ex-99-mc-integral-autograde",
        "locked": True,
        "points": 2.0,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    answer = graded[
        "ex-99-unbiased-answer"
    ]  # the written exercise becomes a manually graded answer cell
    assert answer.cell_type == "markdown" and answer.source == WRITTEN_SOLUTION_TEXT
    assert answer.metadata.nbgrader["solution"] and answer.metadata.nbgrader["grade"]
    text = "\n".join(c.source for c in nb.cells)
    assert "{solution-start}" not in text and WRITTEN_SOLUTION_CODE not in text
    assert (
        nb.cells.index(answer) == nb.cells.index(graded["ex-99-mc-integral"]) - 2
    )  # after the exercise


def test_nbgrader_grade_ids_are_unique_and_valid():
    nb = fixture_notebook()
    nb.cells[12].source = nb.cells[12].source.replace("ex-99-mc-integral:", "3.2:")
    nb.cells[17].source = nb.cells[17].source.replace("ex-99-mean:", "3.2:")
    ids = [
        c.metadata.nbgrader.grade_id
        for c in assign.student_notebook(nb, nbgrader=True).cells
        if "nbgrader" in c.metadata
    ]
    assert ids == ["ex-99-unbiased-answer", "3-2", "3-2-autograde", "3-2-2", "3-2-autograde-2"]


def test_refuses_output_inside_the_book(book, capsys):
    assert run_assign("--book", book, "--out", book / "student") == 1
    assert "refusing to write into the book folder" in capsys.readouterr().err
    assert not (book / "student").exists()
    with pytest.raises(assign.AssignError, match="book folder"):
        assign.assign([book / "01_fixture.ipynb"], assign.DEFAULT_BOOK / "student", book=book)
    assert not (assign.DEFAULT_BOOK / "student").exists()


def test_refuses_to_write_over_its_inputs(book, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (input_path,) = write_fixture_book(elsewhere)
    before = input_path.read_bytes()
    with pytest.raises(assign.AssignError, match="refusing to write over the input"):
        assign.assign([input_path], elsewhere, book=book, force=True)
    assert input_path.read_bytes() == before


def test_refuses_a_non_empty_output_folder_unless_forced(book, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert run_assign("--book", book, "--out", out) == 1
    assert "is not empty; use --force" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert run_assign("--book", book, "--out", out, "--force") == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "01_fixture.ipynb",
        assign.README_NAME,
        "notes.txt",
    ]
    assert (
        run_assign("--book", book, "--out", out, "--force") == 0
    )  # replacing our own output is fine
    # an existing empty folder is fine without --force
    (tmp_path / "empty").mkdir()
    assert run_assign("--book", book, "--out", tmp_path / "empty") == 0


def test_refuses_an_output_that_is_a_file(book, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(assign.AssignError, match="exists and is not a folder"):
        assign.assign([book / "01_fixture.ipynb"], tmp_path / "file", book=book)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda path: path.write_text('{"cells": [', encoding="utf-8"),
            r"not a valid notebook \(NotJSONError",
        ),
        (
            lambda path: path.write_text(
                json.dumps({"cells": "nope", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}),
                encoding="utf-8",
            ),
            r"not a valid notebook \(ValidationError",
        ),
        (
            lambda path: _edit(path, 9, None),
            r"cell 11 \(markdown\): '\{solution-start\}' inside the solution block of 'ex-99-unbiased' "
            r"\(opened in cell 7\)",
        ),
        (
            lambda path: _edit(path, 18, None),
            r"cell 17: the '\{solution-start\} ex-99-mean' block is never closed",
        ),
        (
            lambda path: _edit(
                path,
                11,
                fixture_notebook().cells[10].source + "\n\n" + fixture_notebook().cells[11].source,
            ),
            r"cell 12 \(markdown\): '\{solution-start\}' and '\{solution-end\}' must each be in a markdown cell",
        ),
        (
            lambda path: _edit(path, 6, "Some text"),
            r"cell 10 \(markdown\): '\{solution-end\}' without",
        ),
        (
            lambda path: _edit(path, 12, MC_INTEGRAL_SOLUTION.replace("    ### END SOLUTION", "")),
            r"cell 13 \(code\): a '### BEGIN SOLUTION' line has no matching",
        ),
        (
            lambda path: _edit(path, 12, MC_INTEGRAL_SOLUTION.split("\n", 1)[1]),
            r"cell 13 \(code\): a solution cell with a '### BEGIN SOLUTION' region must start with a header",
        ),
        (
            lambda path: _edit(path, 3, "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION"),
            r"cell 4 \(code\): has '### BEGIN SOLUTION' markers but is not tagged 'solution'",
        ),
    ],
    ids=[
        "not-json",
        "invalid-schema",
        "nested-block",
        "unclosed-block",
        "exercise-and-start-in-one-cell",
        "end-without-start",
        "unbalanced-markers",
        "no-header",
        "untagged-markers",
    ],
)
def test_refuses_a_malformed_notebook_and_writes_nothing(tmp_path, capsys, damage, message):
    book = tmp_path / "book"
    good, bad = write_fixture_book(book, ("01_good.ipynb", "02_bad.ipynb"))
    damage(bad)
    out = tmp_path / "out"
    assert run_assign("--book", book, "--out", out) == 1
    err = capsys.readouterr().err
    assert str(bad) in err
    assert re.search(message, err), err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]  # no staging folder left behind


def _edit(path, index, source):
    nb = nbformat.read(path, as_version=4)
    if source is None:
        del nb.cells[index]
    else:
        nb.cells[index].source = source
    nbformat.write(nb, path)


def test_a_failure_while_writing_leaves_nothing(book, tmp_path, monkeypatch):
    def broken_write(nb, path, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(assign.nbformat, "write", broken_write)
    with pytest.raises(assign.AssignError, match="could not write .*disk full"):
        assign.assign([book / "01_fixture.ipynb"], tmp_path / "out", book=book)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]


def test_solution_directive_inside_a_markdown_cell_is_cut_out():
    nb = fixture_notebook()
    nb.cells[
        5
    ].source += (
        "\n\n````{solution} ex-99-unbiased\nA hidden answer.\n```python\nx = 1\n```\n````\n\nAfter."
    )
    student = assign.student_notebook(nb)
    assert "A hidden answer" not in student.cells[5].source
    assert student.cells[5].source.endswith("\n\nAfter.")
    assert "{exercise}" in student.cells[5].source


def test_a_whole_gated_solution_in_one_markdown_cell_is_removed():
    nb = fixture_notebook()
    nb.cells[
        7
    ].source = "```{solution-start} ex-99-unbiased\n:class: dropdown\n```\n\nAll in one cell.\n\n```{solution-end}\n```"
    del nb.cells[8:10], nb.cells[6]
    student = assign.student_notebook(nb)
    assert "All in one cell" not in "".join(c.source for c in student.cells)
    assert student.cells[5].source == nb.cells[5].source  # the exercise stays


def test_student_notebook_leaves_its_input_alone():
    nb = fixture_notebook()
    before = nbformat.writes(nb)
    assign.student_notebook(nb)
    assert nbformat.writes(nb) == before


def _snapshot(folder: Path) -> dict:
    """Everything under ``folder``, recursively: each path's kind and, for a file, its bytes."""
    state = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            state[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            state[rel] = ("folder", None)
        else:
            state[rel] = ("file", path.read_bytes())
    return state


@pytest.mark.parametrize("points", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_refuses_points_that_are_not_a_finite_positive_number(book, tmp_path, points):
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"points \(--points\) must be a finite number > 0"):
        assign.assign(
            [book / "01_fixture.ipynb"], tmp_path / "out", book=book, nbgrader=True, points=points
        )
    with pytest.raises(ValueError, match="points"):
        assign.student_notebook(fixture_notebook(), nbgrader=True, points=points)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("points", ["2", True, None])
def test_refuses_points_that_are_not_a_number(book, tmp_path, points):
    with pytest.raises(TypeError, match=r"points \(--points\) must be a number"):
        assign.assign(
            [book / "01_fixture.ipynb"], tmp_path / "out", book=book, nbgrader=True, points=points
        )
    assert not (tmp_path / "out").exists()


def _two_chapter_book(tmp_path) -> list[Path]:
    return write_fixture_book(tmp_path / "book", ("04_score_function.ipynb", "05_pathwise.ipynb"))


def _filled_output(tmp_path) -> Path:
    """An output folder from an earlier run, with a file of the user's and a folder in the way of chapter 5."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "04_score_function.ipynb").write_text("the previous student notebook of chapter 4")
    (out / assign.README_NAME).write_text("the previous notes")
    (out / "notes.txt").write_text("mine")
    (out / "05_pathwise.ipynb").mkdir()
    (out / "05_pathwise.ipynb" / "inside.txt").write_text("a file in the folder")
    return out


def test_a_destination_that_is_a_folder_leaves_the_output_exactly_as_before(tmp_path):
    notebooks = _two_chapter_book(tmp_path)
    out = _filled_output(tmp_path)
    before, around = _snapshot(out), sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(assign.AssignError, match=r"--out .*05_pathwise.ipynb is a folder"):
        assign.assign(notebooks, out, book=tmp_path / "book", force=True)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == around  # no staging folder left behind


def test_a_failed_move_into_place_is_rolled_back(tmp_path, monkeypatch):
    """The moves are all or none: when the third of four fails, the first two are undone."""
    notebooks = _two_chapter_book(tmp_path)
    out = _filled_output(tmp_path)
    (out / "05_pathwise.ipynb" / "inside.txt").unlink()
    (out / "05_pathwise.ipynb").rmdir()
    (out / "05_pathwise.ipynb").write_text("the previous student notebook of chapter 5")
    before, around = _snapshot(out), sorted(p.name for p in tmp_path.iterdir())
    real_replace, placed = os.replace, []

    def failing_replace(src, dst):
        if Path(dst).parent == out:
            placed.append(Path(dst).name)
            if len(placed) == 2:  # the new chapter 5 (after chapter 4 went in)
                raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(assign.os, "replace", failing_replace)
    with pytest.raises(assign.AssignError, match=r"--out .*No space left on device.*as it was"):
        assign.assign(notebooks, out, book=tmp_path / "book", force=True)
    assert placed[:2] == ["04_score_function.ipynb", "05_pathwise.ipynb"]
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == around
    monkeypatch.setattr(assign.os, "replace", real_replace)
    assign.assign(notebooks, out, book=tmp_path / "book", force=True)  # and then it works
    assert (out / "notes.txt").read_text() == "mine"
    assert nbformat.read(out / "05_pathwise.ipynb", as_version=4).cells


@pytest.mark.parametrize("below", ["sub", "sub/deeper"])
def test_an_output_below_a_file_names_out(book, tmp_path, below):
    (tmp_path / "afile").write_text("x")
    before = _snapshot(tmp_path)
    with pytest.raises(assign.AssignError, match=r"--out .*afile is not a folder"):
        assign.assign([book / "01_fixture.ipynb"], tmp_path / "afile" / below, book=book)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("out", ["ro/out", "ro/new/deeper/out"])
def test_an_output_that_cannot_be_created_names_out(book, tmp_path, monkeypatch, out):
    """A read-only parent: the staging folder (or a missing parent) cannot be created; folders made are removed."""
    (tmp_path / "ro").mkdir()
    before = _snapshot(tmp_path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(assign.tempfile, "mkdtemp", denied)
    with pytest.raises(assign.AssignError, match=r"--out .*Permission denied"):
        assign.assign([book / "01_fixture.ipynb"], tmp_path / out, book=book)
    assert _snapshot(tmp_path) == before


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs a user that file modes restrict"
)
def test_a_read_only_parent_names_out(book, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        with pytest.raises(assign.AssignError, match=r"--out .*(Permission denied|cannot create)"):
            assign.assign([book / "01_fixture.ipynb"], parent / "sub" / "out", book=book)
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o755)


# --- property: whatever the cell tags, no solution line reaches the student file ----------

#: (has a solution region, tags) of a code cell; the last two are malformed, and refused.
_CELL_KINDS = [
    (True, [exercises.SOLUTION]),
    (False, [exercises.SOLUTION]),
    (False, []),
    (False, [exercises.AUTOGRADE]),
    (True, [exercises.AUTOGRADE]),
    (False, [exercises.SOLUTION, exercises.AUTOGRADE]),
]


def _synthetic_cell(i: int, region: bool, cell_tags: list[str]):
    if region:
        source = (
            f'# Exercise ex-{i}: task number {i}.\ndef function_{i}(x):\n    """Docstring {i}."""\n'
            f"    {exercises.BEGIN_SOLUTION}\n    secret_value_number_{i}_of_the_solution = x * {i} + 12345\n"
            f"    return secret_value_number_{i}_of_the_solution\n    {exercises.END_SOLUTION}"
        )
    else:
        source = f"secret_plain_line_number_{i} = {i} * 98765 + 1"
    return nbformat.v4.new_code_cell(source, metadata={"tags": cell_tags} if cell_tags else {})


_ITEMS = st.lists(
    st.tuples(
        st.sampled_from(_CELL_KINDS),
        st.lists(st.sampled_from(["hide-input", "remove-output"]), unique=True),
        st.sampled_from(["none", "gated", "gated-with-text"]),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=50, deadline=None)
@given(items=_ITEMS)
def test_no_tag_combination_leaves_a_solution_line_in_the_student_file(items):
    cells = [
        nbformat.v4.new_markdown_cell("# A synthetic chapter"),
        nbformat.v4.new_code_cell(SETUP),
    ]
    for i, ((region, kind_tags), extra_tags, gated) in enumerate(items):
        cell_tags = [*kind_tags, *extra_tags]
        if gated != "none":
            cells.append(
                nbformat.v4.new_markdown_cell(exercise_md(f"ex-{i}", f"Exercise {i}", "Do it."))
            )
            cells.append(nbformat.v4.new_markdown_cell(solution_start(f"ex-{i}")))
            if gated == "gated-with-text":
                cells.append(
                    nbformat.v4.new_markdown_cell(
                        f"The worked answer number {i} explains it in detail."
                    )
                )
        cells.append(_synthetic_cell(i, region, cell_tags))
        if gated != "none":
            cells.append(nbformat.v4.new_markdown_cell(SOLUTION_END))
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC)})
    try:
        student = assign.student_notebook(nb)
    except ValueError as err:  # a malformed combination is refused, naming the cell
        assert re.search(r"cell \d+", str(err)), err
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "student.ipynb"
        nbformat.write(student, path)
        assert leaked_solution_lines(nb, path) == []
        text = path.read_text(encoding="utf-8")
    assert "secret_value_number" not in text and "worked answer number" not in text


def test_cli_help_lists_assign(capsys):
    with pytest.raises(SystemExit):
        cli.main(["assign", "--help"])
    help_text = capsys.readouterr().out
    assert "--out DIR" in help_text and "--nbgrader" in help_text and "--force" in help_text


# ---------------------------------------------------------------------------------------
# Every real chapter: the student version has no solution text and its stubs raise.


@pytest.mark.parametrize("chapter", REAL_CHAPTERS, ids=lambda p: p.name)
def test_real_chapter_student_version_has_no_solution_text(chapter, tmp_path):
    (written,) = assign.assign([chapter], tmp_path / "student")
    source = nbformat.read(chapter, as_version=4)
    assert leaked_solution_lines(source, written) == []
    student = nbformat.read(written, as_version=4)
    assert all(exercises.SOLUTION not in tags(c) for c in student.cells)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")


@pytest.mark.parametrize("chapter", REAL_CHAPTERS, ids=lambda p: p.name)
def test_real_chapter_stubs_raise_the_exercise_error(chapter, tmp_path):
    """Set-up cell, stubs and autograde cells of the student version: the first failure is the first stub's."""
    student = assign.student_notebook(nbformat.read(chapter, as_version=4))
    stubs = [i for i, c in enumerate(student.cells) if exercises.STUB in tags(c)]
    assert stubs, (
        f"{chapter.name} has no coding exercise (a '{exercises.SOLUTION}' cell with a solution region)"
    )
    selected = [
        i
        for i in code_indices(student)
        if exercises.STUB in tags(student.cells[i]) or exercises.AUTOGRADE in tags(student.cells[i])
    ]
    with pytest.raises(CellError) as info:
        try:
            run_cells(
                student,
                with_dependencies(student, selected),
                folder=chapter.parent,
                name=chapter.name,
            )
        except CellError as err:
            if isinstance(err.error, NotImplementedError):
                raise
        # the selection missed something the checks need: run every cell in order (slower, exact)
        run_cells(student, code_indices(student), folder=chapter.parent, name=chapter.name)
    label = exercises.parse_exercise_header(student.cells[stubs[0]].source)[0]
    assert isinstance(info.value.error, NotImplementedError), info.value
    assert str(info.value.error).startswith(f"Exercise {label}: "), info.value
    # exactly at the first cell that calls the stubbed function: its autograde cell (the stub only defines it)
    first_check = _first_autograde_after(student, stubs[0])
    assert info.value.index == first_check, (info.value, first_check)
    defined = _names(student.cells[stubs[0]].source)[0]
    assert defined & _names(student.cells[first_check].source)[1], (
        "the check does not call the stubbed function"
    )
    between = [
        i
        for i in code_indices(student)
        if stubs[0] < i < first_check and defined & _names(student.cells[i].source)[1]
    ]
    assert between == [], f"cells {between} call the stubbed function before its autograde cell"


def _first_autograde_after(nb, index):
    return next(
        (i for i, c in enumerate(nb.cells) if i > index and exercises.AUTOGRADE in tags(c)), None
    )


def _autograde_cells_of(nb, stub: int) -> list[int]:
    """The autograde cells of the exercise whose stub is cell ``stub``: those before the next stub."""
    following = [i for i, c in enumerate(nb.cells) if i > stub and exercises.STUB in tags(c)]
    end = following[0] if following else len(nb.cells)
    return [i for i in range(stub + 1, end) if exercises.AUTOGRADE in tags(nb.cells[i])]


def _stubs_by_label(nb) -> dict[str, int]:
    return {
        exercises.parse_exercise_header(c.source)[0]: i
        for i, c in enumerate(nb.cells)
        if exercises.STUB in tags(c)
    }


def test_every_real_chapter_has_a_wrong_answer_in_the_table():
    """At least one deliberately wrong answer per chapter with a coding exercise (see WRONG_ANSWERS)."""
    covered = {wrong.chapter for wrong in WRONG_ANSWERS}
    missing = [p.name for p in REAL_CHAPTERS if p.name[:2] not in covered]
    assert missing == [], (
        f"add a deliberately wrong answer for {missing} to WRONG_ANSWERS in tests/_exercise_notebooks.py"
    )


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=lambda wrong: wrong.label)
def test_real_chapter_wrong_answer_fails_its_autograde_cell_with_the_helpful_message(wrong):
    """The student notebook, its stubs filled (the reference solutions, and one plausible mistake): one
    of the exercise's autograde cells fails with an ExerciseCheckError (an AssertionError) saying what
    is wrong, and the checks before it pass."""
    chapters = [p for p in REAL_CHAPTERS if p.name.startswith(f"{wrong.chapter}_")]
    if not chapters:
        pytest.skip(f"no chapter {wrong.chapter} notebook in book/")
    (chapter,) = chapters
    source = nbformat.read(chapter, as_version=4)
    student = assign.student_notebook(source)
    stubs = _stubs_by_label(student)
    if wrong.label not in stubs:
        pytest.skip(
            f"{chapter.name} has no coding exercise {wrong.label!r} (it has {sorted(stubs)}): "
            "the chapter changed; update WRONG_ANSWERS in tests/_exercise_notebooks.py"
        )
    solutions = {
        exercises.parse_exercise_header(c.source)[0]: c.source
        for c in source.cells
        if c.cell_type == "code"
        and exercises.SOLUTION in tags(c)
        and exercises.has_solution_region(c.source)
    }
    for label, index in stubs.items():
        cell = student.cells[index]
        cell.source = (
            fill_stub(cell.source, wrong.body) if label == wrong.label else solutions[label]
        )
    target = stubs[wrong.label]
    checks = _autograde_cells_of(student, target)
    assert checks, f"{wrong.label} has no autograde cell after its stub"
    check = checks[-1]
    failure = None
    try:
        run_cells(
            student,
            with_dependencies(student, [target, *checks]),
            folder=chapter.parent,
            name=chapter.name,
        )
    except CellError as err:
        failure = err
    if failure is not None and failure.index not in checks:
        # the selection missed something the check needs: run every cell in order up to the check (exact)
        failure = None
        try:
            run_cells(
                student,
                [i for i in code_indices(student) if i <= check],
                folder=chapter.parent,
                name=chapter.name,
            )
        except CellError as err:
            failure = err
    assert failure is not None, (
        f"the wrong answer ({wrong.mistake}) passes the autograde cells of {wrong.label}"
    )
    assert failure.index in checks, failure
    assert isinstance(failure.error, AssertionError), failure
    assert re.search(wrong.message, str(failure.error)), (wrong.mistake, str(failure.error))


def test_real_chapters_are_listed():
    """The per-chapter tests above run for every ``book/NN_*.ipynb``; this notes how many there are."""
    assert all(
        path.suffix == ".ipynb" and path.parent == assign.DEFAULT_BOOK for path in REAL_CHAPTERS
    )
    assert len({p.name[:2] for p in REAL_CHAPTERS}) == len(REAL_CHAPTERS), (
        "two notebooks share a chapter number"
    )


@pytest.mark.parametrize("nb", ["x", {"cells": "no list"}, None])
def test_student_notebook_names_an_argument_that_is_not_a_notebook(nb):
    with pytest.raises(TypeError, match="nb must be a notebook"):
        assign.student_notebook(nb)


def test_nbgrader_an_exercise_checked_by_several_cells_shares_its_points():
    """Split into several autograde cells, a coding exercise is still worth ``points``."""
    nb = fixture_notebook()
    checks = [i for i, c in enumerate(nb.cells) if exercises.AUTOGRADE in tags(c)]
    for n in (2, 3):  # two more checks of the same exercise, with their own cell ids
        extra = copy.deepcopy(nb.cells[checks[0]])
        extra["id"] = f"{extra.get('id', 'check')}-{n}"
        nb.cells.insert(checks[0] + 1, extra)
    nb.cells[17 + 2].source = nb.cells[17 + 2].source.replace("ex-99-mean:", "ex-99-mc-integral:")
    graded = [
        c.metadata.nbgrader
        for c in assign.student_notebook(nb, nbgrader=True, points=3).cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    ]
    assert [(m["grade_id"], m["points"]) for m in graded] == [
        ("ex-99-mc-integral-autograde", 1),
        ("ex-99-mc-integral-autograde-2", 1),
        ("ex-99-mc-integral-autograde-3", 1),
        ("ex-99-mc-integral-autograde-4", 3),  # another exercise under the same label: its own 3
    ]
    graded = [
        c.metadata.nbgrader["points"]
        for c in assign.student_notebook(nb, nbgrader=True, points=1).cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    ]
    assert graded == [0.33, 0.33, 0.34, 1]  # to the hundredth, the sum exact
    tiny = [
        c.metadata.nbgrader["points"]
        for c in assign.student_notebook(nb, nbgrader=True, points=0.01).cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    ]
    assert all(p > 0 for p in tiny) and sum(tiny[:3]) == pytest.approx(0.01)
