"""Exercise conventions: notebook cell tags and the checks autograded cells call.

Introduced in the book's *For instructors* appendix; used by every chapter.

Every chapter notebook ends with exercises written with sphinx-exercise
(``{exercise}`` with a ``:label:``, and gated ``{solution-start}`` /
``{solution-end}`` blocks with ``:class: dropdown``). Code cells carry plain
notebook cell tags, whose names live here and nowhere else:

``solution`` (:data:`SOLUTION`)
    A worked solution. If the cell contains a region between
    :data:`BEGIN_SOLUTION` and :data:`END_SOLUTION` lines, the student version
    keeps the rest of the cell (signature and docstring) and replaces the region
    by ``raise NotImplementedError("Exercise <label>: ...")``. Without such a
    region the whole cell is removed from the student version.
``autograde`` (:data:`AUTOGRADE`)
    A check of the student's code against :mod:`lecture9` or a closed form. It is
    kept in the student version. Checks raise :class:`ExerciseCheckError` (an
    ``AssertionError``) with a message the student can act on.

The first line of a coding-exercise solution cell is a comment
``# Exercise <label>: <one-line task>``; the student stub's message is built from it.

``stub`` (:data:`STUB`)
    Set by ``python -m lecture9 assign`` (:mod:`lecture9.assign`) on the cells it
    turned into stubs in a student notebook; authors never write it.

:func:`parse_exercise_header`, :func:`has_solution_region` and :func:`stub_source`
implement the cell-level rules above; :mod:`lecture9.assign` applies them to whole
notebooks.
"""

from __future__ import annotations

import json
import math
import re
import textwrap

import torch

from ._validation import check_finite, check_float

__all__ = [
    "SOLUTION",
    "AUTOGRADE",
    "BEGIN_SOLUTION",
    "END_SOLUTION",
    "EXERCISE_HEADER",
    "STUB",
    "STUB_WIDTH",
    "ExerciseCheckError",
    "parse_exercise_header",
    "has_solution_region",
    "stub_source",
    "check_estimate",
    "check_close",
]

#: Cell tag of a solution cell (removed or stubbed in the student version).
SOLUTION = "solution"
#: Cell tag of an autograde cell (kept in the student version).
AUTOGRADE = "autograde"
#: First line of the region of a solution cell that the student must write (nbgrader's marker).
BEGIN_SOLUTION = "### BEGIN SOLUTION"
#: Last line of that region.
END_SOLUTION = "### END SOLUTION"
#: Prefix of the first line of a coding-exercise solution cell.
EXERCISE_HEADER = "# Exercise "
#: Cell tag that ``python -m lecture9 assign`` puts on the stubs of a student notebook.
STUB = "stub"

_HEADER_RE = re.compile(r"^#\s*Exercise\s+(?P<label>[^\s:]+)\s*:\s*(?P<task>\S.*?)\s*$")


class ExerciseCheckError(AssertionError):
    """An autograde check failed; the message says what is wrong and what was expected."""


