"""Deliberately wrong answers for the coding exercises added to chapters 1 to 5.

Each must fail its autograde cell with a message the student can act on. The check is the
one of tests/test_assign.py, applied to these answers (the shared table, WRONG_ANSWERS in
tests/_exercise_notebooks.py, keeps one per chapter).
"""

import pytest
from _exercise_notebooks import WrongAnswer
from test_assign import (
    test_real_chapter_wrong_answer_fails_its_autograde_cell_with_the_helpful_message as check_wrong_answer,
)

NEW_WRONG_ANSWERS = [
    WrongAnswer(
        "ex-01-confidence-interval",
        "the standard deviation used as the standard error (no division by sqrt(N))",
        """\
mean = values.mean(dim=-1)
half_width = 1.96 * values.std(dim=-1)
return mean - half_width, mean + half_width""",
        r"your interval for one run of N = 100 differs from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-02-tail-proposal",
        "the importance weights forgotten: every term is f(x) = 1",
        """\
return torch.ones(num_samples, dtype=torch.float64)""",
        r"your estimate of Pr\(X > 4\) \(the mean of your terms w f\) is biased: mean 1, expected 3\.167e-05",
    ),
    WrongAnswer(
        "ex-03-arrival-sensitivity",
        "the warm-up kept: the empty start biases every path",
        """\
rates = torch.full((num_paths, 1), float(arrival_rate), dtype=torch.float64, requires_grad=True)
sojourn = queueing.mm1_sojourn_times(service_rate, rates, num_customers, num_paths, generator=generator)
(grad,) = torch.autograd.grad(sojourn.mean(dim=1).sum(), rates)
return grad.squeeze(1)""",
        r"your per-path sensitivities \(same seed as lecture9\.studies\.queueing\.mean_sojourn_sensitivity\) "
        r"differs",
    ),
    WrongAnswer(
        "ex-05-lognormal",
        "the Gaussian path's derivatives (1 and eps) without the factor x of the exponential",
        """\
eps = torch.randn(num_samples, generator=generator, dtype=torch.float64)
x = torch.exp(loc + scale * eps).requires_grad_(True)
(slope,) = torch.autograd.grad(f(x).sum(), x)
return {"loc": slope, "scale": slope * eps}""",
        r"your gradient with respect to loc is biased: mean 1, expected 1\.38",
    ),
    WrongAnswer(
        "ex-05-digital-delta",
        "the score of log S_T, z / (sigma sqrt(T)), without the factor 1 / S_0",
        """\
z = torch.randn(num_samples, generator=generator, dtype=torch.float64)
root_t = volatility * math.sqrt(maturity)
s_t = spot * torch.exp((rate - volatility ** 2 / 2) * maturity + root_t * z)
return math.exp(-rate * maturity) * (s_t > strike).to(torch.float64) * z / root_t""",
        r"your digital delta \(the mean of your per-sample values\) is biased: mean 2\.1\d*, expected 0\.02138",
    ),
]


@pytest.mark.parametrize("wrong", NEW_WRONG_ANSWERS, ids=lambda wrong: wrong.label)
def test_new_wrong_answer_fails_its_autograde_cell_with_the_helpful_message(wrong):
    check_wrong_answer(wrong)
