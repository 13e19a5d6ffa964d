"""The classroom round trip with nbgrader itself, as the *For instructors* appendix describes it.

On a temporary nbgrader course folder:

1. ``python -m lecture9 assign --nbgrader --out <course>/source/<assignment>`` writes the
   nbgrader source notebook of every chapter;
2. ``nbgrader generate_assignment`` turns all of them into the release (no solution left),
   ``nbgrader release_assignment`` puts it into a temporary exchange;
3. three students hand in one chapter: the solutions (``nbgrader fetch_assignment``, the
   answers written in, ``nbgrader submit``, then ``nbgrader collect``); the untouched
   release; the solutions with one coding exercise answered wrongly (a mistake from the
   table in ``tests/_exercise_notebooks.py``); the last two are put straight into
   ``submitted/<student>/<assignment>/``, where ``collect`` puts submissions;
4. ``nbgrader autograde``, then the gradebook (nbgrader's :class:`~nbgrader.api.Gradebook`):
   all code points, none, and all but the failed checks of the wrong exercise (each exercise
   worth --points, shared by its autograde cells);
5. ``nbgrader generate_feedback``, ``nbgrader release_feedback`` and ``nbgrader export``
   produce the feedback pages, return them through the exchange, and write the grades table.

nbgrader runs ``alembic`` from its own environment, so the commands run with this
environment's ``bin`` first on ``PATH``. One chapter stands in for the students (the
first with at least two coding exercises and a known wrong answer), which keeps the
test well under a minute.
"""

from __future__ import annotations

import csv
import getpass
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from _exercise_notebooks import REAL_CHAPTERS, WRONG_ANSWERS

from lecture9.exercises import BEGIN_SOLUTION, END_SOLUTION

ROOT = Path(__file__).resolve().parents[1]
COURSE_ID = "lecture9"
ASSIGNMENT = "ps1"
POINTS = 2
#: The students: the solutions (submitted through the exchange by the account running the
#: test, so nbgrader names the student after it); the untouched release; one exercise wrong.
SOLVED, UNTOUCHED, ONE_WRONG = getpass.getuser(), "untouched", "one-wrong"
COMMAND_TIMEOUT_S = 240


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # the kernels that autograde starts import lecture9 from this repository
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _run(course: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=course, env=_env(), capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT_S,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"`{' '.join(args)}` failed with exit code {result.returncode}:\n{output[-4000:]}"
    )
    return output


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _code_points(nb) -> dict[str, float]:
    """grade_id -> points of the autograded (graded code) cells of a notebook."""
    return {_nbgrader(c)["grade_id"]: float(_nbgrader(c)["points"])
            for c in nb.cells if c.cell_type == "code" and _nbgrader(c).get("grade")}  # fmt: skip


