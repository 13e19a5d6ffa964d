"""Tests of lecture9.exercises: tag names, stubs, the autograde checks and their messages,
and, for every real chapter notebook, its exercises (conventions; autograde cells pass
against the reference solutions)."""

from __future__ import annotations

import math
import re

import nbformat
import pytest
import torch
from _exercise_notebooks import (
    MC_INTEGRAL_SOLUTION,
    REAL_CHAPTERS,
    CellError,
    code_indices,
    fixture_notebook,
    run_cells,
    tags,
    with_dependencies,
)

from lecture9 import exercises
from lecture9.assign import SOLUTION_END_RE, SOLUTION_START_RE


def test_tag_names_are_the_documented_ones():
    assert (exercises.SOLUTION, exercises.AUTOGRADE, exercises.STUB) == (
        "solution",
        "autograde",
        "stub",
    )
    assert (exercises.BEGIN_SOLUTION, exercises.END_SOLUTION) == (
        "### BEGIN SOLUTION",
        "### END SOLUTION",
    )
    assert exercises.EXERCISE_HEADER == "# Exercise "
    assert issubclass(exercises.ExerciseCheckError, AssertionError)


# ---------------------------------------------------------------------------------------
# check_estimate / check_close: the messages a student reads.


def test_check_estimate_passes_within_the_tolerance():
    exercises.check_estimate(2.0 + 4.9 * 0.01, 2.0, 0.01)
    exercises.check_estimate(torch.tensor([1.99]), torch.tensor(2.0), torch.tensor(0.01), num_se=3)


def test_check_estimate_reports_a_bias_with_numbers():
    with pytest.raises(exercises.ExerciseCheckError) as info:
        exercises.check_estimate(2.31, 2.0, 0.004, what="estimate")
    assert (
        str(info.value)
        == "your estimate is biased: mean 2.31, expected 2 +- 0.02 (77.5 standard errors away)"
    )
    with pytest.raises(
        exercises.ExerciseCheckError,
        match=r"your gradient is biased: mean -1\.5, expected -1 \+- 0\.3",
    ):
        exercises.check_estimate(torch.tensor(-1.5), -1.0, 0.1, what="gradient", num_se=3)


def test_check_estimate_reports_non_finite_and_non_scalar_estimates():
    with pytest.raises(
        exercises.ExerciseCheckError,
        match=r"your estimate is not finite \(nan\); look for a division",
    ):
        exercises.check_estimate(math.nan, 1.0, 0.1)
    with pytest.raises(exercises.ExerciseCheckError, match=r"your estimate is not finite \(inf\)"):
        exercises.check_estimate(torch.tensor(float("inf")), 1.0, 0.1)
    with pytest.raises(
        exercises.ExerciseCheckError,
        match=r"mean should be a single number, got a tensor of shape \(3,\)",
    ):
        exercises.check_estimate(torch.ones(3), 1.0, 0.1, what="mean")
    with pytest.raises(
        exercises.ExerciseCheckError, match=r"estimate should be a number, got 'abc'"
    ):
        exercises.check_estimate("abc", 1.0, 0.1)


def test_check_estimate_rejects_a_bad_standard_error():
    with pytest.raises(ValueError, match="standard_error must be > 0, got 0.0"):
        exercises.check_estimate(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="standard_error must be > 0, got -1.0"):
        exercises.check_estimate(1.0, 1.0, -1.0)


def test_check_close_passes_and_reports_shape_and_value_differences():
    exercises.check_close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    exercises.check_close(0.5, torch.tensor(0.5, dtype=torch.float64))
    with pytest.raises(
        exercises.ExerciseCheckError, match=r"your gradient has shape \(2,\), expected \(3,\)"
    ):
        exercises.check_close(torch.zeros(2), torch.zeros(3), what="gradient")
    with pytest.raises(exercises.ExerciseCheckError) as info:
        exercises.check_close(
            torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0]), what="log-density"
        )
    assert str(info.value) == (
        "your log-density differs from the reference: largest difference 0.5 "
        "(allowed: rtol=1e-05, atol=1e-08)"
    )
    exercises.check_close(torch.tensor(1.1), 1.0, rtol=0.2)


