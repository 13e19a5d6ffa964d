"""Helpers shared by tests/test_assign.py and tests/test_exercises.py.

A fixture chapter notebook that follows the exercise conventions of
:mod:`lecture9.exercises`, the list of real chapter notebooks, and in-process
execution of selected cells (much cheaper than a kernel for whole chapters).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lecture9 import exercises
from lecture9.assign import DEFAULT_BOOK, SOLUTION_END_RE, SOLUTION_START_RE

#: The chapter notebooks that exist when the tests are collected.
REAL_CHAPTERS = sorted(DEFAULT_BOOK.glob("[0-9][0-9]_*.ipynb"))

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

SETUP = """\
import torch
from lecture9.exercises import check_close, check_estimate
SEED = 0
generator = torch.Generator().manual_seed(SEED)
device = torch.device("cpu")"""

MC_INTEGRAL_SOLUTION = '''\
# Exercise ex-99-mc-integral: implement a Monte Carlo estimate of an integral over [a, b].
def mc_integral(f, a, b, num_samples, *, generator=None):
    """Return the Monte Carlo estimate of the integral of ``f`` over ``[a, b]`` (a 0-d tensor)."""
    ### BEGIN SOLUTION
    uniform_draws_for_the_integral = a + (b - a) * torch.rand(num_samples, generator=generator, dtype=torch.float64)
    return (b - a) * f(uniform_draws_for_the_integral).mean()
    ### END SOLUTION'''

#: A deliberately wrong answer: the draws are not uniform, so the estimator is biased.
MC_INTEGRAL_BIASED = """\
def mc_integral(f, a, b, num_samples, *, generator=None):
    x = a + (b - a) * torch.rand(num_samples, generator=generator, dtype=torch.float64) ** 2
    return (b - a) * f(x).mean()"""

MC_INTEGRAL_CHECK = """\
# (b - a) f(U) with f(x) = x^2 on [0, 2] has mean 8/3 and variance 256/45
estimate = mc_integral(lambda x: x**2, 0.0, 2.0, 100_000, generator=torch.Generator().manual_seed(1))
check_estimate(estimate, 8 / 3, (256 / 45 / 100_000) ** 0.5, what="estimate of the integral")
print("ex-99-mc-integral: all checks passed")"""

SAMPLE_MEAN_SOLUTION = '''\
# Exercise ex-99-mean: implement the sample mean of a 1-d tensor.
def sample_mean(x):
    """Return the mean of the entries of ``x``."""
    ### BEGIN SOLUTION
    total_of_the_entries = x.sum()
    return total_of_the_entries / x.numel()
    ### END SOLUTION'''

SAMPLE_MEAN_CHECK = """\
x = torch.arange(5.0)
check_close(sample_mean(x), torch.tensor(2.0), what="sample mean")
print("ex-99-mean: all checks passed")"""

WRITTEN_SOLUTION_TEXT = (
    "By linearity of expectation the mean of the average of independent draws "
    "equals the integral, so the estimator is unbiased."
)
WRITTEN_SOLUTION_CODE = """\
variance_of_the_uniform_check = torch.rand(10_000, generator=generator).var().item()
print(f"{variance_of_the_uniform_check:.2f}")"""


def exercise_md(label: str, title: str, task: str) -> str:
    return f"```{{exercise}} {title} (★)\n:label: {label}\n\n**Learning goal:** practise.\n\n{task}\n```"


def solution_start(label: str) -> str:
    return f"```{{solution-start}} {label}\n:class: dropdown\n```"


SOLUTION_END = "```{solution-end}\n```"


def fixture_notebook():
    """A small chapter that follows the conventions: one written and two coding exercises."""
    cells = [
        new_markdown_cell("# A fixture chapter"),
        new_code_cell(SETUP),
        new_markdown_cell("## A section\n\nDraw uniforms."),
        new_code_cell('u = torch.rand(1000, generator=generator)\nprint(f"{u.mean().item():.2f}")'),
        new_markdown_cell("## Exercises"),
        new_markdown_cell(
            exercise_md("ex-99-unbiased", "Unbiasedness", "Show that the estimator is unbiased.")
        ),
        new_markdown_cell(solution_start("ex-99-unbiased")),
        new_markdown_cell(WRITTEN_SOLUTION_TEXT),
        new_code_cell(WRITTEN_SOLUTION_CODE, metadata={"tags": [exercises.SOLUTION]}),
        new_markdown_cell(SOLUTION_END),
        new_markdown_cell(
            exercise_md("ex-99-mc-integral", "A Monte Carlo integral", "Implement `mc_integral`.")
        ),
        new_markdown_cell(solution_start("ex-99-mc-integral")),
        new_code_cell(MC_INTEGRAL_SOLUTION, metadata={"tags": [exercises.SOLUTION]}),
        new_markdown_cell(SOLUTION_END),
        new_code_cell(MC_INTEGRAL_CHECK, metadata={"tags": [exercises.AUTOGRADE]}),
        new_markdown_cell(exercise_md("ex-99-mean", "The sample mean", "Implement `sample_mean`.")),
        new_markdown_cell(solution_start("ex-99-mean")),
        new_code_cell(SAMPLE_MEAN_SOLUTION, metadata={"tags": [exercises.SOLUTION]}),
        new_markdown_cell(SOLUTION_END),
        new_code_cell(SAMPLE_MEAN_CHECK, metadata={"tags": [exercises.AUTOGRADE]}),
    ]
    nb = new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC)})
    nbformat.validate(nb)
    return nb


def write_fixture_book(folder: Path, names=("01_fixture.ipynb",)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        nbformat.write(fixture_notebook(), folder / name)
        paths.append(folder / name)
    return paths


def tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


# ---------------------------------------------------------------------------------------
# "No solution text": distinctive lines of every solution.


def _solution_parts(nb) -> list[tuple[str, str]]:
    """(description, text) of every piece of solution in a chapter notebook."""
    parts = []
    in_block = False
    for index, cell in enumerate(nb.cells):
        source = cell.source
        if cell.cell_type == "code" and exercises.SOLUTION in tags(cell):
            if exercises.has_solution_region(source):
                lines = source.splitlines()
                keep, inside = [], False
                for line in lines:
                    if line.strip() == exercises.BEGIN_SOLUTION:
                        inside = True
                    elif line.strip() == exercises.END_SOLUTION:
                        inside = False
                    elif inside:
                        keep.append(line)
                parts.append((f"solution region of cell {index + 1}", "\n".join(keep)))
            else:
                parts.append((f"solution cell {index + 1}", source))
        elif cell.cell_type == "markdown":
            starts, ends = SOLUTION_START_RE.search(source), SOLUTION_END_RE.search(source)
            if in_block and not starts and not ends:
                parts.append((f"markdown cell {index + 1} of a solution block", source))
            if starts:
                in_block = True
            if ends:
                in_block = False
        elif in_block and cell.cell_type == "code":
            parts.append((f"code cell {index + 1} of a solution block", source))
    return parts


def _normal(line: str) -> str:
    return " ".join(line.split())


def distinctive_lines(nb) -> list[tuple[str, str]]:
    """(description, line) pairs: for each solution, its lines that appear nowhere else.

    A line counts if it is not a directive fence or option, at least 12 characters
    long, and does not occur (even as part of a line) in any cell outside the
    solutions: a solution that repeats a line of the chapter or of the exercise's
    text is not blamed for it.
    """
    parts = _solution_parts(nb)
    solution_text = {text for _, text in parts}
    elsewhere = set()
    for cell in nb.cells:
        if cell.source in solution_text:
            continue
        source = (
            exercises.stub_source(cell.source)
            if exercises.has_solution_region(cell.source)
            else cell.source
        )
        elsewhere.update(_normal(line) for line in source.splitlines())
    elsewhere_text = "\n".join(sorted(elsewhere))
    found = []
    for what, text in parts:
        for line in text.splitlines():
            norm = _normal(line)
            if (
                len(norm) < 12
                or norm in elsewhere_text
                or norm.startswith(("```", ":::", ":class:", ":label:"))
            ):
                continue
            found.append((what, norm))
    return found


def leaked_solution_lines(source_nb, student_path: Path) -> list[tuple[str, str]]:
    """Distinctive solution lines of ``source_nb`` that occur in the student notebook file.

    A line leaks if a line of the student notebook equals it (up to whitespace), or,
    for lines of 40 characters or more, if it occurs anywhere in the student file (a
    short line such as ``z = mu + sigma * eps`` may legitimately be quoted in a
    docstring).
    """
    student = nbformat.read(student_path, as_version=4)
    student_lines = {_normal(line) for cell in student.cells for line in cell.source.splitlines()}
    student_text = "\n".join(sorted(student_lines))
    raw = student_path.read_text(encoding="utf-8")
    return [
        (what, line)
        for what, line in distinctive_lines(source_nb)
        if line in student_lines or (len(line) >= 40 and (line in student_text or line in raw))
    ]


# ---------------------------------------------------------------------------------------
# In-process execution of selected cells.

_MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


def _python(source: str) -> str:
    """Cell source as plain Python: IPython line magics become ``pass``, cell magics are dropped."""
    if source.lstrip().startswith("%%"):
        source = source.lstrip().split("\n", 1)[1] if "\n" in source.lstrip() else ""
    return _MAGIC.sub(lambda m: m.group(1) + "pass", source)


class CellError(Exception):
    def __init__(self, index: int, error: BaseException):
        super().__init__(f"cell {index + 1}: {type(error).__name__}: {error}")
        self.index = index
        self.error = error


@contextlib.contextmanager
def _in_folder(folder: Path):
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def run_cells(nb, indices, *, folder: Path, name: str = "notebook") -> dict:
    """Execute the code cells ``indices`` of ``nb`` in order, in one fresh namespace, in ``folder``.

    Raises:
        CellError: at the first cell that raises, with its index and exception.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    namespace: dict = {"__name__": "__main__"}
    try:
        with _in_folder(folder):
            for index in indices:
                code = compile(
                    _python(nb.cells[index].source), f"<{name} cell {index + 1}>", "exec"
                )
                try:
                    exec(code, namespace)  # noqa: S102 - executing the course's own notebooks
                except Exception as err:
                    raise CellError(index, err) from err
    finally:
        plt.close("all")
    return namespace