def _solution_cells(nb) -> dict[str, str]:
    """grade_id -> source of the (ungraded) code solution cells."""
    return {_nbgrader(c)["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and _nbgrader(c).get("solution") and not _nbgrader(c).get("grade")}  # fmt: skip


def _answer(source: str, body: str | None = None) -> str:
    """A solution cell as a student hands it in: the region's lines (or ``body``) without the markers."""
    lines = source.split("\n")
    begin = next(i for i, line in enumerate(lines) if line.strip() == BEGIN_SOLUTION)
    end = next(i for i, line in enumerate(lines) if line.strip() == END_SOLUTION)
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    region = (
        lines[begin + 1 : end]
        if body is None
        else [indent + line if line else line for line in body.split("\n")]
    )
    return "\n".join(lines[:begin] + region + lines[end + 1 :])


def _stand_in(source: Path):
    """The chapter the students hand in, and its wrong answer: the first chapter with at
    least two coding exercises and a wrong answer in the table of tests/_exercise_notebooks.py."""
    for chapter in REAL_CHAPTERS:
        labels = set(_solution_cells(nbformat.read(source / chapter.name, as_version=4)))
        wrong = [w for w in WRONG_ANSWERS if w.label in labels]
        if len(labels) >= 2 and wrong:
            return chapter.name, wrong[0]
    pytest.fail(
        "no chapter with two coding exercises and a wrong answer in tests/_exercise_notebooks.py"
    )


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course folder after assign, generate/release, three submissions, autograde, feedback, export."""
    pytest.importorskip(
        "nbgrader", reason="nbgrader is in requirements.txt: pip install -r requirements.txt"
    )
    assert REAL_CHAPTERS, "no chapter notebooks in book/"
    course = tmp_path_factory.mktemp("course")
    exchange = tmp_path_factory.mktemp("exchange")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n",
        encoding="utf-8",
    )
    _run(course, "-m", "lecture9", "assign", "--nbgrader", "--points", str(POINTS),
         "--out", f"source/{ASSIGNMENT}")  # fmt: skip
    _run(course, "-m", "nbgrader", "generate_assignment", ASSIGNMENT)
    _run(course, "-m", "nbgrader", "release_assignment", ASSIGNMENT)

    name, wrong = _stand_in(course / "source" / ASSIGNMENT)
    source = nbformat.read(course / "source" / ASSIGNMENT / name, as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / name, as_version=4)
    solutions = _solution_cells(source)
    assert wrong.label in solutions, f"{name}: no nbgrader solution cell {wrong.label!r}"
    answers = {
        SOLVED: {gid: _answer(src) for gid, src in solutions.items()},
        UNTOUCHED: {},
        ONE_WRONG: {
            gid: _answer(src, wrong.body if gid == wrong.label else None)
            for gid, src in solutions.items()
        },
    }

    def answered(nb, filled):
        nb = nbformat.from_dict(nb)
        for cell in nb.cells:
            if _nbgrader(cell).get("grade_id") in filled:
                cell.source = filled[_nbgrader(cell)["grade_id"]]
        return nb

    # The student with the solutions goes the students' way, through the exchange:
    # fetch_assignment, answer, submit (as the account running the test); then collect.
    home = tmp_path_factory.mktemp("student-home")
    shutil.copy(course / "nbgrader_config.py", home / "nbgrader_config.py")
    _run(home, "-m", "nbgrader", "fetch_assignment", ASSIGNMENT)
    fetched = nbformat.read(home / ASSIGNMENT / name, as_version=4)
    for other in (home / ASSIGNMENT).glob("*.ipynb"):  # hand in the stand-in chapter only
        if other.name != name:
            other.unlink()
    nbformat.write(answered(fetched, answers.pop(SOLVED)), home / ASSIGNMENT / name)
    _run(home, "-m", "nbgrader", "submit", ASSIGNMENT)
    _run(course, "-m", "nbgrader", "collect", ASSIGNMENT)
    # the other two are put where collect puts submissions
    for student, filled in answers.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(answered(release, filled), folder / name)
        (folder / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC", encoding="utf-8")
    autograde = _run(course, "-m", "nbgrader", "autograde", ASSIGNMENT)
    _run(course, "-m", "nbgrader", "generate_feedback", ASSIGNMENT)
    # feedback goes back through the exchange to the students who submitted through it
    _run(course, "-m", "nbgrader", "release_feedback", ASSIGNMENT, "--student", SOLVED)
    _run(course, "-m", "nbgrader", "export", "--to", "grades.csv")
    return {"path": course, "exchange": exchange, "notebook": name, "wrong": wrong,
            "points": _code_points(source), "autograde_log": autograde}  # fmt: skip


def test_every_chapter_is_released_without_solutions(course):
    path = course["path"]
    for chapter in REAL_CHAPTERS:
        for folder in (
            path / "release" / ASSIGNMENT,
            course["exchange"] / COURSE_ID / "outbound" / ASSIGNMENT,
        ):
            released = folder / chapter.name
            assert released.is_file(), f"{chapter.name} is missing from {folder}"
            text = released.read_text(encoding="utf-8")
            assert BEGIN_SOLUTION not in text, (
                f"{released}: a solution region is left in the release"
            )
        source = nbformat.read(path / "source" / ASSIGNMENT / chapter.name, as_version=4)
        release = nbformat.read(path / "release" / ASSIGNMENT / chapter.name, as_version=4)
        assert _code_points(source), (
            f"{chapter.name}: no autograded cell in the nbgrader source notebook"
        )
        assert _code_points(release) == _code_points(source)
        stubs = [
            c.source
            for c in release.cells
            if c.cell_type == "code" and _nbgrader(c).get("solution")
        ]
        assert len(stubs) == len(_solution_cells(source)) and all(
            "raise NotImplementedError" in s for s in stubs
        ), f"{chapter.name}: every coding exercise should be an nbgrader stub in the release"


def test_gradebook_scores_the_three_submissions(course):
    from nbgrader.api import Gradebook

    path, name = course["path"], course["notebook"]
    notebook = name.removesuffix(".ipynb")
    points = course["points"]
    full = sum(points.values())
    # an exercise's autograde cells (<label>-autograde, -autograde-2, ...) share its points
    exercise = {grade_id: re.sub(r"-autograde(-\d+)?$", "", grade_id) for grade_id in points}
    per_exercise = {label: 0.0 for label in exercise.values()}
    for grade_id, value in points.items():
        per_exercise[exercise[grade_id]] += value
    assert len(per_exercise) >= 2, per_exercise
    assert all(v == pytest.approx(POINTS) for v in per_exercise.values()), per_exercise
    wrong = course["wrong"].label
    with Gradebook(f"sqlite:///{path / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        for student in (SOLVED, UNTOUCHED, ONE_WRONG):
            submission = gradebook.find_submission_notebook(notebook, ASSIGNMENT, student)
            assert submission.max_code_score == pytest.approx(full), (student, full)
            scores = {
                grade_id: gradebook.find_grade(grade_id, notebook, ASSIGNMENT, student).score
                for grade_id in points
            }
            assert submission.code_score == pytest.approx(sum(scores.values())), student
            for grade_id, score in scores.items():
                if student == UNTOUCHED:
                    assert score == 0, (student, grade_id, score)
                elif student == SOLVED or exercise[grade_id] != wrong:
                    assert score == points[grade_id], (student, grade_id, score)
            if student == ONE_WRONG:  # the wrong exercise loses at least one of its checks
                lost = [g for g, v in scores.items() if exercise[g] == wrong and v == 0]
                assert lost, (
                    f"the wrong answer to {wrong} lost no points: {scores}\n"
                    f"{course['autograde_log'][-3000:]}"
                )


def test_feedback_and_export(course):
    path, notebook = course["path"], course["notebook"].removesuffix(".ipynb")
    for student in (SOLVED, UNTOUCHED, ONE_WRONG):
        page = path / "feedback" / student / ASSIGNMENT / f"{notebook}.html"
        assert page.is_file(), f"no feedback page {page}"
    released = list((course["exchange"] / COURSE_ID / "feedback").glob("*.html"))
    assert len(released) == 1, (
        f"release_feedback put {len(released)} feedback pages into the exchange, not 1"
    )
    # the wrong answer's feedback shows the check's message, which the student can act on
    feedback = (path / "feedback" / ONE_WRONG / ASSIGNMENT / f"{notebook}.html").read_text(
        encoding="utf-8"
    )
    assert "ExerciseCheckError" in feedback
    with (path / "grades.csv").open(newline="", encoding="utf-8") as table:
        rows = {
            row["student_id"]: row
            for row in csv.DictReader(table)
            if row["assignment"] == ASSIGNMENT
        }
    assert set(rows) == {SOLVED, UNTOUCHED, ONE_WRONG}, rows
    scores = {student: float(row["raw_score"]) for student, row in rows.items()}
    assert scores[SOLVED] > scores[ONE_WRONG] > scores[UNTOUCHED] == 0, scores