def test_check_close_does_not_track_gradients():
    x = torch.tensor([1.0], requires_grad=True)
    exercises.check_close(x * 2, [2.0])


# ---------------------------------------------------------------------------------------
# Header, regions and stubs.


def test_parse_exercise_header():
    assert exercises.parse_exercise_header(MC_INTEGRAL_SOLUTION) == (
        "ex-99-mc-integral",
        "implement a Monte Carlo estimate of an integral over [a, b].",
    )
    assert exercises.parse_exercise_header("\n\n#Exercise 3.2:  derive it  \nx = 1") == (
        "3.2",
        "derive it",
    )
    # a task that does not end a sentence goes on in the comment lines below it
    wrapped = "# Exercise ex-1: compute the values\n#   by recursion.\n# Hint: use a loop.\nx = 1"
    assert exercises.parse_exercise_header(wrapped) == ("ex-1", "compute the values by recursion.")
    assert exercises.parse_exercise_header("# Exercise ex-1: open\n#\n# not this") == (
        "ex-1",
        "open",
    )
    assert exercises.parse_exercise_header("# Exercise ex-1: done.\n# Use x.") == ("ex-1", "done.")
    assert exercises.parse_exercise_header("x = 1\n# Exercise ex-1: late") is None
    assert exercises.parse_exercise_header("# Exercise ex-1 no colon") is None
    assert exercises.parse_exercise_header("") is None


def test_stub_source_keeps_signature_and_docstring():
    stub = exercises.stub_source(MC_INTEGRAL_SOLUTION)
    assert stub == (
        "# Exercise ex-99-mc-integral: implement a Monte Carlo estimate of an integral over [a, b].\n"
        "def mc_integral(f, a, b, num_samples, *, generator=None):\n"
        '    """Return the Monte Carlo estimate of the integral of ``f`` over ``[a, b]`` (a 0-d tensor)."""\n'
        "    raise NotImplementedError(\n"
        '        "Exercise ex-99-mc-integral: implement a Monte Carlo estimate of an "\n'
        '        "integral over [a, b]."\n'
        "    )"
    )
    namespace = {}
    exec(stub, namespace)  # noqa: S102
    with pytest.raises(
        NotImplementedError,
        match=r"^Exercise ex-99-mc-integral: implement a Monte Carlo estimate of an integral "
        r"over \[a, b\]\.$",
    ):  # the wrapped message reads as one sentence
        namespace["mc_integral"](None, 0, 1, 10)


def test_stub_source_with_two_regions_quotes_and_code_after_the_region():
    source = (
        '# Exercise ex-2: compute the "mean" and the variance.\n'
        "def f(x):\n"
        "    ### BEGIN SOLUTION\n"
        "    m = x.mean()\n"
        "    ### END SOLUTION\n"
        "    if True:\n"
        "        ### BEGIN SOLUTION\n"
        "        v = x.var()\n"
        "        ### END SOLUTION\n"
        "    return m, v\n"
    )
    stub = exercises.stub_source(source)
    assert "x.mean()" not in stub and "x.var()" not in stub
    assert stub.count("raise NotImplementedError") == 2
    assert (
        "        raise NotImplementedError(\n"
        '            "Exercise ex-2: compute the \\"mean\\" and the variance."\n'
        "        )"
    ) in stub  # longer than 79 characters on one line: wrapped
    short = exercises.stub_source(
        "# Exercise e: do it.\ndef g():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION"
    )
    assert short.splitlines()[-1] == '    raise NotImplementedError("Exercise e: do it.")'
    namespace = {}
    exec(stub, namespace)  # noqa: S102
    with pytest.raises(NotImplementedError, match='compute the "mean" and the variance'):
        namespace["f"](torch.ones(2))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1", "the cell has no '### BEGIN SOLUTION' ... '### END SOLUTION' region"),
        (
            "# Exercise e: t\n### END SOLUTION\n### BEGIN SOLUTION",
            "line 2: unexpected '### END SOLUTION'",
        ),
        (
            "# Exercise e: t\n### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
            "line 3: unexpected '### BEGIN SOLUTION'",
        ),
        (
            "# Exercise e: t\n### BEGIN SOLUTION\nx = 1",
            "a '### BEGIN SOLUTION' line has no matching",
        ),
        (
            "def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION",
            "must start with a header line '# Exercise <label>: <task>'",
        ),
    ],
)
def test_stub_source_errors(source, message):
    assert exercises.has_solution_region(source) == ("SOLUTION" in source)
    with pytest.raises(ValueError, match=re.escape(message)):
        exercises.stub_source(source)