def code_indices(nb) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds at top level, names it reads anywhere) - a cheap static approximation."""
    import ast

    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set(), set()
    bound, read, arguments = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):  # a function's argument is local, not an earlier cell's
            arguments.add(node.arg)
    return bound, read - arguments


def with_dependencies(nb, wanted) -> list[int]:
    """The code cells ``wanted``, the set-up cell, and (transitively) the last earlier cell
    that binds each name they read. Over-inclusion only costs time; the tests fall back to
    running every cell when this approximation misses something."""
    import builtins

    indices = code_indices(nb)
    names = {i: _names(nb.cells[i].source) for i in indices}
    selected = set(wanted) | {indices[0]}
    changed = True
    while changed:
        changed = False
        for i in sorted(selected):
            for name in names[i][1] - names[i][0] - set(dir(builtins)):
                definers = [j for j in indices if j < i and name in names[j][0]]
                if definers and definers[-1] not in selected:
                    selected.add(definers[-1])
                    changed = True
    return sorted(selected)


# ---------------------------------------------------------------------------------------
# Deliberately wrong answers for the real chapters' coding exercises.


class WrongAnswer:
    """A plausible mistake for a chapter's coding exercise and the message its autograde cell must give.

    ``body`` replaces the stub's ``raise NotImplementedError(...)`` line (the header,
    signature and docstring of the stub are kept), so it uses the stub's argument names.
    """

    def __init__(self, label: str, mistake: str, body: str, message: str):
        self.label = label
        self.chapter = label.split("-")[1]  # "ex-01-mc-integral" -> "01"
        self.mistake = mistake
        self.body = body
        self.message = message  # a regular expression searched in the error message

    def __repr__(self) -> str:
        return f"WrongAnswer({self.label!r}: {self.mistake})"


#: One deliberately wrong answer (at least) for every chapter's coding exercises.
WRONG_ANSWERS = [
    WrongAnswer(
        "ex-01-mc-integral",
        "the factor (b - a) is forgotten: the average of f, not the integral",
        """\
