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
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "SOLUTION",
    "AUTOGRADE",
    "BEGIN_SOLUTION",
    "END_SOLUTION",
    "EXERCISE_HEADER",
    "ExerciseCheckError",
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


class ExerciseCheckError(AssertionError):
    """An autograde check failed; the message says what is wrong and what was expected."""


def _as_float(value, name: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ExerciseCheckError(f"{name} should be a single number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExerciseCheckError(f"{name} should be a number, got {value!r}") from None


def check_estimate(estimate, expected, standard_error, *, what: str = "estimate", num_se: float = 5.0) -> None:
    """Check a Monte Carlo estimate against the truth, within ``num_se`` standard errors.

    Args:
        estimate: the student's estimate (number or one-element tensor).
        expected: the exact value.
        standard_error: the standard error of the estimate (from the reference
            implementation or a closed form), > 0.
        what: what is being estimated, for the message.
        num_se: tolerance in standard errors.

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
    if not math.isfinite(est):
        raise ExerciseCheckError(f"your {what} is not finite ({est}); look for a division by zero or a log of 0")
    if abs(est - exp) > num_se * se:
        raise ExerciseCheckError(
            f"your {what} is biased: mean {est:.4g}, expected {exp:.4g} +- {num_se * se:.2g} "
            f"({abs(est - exp) / se:.1f} standard errors away)"
        )


def check_close(actual, expected, *, what: str = "result", rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """Check a deterministic result (number or tensor) against the reference value.

    Raises:
        ExerciseCheckError: on a shape mismatch or values that differ, naming the
            largest difference.
    """
    actual_t = torch.as_tensor(actual, dtype=torch.float64) if not isinstance(actual, torch.Tensor) else actual.detach().double()
    expected_t = torch.as_tensor(expected, dtype=torch.float64) if not isinstance(expected, torch.Tensor) else expected.detach().double()
    if actual_t.shape != expected_t.shape:
        raise ExerciseCheckError(f"your {what} has shape {tuple(actual_t.shape)}, expected {tuple(expected_t.shape)}")
    if not torch.allclose(actual_t, expected_t, rtol=rtol, atol=atol):
        diff = (actual_t - expected_t).abs().max().item()
        raise ExerciseCheckError(
            f"your {what} differs from the reference: largest difference {diff:.3g} "
            f"(allowed: rtol={rtol:g}, atol={atol:g})"
        )