# ---------------------------------------------------------------------------------------
# Exercises of a chapter notebook: conventions, and the autograde cells against the reference.


_EXERCISE_BLOCK_RE = re.compile(
    r"^[ \t]*(`{3,}|:{3,})[ \t]*\{exercise(?:-start)?\}(?P<title>[^\n]*)\n(?P<body>.*?)^[ \t]*\1[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def exercise_blocks(nb) -> list[dict]:
    """Every ``{exercise}`` directive of a notebook: label, title line, text."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for match in _EXERCISE_BLOCK_RE.finditer(cell.source):
            label = re.search(r"^[ \t]*:label:[ \t]*(\S+)", match["body"], re.MULTILINE)
            found.append(
                {
                    "label": label.group(1) if label else None,
                    "title": match["title"].strip(),
                    "text": match["body"],
                }
            )
    return found


def check_exercise_conventions(nb) -> list[str]:
    """The problems with a notebook's exercises (empty if it follows the conventions)."""
    problems = []
    blocks = exercise_blocks(nb)
    if len(blocks) < 3:
        problems.append(f"{len(blocks)} exercises, expected at least 3")
    coding = [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and exercises.SOLUTION in tags(c)
        and exercises.has_solution_region(c.source)
    ]
    if not coding:
        problems.append("no coding exercise (a 'solution' cell with a '### BEGIN SOLUTION' region)")
    if not any(exercises.AUTOGRADE in tags(c) for c in nb.cells):
        problems.append("no 'autograde' cell")
    labels = {b["label"] for b in blocks}
    for block in blocks:
        name = block["label"] or block["title"]
        if not block["label"]:
            problems.append(f"exercise {name!r} has no :label:")
        if "★" not in block["title"]:
            problems.append(f"exercise {name!r}: no difficulty mark (★, ★★ or ★★★) in the title")
        if "**Learning goal:**" not in block["text"]:
            problems.append(f"exercise {name!r}: no '**Learning goal:** ...' line")
    for cell in nb.cells:
        for match in SOLUTION_START_RE.finditer(cell.source):
            if match["label"] not in labels:
                problems.append(f"solution-start for unknown exercise {match['label']!r}")
    for cell in coding:
        header = exercises.parse_exercise_header(cell.source)
        if header is None:
            problems.append(
                f"solution cell without '# Exercise <label>: <task>' header: {cell.source[:60]!r}"
            )
        elif header[0] not in labels:
            problems.append(f"solution cell header names unknown exercise {header[0]!r}")
    starts = sum(
        len(SOLUTION_START_RE.findall(c.source)) for c in nb.cells if c.cell_type == "markdown"
    )
    ends = sum(
        len(SOLUTION_END_RE.findall(c.source)) for c in nb.cells if c.cell_type == "markdown"
    )
    if starts != ends:
        problems.append(f"{starts} solution-start but {ends} solution-end cells")
    return problems


def test_the_fixture_follows_the_conventions():
    assert check_exercise_conventions(fixture_notebook()) == []
    nb = fixture_notebook()
    nb.cells[5].source = (
        nb.cells[5].source.replace("(★)", "").replace("**Learning goal:** practise.", "")
    )
    assert check_exercise_conventions(nb) == [
        "exercise 'ex-99-unbiased': no difficulty mark (★, ★★ or ★★★) in the title",
        "exercise 'ex-99-unbiased': no '**Learning goal:** ...' line",
    ]


def autograde_run(nb, folder, name):
    """Run the autograde cells after the coding solutions, the set-up cell and the cells they need.

    The cells are found by :func:`with_dependencies` (names read and bound); if that
    run fails, every cell is run in order (slower, exact) and its failure is the one
    reported.
    """
    indices = code_indices(nb)
    wanted = [
        i
        for i in indices
        if exercises.AUTOGRADE in tags(nb.cells[i])
        or (
            exercises.SOLUTION in tags(nb.cells[i])
            and exercises.has_solution_region(nb.cells[i].source)
        )
    ]
    try:
        return run_cells(nb, with_dependencies(nb, wanted), folder=folder, name=name)
    except CellError:
        pass
    last = max(i for i in indices if exercises.AUTOGRADE in tags(nb.cells[i]))
    return run_cells(nb, [i for i in indices if i <= last], folder=folder, name=name)


def test_autograde_cells_of_the_fixture_pass_with_the_reference(tmp_path):
    namespace = autograde_run(fixture_notebook(), tmp_path, "fixture")
    assert "mc_integral" in namespace and "sample_mean" in namespace


def test_autograde_run_reports_a_failing_check(tmp_path):
    nb = fixture_notebook()
    nb.cells[14].source = nb.cells[14].source.replace("8 / 3", "3.0")
    with pytest.raises(CellError) as info:
        autograde_run(nb, tmp_path, "fixture")
    assert info.value.index == 14
    assert isinstance(info.value.error, exercises.ExerciseCheckError)
    assert "your estimate of the integral is biased" in str(info.value.error)


def test_with_dependencies_adds_the_cells_a_check_reads():
    nb = fixture_notebook()
    nb.cells[14].source = (
        "print(u.shape)\n" + nb.cells[14].source
    )  # reads the chapter's ``u`` (cell 3)
    assert with_dependencies(nb, [12, 14]) == [1, 3, 12, 14]
    assert with_dependencies(nb, [12, 17]) == [1, 12, 17]


@pytest.mark.parametrize("chapter", REAL_CHAPTERS, ids=lambda p: p.name)
def test_real_chapter_exercise_conventions(chapter):
    assert check_exercise_conventions(nbformat.read(chapter, as_version=4)) == []


@pytest.mark.parametrize("chapter", REAL_CHAPTERS, ids=lambda p: p.name)
def test_real_chapter_autograde_cells_pass_with_the_reference_solutions(chapter):
    nb = nbformat.read(chapter, as_version=4)
    assert any(exercises.AUTOGRADE in tags(c) for c in nb.cells), (
        f"{chapter.name} has no autograde cell"
    )
    autograde_run(nb, chapter.parent, chapter.name)


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: exercises.check_close("a", 1.0), exercises.ExerciseCheckError, "your result"),
        (lambda: exercises.check_close(1.0, object()), exercises.ExerciseCheckError, "expected"),
        (lambda: exercises.check_estimate(1.0, 1.0, 0.1, num_se=0.0), ValueError, "num_se"),
        (
            lambda: exercises.check_estimate(1.0, 1.0, 0.1, num_se=float("nan")),
            ValueError,
            "num_se",
        ),
        (lambda: exercises.parse_exercise_header(3), TypeError, "source"),
        (lambda: exercises.has_solution_region(None), TypeError, "source"),
        (lambda: exercises.stub_source(b"x"), TypeError, "source"),
    ],
)
def test_bad_arguments_get_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()