x = a + (b - a) * torch.rand(num_samples, generator=generator, dtype=torch.float64)
return f(x).mean()""",
        r"your estimate of the integral of sin over \[0, pi\] is biased: mean 0\.63\d*, expected 2 \+- ",
    ),
    WrongAnswer(
        "ex-02-laplace",
        "the scale is used as a rate (divided by instead of multiplied with)",
        """\
u = torch.rand(num_samples, generator=generator, dtype=torch.float64) - 0.5
return loc - torch.sign(u) * torch.log1p(-2 * u.abs()) / scale""",
        r"your mean absolute deviation is biased: mean 0\.5\d*, expected 2 \+- ",
    ),
    WrongAnswer(
        "ex-03-central-difference",
        "no common random numbers: independent draws in the two terms",
        """\
x_plus = loc + scale * torch.randn(num_samples, generator=generator, dtype=torch.float64)
x_minus = loc + scale * torch.randn(num_samples, generator=generator, dtype=torch.float64)
return (f(x_plus + h) - f(x_minus - h)) / (2 * h)""",
        r"^the variance is too large: did you use the same eps in both terms\?$",
    ),
    WrongAnswer(
        "ex-04-quadratic-variance",
        "the second moment E[g^2], without subtracting the squared mean (2(loc - k))^2",
        """\