def _as_float(value, name: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ExerciseCheckError(
                f"{name} should be a single number, got a tensor of shape {tuple(value.shape)}"
            )
        value = value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExerciseCheckError(f"{name} should be a number, got {value!r}") from None


def _as_tensor(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().double()
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise ExerciseCheckError(
            f"{name} should be a number, a sequence of numbers or a tensor, got {value!r}"
        ) from None


def _check_source(source) -> str:
    if not isinstance(source, str):
        raise TypeError(f"source must be a cell's source as a str, got {type(source).__name__}")
    return source


def check_estimate(
    estimate, expected, standard_error, *, what: str = "estimate", num_se: float = 5.0
) -> None:
    """Check a Monte Carlo estimate against the truth, within ``num_se`` standard errors.

    Raises:
        ExerciseCheckError: if the estimate is not finite or is off by more than
            ``num_se`` standard errors, with a message such as
            ``your estimate is biased: mean 2.31, expected 2.00 +- 0.02``.
    """
    est = _as_float(estimate, what)
    exp = _as_float(expected, "expected")
    se = _as_float(standard_error, "standard_error")
    if not se > 0:
        raise ValueError(f"standard_error must be > 0, got {se}")
    if not (isinstance(num_se, (int, float)) and num_se > 0):
        raise ValueError(
            f"num_se must be a number > 0 (a tolerance in standard errors), got {num_se!r}"
        )
    if not math.isfinite(est):
        raise ExerciseCheckError(
            f"your {what} is not finite ({est}); look for a division by zero or a log of 0"
        )
    if abs(est - exp) > num_se * se:
        raise ExerciseCheckError(
            f"your {what} is biased: mean {est:.4g}, expected {exp:.4g} +- {num_se * se:.2g} "
            f"({abs(est - exp) / se:.1f} standard errors away)"
        )


def check_close(
    actual, expected, *, what: str = "result", rtol: float = 1e-5, atol: float = 1e-8
) -> None:
    """Check a deterministic result (number or tensor) against the reference value.

    Both are compared as float64 tensors (gradients are not tracked), elementwise
    with ``torch.allclose``: ``|actual - expected| <= atol + rtol * |expected|``.

    Raises:
        ExerciseCheckError: on a shape mismatch (``your gradient has shape (2,),
            expected (3,)``) or on values that differ, naming the largest
            difference (``your gradient differs from the reference: largest
            difference 0.5 (allowed: rtol=1e-05, atol=1e-08)``).
    """
    actual_t = _as_tensor(actual, f"your {what}")
    expected_t = _as_tensor(expected, "expected")
    rtol, atol = check_float(rtol, "rtol", minimum=0.0), check_float(atol, "atol", minimum=0.0)
    check_finite(expected_t, "expected")
    if not bool(torch.isfinite(actual_t).all()):
        raise ExerciseCheckError(
            f"your {what} is not finite ({actual_t.flatten()[:4].tolist()} ...); "
            "look for a division by zero or a log of 0"
        )
    if actual_t.shape != expected_t.shape:
        raise ExerciseCheckError(
            f"your {what} has shape {tuple(actual_t.shape)}, expected {tuple(expected_t.shape)}"
        )
    if not torch.allclose(actual_t, expected_t, rtol=rtol, atol=atol):
        diff = (actual_t - expected_t).abs().max().item()
        raise ExerciseCheckError(
            f"your {what} differs from the reference: largest difference {diff:.3g} "
            f"(allowed: rtol={rtol:g}, atol={atol:g})"
        )


def parse_exercise_header(source: str) -> tuple[str, str] | None:
    """Read the ``# Exercise <label>: <task>`` header of a solution cell.

    The header is the first non-blank line of the cell. A task that does not end a
    sentence (``.``, ``!``, ``?``) goes on in the comment lines right below it, which are
    joined to it; a comment after a finished sentence is not part of the task.
    """
    lines = [line.strip() for line in _check_source(source).splitlines()]
    first = next((i for i, line in enumerate(lines) if line), None)
    match = _HEADER_RE.match(lines[first]) if first is not None else None
    if match is None:
        return None
    task = match["task"]
    for line in lines[first + 1 :]:
        if task.endswith((".", "!", "?")) or not line.startswith("#") or not line[1:].strip():
            break
        task = f"{task} {line[1:].strip()}"
    return match["label"], task


def _marker_lines(lines: list[str]) -> list[tuple[int, str]]:
    """``(line index, "begin" | "end")`` for every solution marker line."""
    found = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            found.append((i, "begin"))
        elif stripped == END_SOLUTION:
            found.append((i, "end"))
    return found


def has_solution_region(source: str) -> bool:
    """Whether a cell contains a :data:`BEGIN_SOLUTION` / :data:`END_SOLUTION` marker line."""
    return bool(_marker_lines(_check_source(source).splitlines()))


#: The longest line :func:`stub_source` writes for the ``raise`` statement (the notebooks' width).
STUB_WIDTH = 79


def _raise_lines(indent: str, message: str) -> list[str]:
    """``raise NotImplementedError(message)`` on one line, or its message wrapped to :data:`STUB_WIDTH`."""
    one_line = f"{indent}raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"
    if len(one_line) <= STUB_WIDTH:
        return [one_line]
    width = max(20, STUB_WIDTH - len(indent) - 6)  # 4 spaces of indent and the two quotes
    chunks = textwrap.wrap(message, width, break_long_words=False, break_on_hyphens=False)
    quoted = [json.dumps(chunk + " ", ensure_ascii=False) for chunk in chunks[:-1]]
    quoted.append(json.dumps(chunks[-1], ensure_ascii=False))
    return [
        f"{indent}raise NotImplementedError(",
        *(f"{indent}    {q}" for q in quoted),
        f"{indent})",
    ]


def stub_source(source: str) -> str:
    """The student's version of a coding-exercise solution cell.

    Every region from a :data:`BEGIN_SOLUTION` line to the next
    :data:`END_SOLUTION` line (both included) is replaced by one statement,
    indented like the :data:`BEGIN_SOLUTION` line::

        raise NotImplementedError("Exercise <label>: <task>")

    its message split over several lines when the line would be longer than
    :data:`STUB_WIDTH` characters.

    with ``<label>`` and ``<task>`` read from the cell's header (see
    :func:`parse_exercise_header`). Everything outside the regions (the header,
    the signature, the docstring) is kept as it is.

    Raises:
        ValueError: if the cell has no region, if the markers are unbalanced or
            nested, or if the cell does not start with an ``# Exercise <label>:
            <task>`` header.
    """
    lines = _check_source(source).splitlines()
    markers = _marker_lines(lines)
    if not markers:
        raise ValueError(f"the cell has no '{BEGIN_SOLUTION}' ... '{END_SOLUTION}' region")
    header = parse_exercise_header(source)
    if header is None:
        raise ValueError(
            f"a solution cell with a '{BEGIN_SOLUTION}' region must start with a header line "
            f"'{EXERCISE_HEADER}<label>: <task>' (the student's stub message is built from it)"
        )
    label, task = header
    message = f"Exercise {label}: {task}"
    out: list[str] = []
    start = 0
    expected = "begin"
    for index, kind in markers:
        if kind != expected:
            wrong = BEGIN_SOLUTION if kind == "begin" else END_SOLUTION
            raise ValueError(
                f"line {index + 1}: unexpected '{wrong}' (markers must alternate "
                f"'{BEGIN_SOLUTION}', '{END_SOLUTION}', without nesting)"
            )
        if kind == "begin":
            line = lines[index]
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(lines[start:index])
            out.extend(_raise_lines(indent, message))
            expected = "end"
        else:
            start = index + 1
            expected = "begin"
    if expected == "end":
        raise ValueError(f"a '{BEGIN_SOLUTION}' line has no matching '{END_SOLUTION}' line")
    out.extend(lines[start:])
    return "\n".join(out)