d, s2 = loc - k, scale ** 2
return {"loc": d ** 4 / s2 + 14 * d ** 2 + 15 * s2 + (2 * d) ** 2,
        "scale": 2 * d ** 4 / s2 + 60 * d ** 2 + 74 * s2 + (2 * scale) ** 2}""",
        r"your variance for loc at k=0\.0, loc=1\.0, scale=1\.0 differs from the reference: largest difference 4",
    ),
    WrongAnswer(
        "ex-04-bernoulli-logits",
        "the score with respect to probs, not logits: (x - p) / (p (1 - p))",
        """\
probs = torch.sigmoid(logits)
x = (torch.rand(num_samples, generator=generator, dtype=torch.float64) < probs).to(torch.float64)
return f(x) * (x - probs) / (probs * (1 - probs))""",
        r"your gradient at logit -1\.0 is biased: mean ",
    ),
    WrongAnswer(
        "ex-05-exponential",
        "the rate used as a scale: x = -log(u) * rate",
        """\
u = torch.rand(num_samples, generator=generator, dtype=torch.float64)
rate_n = torch.full((num_samples,), float(rate), dtype=torch.float64, requires_grad=True)
x = -torch.log(u) * rate_n
(grad,) = torch.autograd.grad(f(x).sum(), rate_n)
return grad""",
        r"your gradient at rate 0\.5 is biased: mean 2\.0\d*, expected -32 \+- ",
    ),
    WrongAnswer(
        "ex-06-uncoupled-mean",
        "the coupled estimator: one Weibull draw for both terms",
        """\
u = torch.rand(num_samples, generator=generator, dtype=torch.float64)
w = torch.sqrt(-2.0 * torch.log1p(-u))
c = 1.0 / (scale * math.sqrt(2.0 * math.pi))
return c * (f(loc + scale * w) - f(loc - scale * w))""",
        r"your single-sample variance \(are the two Weibull draws independent\?\) is biased: mean ",
    ),
    WrongAnswer(
        "ex-06-coupled-scale",
        "an independent Normal sample for x_ddot instead of U M: no coupling",
        """\
m = torch.randn(num_samples, 3, generator=generator, dtype=torch.float64).norm(dim=1)
sign = torch.where(torch.rand(num_samples, generator=generator, dtype=torch.float64) < 0.5, -1.0, 1.0)
normal = torch.randn(num_samples, generator=generator, dtype=torch.float64)
return (f(loc + scale * sign * m) - f(loc + scale * normal)) / scale""",
        r"your single-sample variance \(is the Normal sample U M built from the same M\?\) is biased: mean 9",
    ),
    WrongAnswer(
        "ex-07-variance-se",
        "the Gaussian formula s^2 sqrt(2 / N) used for the standard error of any variance",
        """\
return g.var(), g.var() * math.sqrt(2.0 / len(g))""",
        r"your standard error for exponential \(rate 1\) draws .* differs from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-07-cos-pathwise",
        "the squared mean (sin(k mu) exp(-k^2 sigma^2 / 2))^2 not subtracted",
        """\
return k**2 * 0.5 * (1.0 - math.cos(2.0 * k * mu) * math.exp(-2.0 * k**2 * sigma**2))""",
        r"your pathwise variance at k = 0\.5, mu = 1\.0, sigma = 1\.0 differs from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-08-design-cv",
        "h(x) = x, which is uncorrelated with the even cos x: no variance reduction",
        """\
x = torch.randn(num_samples, generator=generator, dtype=torch.float64)
return cv.control_variate(torch.cos(x), x, 0.0, beta="leave_one_out")""",
        r"your controlled values keep 1\.0\d* of the variance of cos x.*is your h correlated with cos x",
    ),
    WrongAnswer(
        "ex-08-rloo-terms",
        "the batch mean, sample n included, as the baseline: biased by the factor (K - 1) / K",
        """\
return (f_values - f_values.mean(0, keepdim=True)) * scores""",
        r"your RLOO gradient with K = 4 \(exact -4; the batch-mean baseline gives -3\) is biased: mean -2\.9",
    ),
    WrongAnswer(
        "ex-08-design-cv",
        "beta fitted on the same samples it controls: biased, visible with N = 5",
        """\
x = torch.randn(num_samples, generator=generator, dtype=torch.float64)
return cv.control_variate(torch.cos(x), x**2, 1.0, beta="estimate")""",
        r"your mean of 1000 estimates from 5 samples each \(beta fitted on the same samples is biased by "
        r"about -0\.04 here\) is biased: mean 0\.5",
    ),
    WrongAnswer(
        "ex-07-gauss-hermite",
        "the weights of hermegauss used as they are (they sum to sqrt(2 pi), not 1)",
        """\
z, w = hermite_e.hermegauss(num_nodes)
gx = g(mu + sigma * torch.as_tensor(z, dtype=torch.float64))
w = torch.as_tensor(w, dtype=torch.float64)
return float((w * gx**2).sum() - (w * gx).sum() ** 2)""",
        r"your pathwise variance for sigma at k = -3 differs from the reference: ",
    ),
    WrongAnswer(
        "ex-09-pathwise-variance",
        "the chain-rule factor w forgotten in the pathwise estimate",
        # (not a sign error sigmoid(t) for sigmoid(-t): the check's t = w z + b is symmetric about 0,
        # so both have the same distribution and the check cannot see it)
        """\
eps = torch.randn(num_samples, generator=generator, dtype=torch.float64)
z = mu + sigma * eps
f = torch.nn.functional.logsigmoid(w * z + b)
return f * (z - mu) / sigma**2, torch.sigmoid(-(w * z + b))""",
        r"your pathwise gradient is biased: mean ",
    ),
    WrongAnswer(
        "ex-09-gaussian-decoder",
        "the normalising constant -d log(scale) - d/2 log(2 pi) forgotten",
        """\
return -0.5 * ((x - mean) ** 2).sum(-1) / scale**2""",
        r"your log-likelihood for shape \(4, 64\), scale 0\.1 differs from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-11-reward-to-go",
        "the slip of Thomas (2014): G_t without the factor gamma^t in front",
        """\
num_episodes, horizon = states.shape
pi = torch.softmax(logits, dim=-1)
grads = torch.zeros(num_episodes, *logits.shape, dtype=logits.dtype)
to_go = torch.zeros(num_episodes, dtype=logits.dtype)
for t in reversed(range(horizon)):
    to_go = rewards[:, t] + discount * to_go
    score = torch.nn.functional.one_hot(actions[:, t], logits.shape[1]) - pi[states[:, t]]
    grads[torch.arange(num_episodes), states[:, t]] += to_go[:, None] * score
return grads""",
        r"your estimator's exact expectation \(over all trajectories; it should be the exact gradient\) differs from the reference",
    ),
    WrongAnswer(
        "ex-11-value-baseline",
        "the discount forgotten in the backward recursion",
        """\
pi = torch.softmax(logits, dim=-1)
v_next = torch.zeros(mdp.num_states, dtype=logits.dtype)
out = []
for _ in range(mdp.horizon):
    v_next = (pi * (mdp.expected_rewards + mdp.transitions @ v_next)).sum(-1)
    out.append(v_next)
return torch.stack(out[::-1])""",
        r"your value table V_t\(s\) differs from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-11-surrogate",
        "the weights G_t without the factor gamma^t (the slip, in the surrogate)",
        """\
x = torch.nn.functional.one_hot(states, num_states).to(rewards.dtype)
log_pi = torch.log_softmax(network(x), dim=-1)
log_pi = log_pi.gather(-1, actions[..., None])[..., 0]
to_go, running = torch.zeros_like(rewards), torch.zeros_like(rewards[:, 0])
for t in reversed(range(rewards.shape[1])):
    running = rewards[:, t] + discount * running
    to_go[:, t] = running
return -(to_go.detach() * log_pi).sum(1).mean()""",
        r"your gradient for 0\.weight \(the package's surrogate, same episodes\) differs",
    ),
    WrongAnswer(
        "ex-11-gae",
        "lambda forgotten in the recursion: the advantages of lambda = 1 for every lambda",
        """\
deltas = rewards + discount * values[:, 1:] - values[:, :-1]
out, running = torch.zeros_like(rewards), torch.zeros_like(rewards[:, 0])
for t in reversed(range(rewards.shape[1])):
    running = deltas[:, t] + discount * running
    out[:, t] = running
return out""",
        r"your advantages at lam = 0\.0 \(against the direct sums\) differs from the reference",
    ),
    WrongAnswer(
        "ex-10-gumbel-max",
        "exponential noise -log(u) instead of Gumbel noise -log(-log(u))",
        """\
u = torch.rand((num_samples, *logits.shape), generator=generator, dtype=logits.dtype)
return (logits - torch.log(u)).argmax(-1)""",
        r"your frequency of category \d for logits \[.*\] is biased: mean ",
    ),
    WrongAnswer(
        "ex-10-concrete",
        "the hard sample without the straight-through trick: no gradient reaches the logits",
        """\
z = torch.sigmoid((logits + torch.log(u) - torch.log1p(-u)) / temperature)
return z, (z > 0.5).to(z.dtype)""",
        r"your gradient of the hard sample \(it should be that of z\) differs from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-10-exact-elbo",
        "the KL term forgotten: the expected reconstruction only",
        """\
bits = model.latent_dim
codes = ((torch.arange(2**bits)[:, None] >> torch.arange(bits)) & 1).to(x.dtype)
logits = model.encode(x)
log_q = D.Independent(D.Bernoulli(logits=logits), 1).log_prob(codes[:, None, :])
log_px = D.Independent(D.Bernoulli(logits=model.decode(codes)[:, None, :]), 1).log_prob(x)
return (log_q.exp() * log_px).sum(0)""",
        r"your exact ELBO differs from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-10-rloo",
        "the baseline includes the sample itself: the mean of all K costs",
        """\
p = torch.sigmoid(logits)
b = (u < p).to(u.dtype)
fb = f(b)
return ((fb - fb.mean(1, keepdim=True))[..., None] * (b - p)).mean(1)""",
        r"your RLOO estimates \(K = 2\) differs? from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-10-disarm",
        "the factor sigma(|logits|) forgotten",
        """\
p = torch.sigmoid(logits)
b, b_anti = (u < p).to(u.dtype), (1 - u < p).to(u.dtype)
return 0.5 * (f(b) - f(b_anti))[:, None] * (1 - 2 * b_anti) * (b != b_anti).to(u.dtype)""",
        r"your DisARM estimates differs? from the reference: largest difference ",
    ),
    WrongAnswer(
        "ex-10-categorical-concrete",
        "the one-hot sample without the straight-through trick",
        """\
z = torch.softmax((logits - torch.log(-torch.log(u))) / temperature, -1)
return z, torch.nn.functional.one_hot(z.argmax(-1), z.shape[-1]).to(z.dtype)""",
        r"your gradient of the one-hot sample \(it should be that of z\) differs? from the reference",
    ),
    WrongAnswer(
        "ex-09-elbo-estimate",
        "the noise forgotten: the decoder is evaluated at z = loc",
        """\
loc, scale = model.encode(x)
log_px = -torch.nn.functional.binary_cross_entropy_with_logits(model.decode(loc), x, reduction="none").sum(-1)
return log_px - 0.5 * (loc**2 + scale**2 - 1 - torch.log(scale**2)).sum(-1)""",
        r"your ELBO estimate \(z = loc \+ scale \* eps, minus the closed-form KL\) differs from the reference: ",
    ),
    WrongAnswer(
        "ex-09-reinforce-surrogate",
        "the sample z not detached before log q (the score then carries a pathwise term)",
        """\
loc, scale = model.encode(x)
z = loc + scale * eps
cost = -torch.nn.functional.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none").sum(-1)
return cost.detach() * torch.distributions.Normal(loc, scale).log_prob(z).sum(-1)""",
        r"your gradient for encoder\.0\.weight \(is z detached before log q\?\) differs from the reference",
    ),
    WrongAnswer(
        "ex-09-learnable-prior",
        "the log-ratio term log(s / sigma) of the KL forgotten",
        """\
return 0.5 * ((scale / prior_scale) ** 2 + ((loc - prior_loc) / prior_scale) ** 2 - 1).sum(-1)""",
        r"your KL to the prior N\(m, diag s\^2\) differs from the reference: largest difference ",
    ),
]


def fill_stub(stub: str, body: str) -> str:
    """A stub's source with its ``raise NotImplementedError(...)`` statement (one line, or its
    wrapped form up to the closing parenthesis) replaced by ``body`` (indented like it)."""
    lines = stub.split("\n")
    (index,) = [
        i for i, line in enumerate(lines) if line.strip().startswith("raise NotImplementedError(")
    ]
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    end = index
    if lines[index].rstrip().endswith("("):  # wrapped: the message lines, then the closing ")"
        end = next(i for i in range(index + 1, len(lines)) if lines[i] == indent + ")")
    return "\n".join(
        lines[:index]
        + [indent + line if line else line for line in body.split("\n")]
        + lines[end + 1 :]
    )
