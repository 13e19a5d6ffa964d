"""The ``lecture9`` command line: ``python -m lecture9 <command> ...``.

Commands:

``assign``
    Write student notebooks without solutions (the library is :mod:`lecture9.assign`, for instructors).
``train-vae``
    Train a VAE on binarized digits or MNIST (the library is :mod:`lecture9.training`, chapter 9),
    with Gaussian or (``--latent bernoulli``, chapter 10) binary latent codes.

Every parser and ``run`` function of the package lives here; the library modules import no
``argparse``. Each command is a pair ``configure(parser)`` (adds its arguments) and
``run(args) -> int`` (does the work, returns the exit code: 0 done, 1 a runtime failure
such as an unreadable file, 2 a usage error). Errors are one line on stderr. The heavy
libraries of a command are imported only when it runs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

# ============================================================================= assign


def _folder_arg(value: str) -> Path:
    if not value.strip():  # Path("") is the current folder
        raise argparse.ArgumentTypeError("must name a folder, got an empty string")
    return Path(value)


def configure_assign(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``python -m lecture9 assign``."""
    from lecture9.assign import README_NAME

    parser.add_argument(
        "chapters",
        nargs="*",
        metavar="CHAPTER",
        help="chapter numbers (04), file names (04_score_function.ipynb) or notebook paths; "
        "default: every notebook in the book folder",
    )
    parser.add_argument(
        "--out",
        required=True,
        type=_folder_arg,
        metavar="DIR",
        help="output folder for the student notebooks (outside the book folder)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"write into a non-empty output folder (replaces notebooks of the same name "
        f"and {README_NAME})",
    )
    parser.add_argument(
        "--book",
        type=Path,
        default=None,
        metavar="DIR",
        help="the book folder the chapters are taken from (default: book/ of this repository)",
    )
    parser.add_argument(
        "--nbgrader",
        action="store_true",
        help="write nbgrader source notebooks (solutions kept, nbgrader cell metadata) instead",
    )
    parser.add_argument(
        "--points",
        type=float,
        default=1.0,
        help="nbgrader points per coding exercise (shared by its autograde cells) and per written "
        "answer (default: %(default)s)",
    )


def run_assign(args: argparse.Namespace) -> int:
    """Run ``assign``; print what was written, or the error. Returns the exit code."""
    from lecture9 import assign as lib

    try:
        if not math.isfinite(args.points):
            raise lib.AssignError(f"--points must be a finite number, got {args.points}")
        if args.points <= 0:
            raise lib.AssignError(f"--points must be > 0, got {args.points}")
        notebooks = lib.find_chapters(args.chapters, args.book)
        written = lib.assign(
            notebooks,
            args.out,
            book=args.book,
            force=args.force,
            nbgrader=args.nbgrader,
            points=args.points,
        )
    except lib.AssignError as err:
        print(f"lecture9 assign: error: {err}", file=sys.stderr)
        return 1
    kind = "nbgrader source notebook" if args.nbgrader else "student notebook"
    for path in written:
        print(f"wrote {kind} {path}")
    print(
        f"wrote {Path(args.out) / lib.README_NAME} (what was generated; how to publish the book without solutions)"
    )
    if args.nbgrader:
        print(
            "these contain the solutions: copy them into your nbgrader course's source/<assignment>/ folder "
            "and run 'nbgrader generate_assignment <assignment>'"
        )
    root = lib.book_root(Path(args.book or lib.default_book()).resolve())
    where = f"in {root}" if root else "where the book's _config.yml is"
    print(
        f"to publish the book without solutions, run {where}: {lib.HIDE_SOLUTIONS_BUILD} "
        f"(site in {lib.HIDE_SOLUTIONS_HTML}/)"
    )
    return 0


# ============================================================================= train-vae

#: Latent families of ``train-vae --latent``: name -> (module, model class), imported when the command
#: runs. The model class says which estimators train it (its ``ESTIMATORS``, names of
#: :data:`~lecture9.estimators.registry.REGISTRY`, the first the default) and which options it takes
#: (``temperature``, ``categories``, ``anneal_to``); a new family registers its model here.
LATENT_FAMILIES = {
    "gaussian": ("lecture9.vae", "VAE"),
    "bernoulli": ("lecture9.bernoulli_vae", "BernoulliVAE"),
    "categorical": ("lecture9.categorical_vae", "CategoricalVAE"),
}
#: Command-line options passed to the model's constructor when given: flag -> keyword.
_MODEL_OPTIONS = {
    "--temperature": "temperature",
    "--categories": "categories",
    "--anneal-to": "anneal_to",
}
_VAE_BASELINES = ("leave_one_out",)
_MAX_SEED = 2**63 - 2  # the seed and seed + 1 (the IWAE evaluation) must fit torch's manual_seed


class _UsageError(Exception):
    """A bad command line: exit status 2."""


def configure_train_vae(parser: argparse.ArgumentParser) -> None:
    """Add the ``train-vae`` arguments to ``parser``."""
    _add_model_arguments(parser.add_argument)
    _add_estimator_arguments(parser.add_argument)
    _add_run_arguments(parser.add_argument)


def _add_model_arguments(add) -> None:
    add(
        "--data",
        choices=("digits", "mnist"),
        default="digits",
        help="binarized 8x8 digits (bundled, default) or MNIST from local IDX files",
    )
    add(
        "--mnist-root",
        default="data/mnist",
        help="folder with the MNIST IDX files (or its MNIST/raw subfolder); never downloaded",
    )
    add(
        "--latent",
        choices=tuple(LATENT_FAMILIES),
        default="gaussian",
        help="latent family of the VAE (default gaussian)",
    )
    add(
        "--latent-dim",
        type=int,
        default=8,
        help="dimension of z, or number of categorical variables (default 8)",
    )
    add(
        "--categories",
        type=int,
        default=None,
        help="categories per variable, for --latent categorical",
    )
    add(
        "--hidden-dims",
        type=int,
        nargs="+",
        default=[256],
        help="hidden layer widths (default 256)",
    )
    add("--activation", default="tanh", help="hidden nonlinearity (default tanh)")


def _add_estimator_arguments(add) -> None:
    add(
        "--estimator",
        default=None,
        help="encoder-gradient estimator (a name of lecture9.estimators.REGISTRY): pathwise or score_function "
        "for --latent gaussian (default pathwise); score_function, gumbel_softmax, straight_through or disarm "
        "for --latent bernoulli (default score_function); score_function, gumbel_softmax or straight_through "
        "for --latent categorical",
    )
    add(
        "--temperature",
        type=float,
        default=None,
        help="temperature of the Concrete relaxation, > 0, for --estimator gumbel_softmax or straight_through "
        "(default 0.5)",
    )
    add(
        "--anneal-to",
        type=float,
        default=None,
        metavar="T_END",
        help="anneal the temperature exponentially to T_END over the epochs (--latent categorical)",
    )
    add(
        "--baseline",
        choices=_VAE_BASELINES,
        default=None,
        help="baseline for the score-function estimator (needs --num-samples >= 2)",
    )
    add("--num-samples", type=int, default=1, help="samples of z per datapoint per step")


def _add_run_arguments(add) -> None:
    add("--epochs", type=int, default=200, help="total epochs (default 200)")
    add("--batch-size", type=int, default=100)
    add("--lr", type=float, default=1e-3, help="Adam learning rate")
    add("--seed", type=int, default=0, help="seed of the generator (init, shuffling, noise)")
    add("--device", default="cpu", help="cpu, cuda or auto (CUDA when available)")
    add(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch (default: 1 on the CPU, torch's choice on CUDA). The digits model is tiny, "
        "so per-operation overhead dominates: on the course's 2-core machine 2 threads trained it about "
        "6-36x slower than 1",
    )
    add(
        "--iwae-samples",
        type=int,
        default=1000,
        help="importance samples for the final test log-likelihood (0 skips it)",
    )
    add(
        "--measure-variance",
        action="store_true",
        help="record the encoder-gradient variance whenever the test ELBO is measured",
    )
    add(
        "--eval-every",
        type=int,
        default=1,
        help="measure the test ELBO every N epochs and after the last; the history holds null in "
        "between, and training is the same for every N (default 1: every epoch)",
    )
    add("--out", required=True, help="run folder: checkpoint.pt and metrics.json go here")
    add("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    add(
        "--checkpoint-seconds",
        type=float,
        default=30.0,
        help="least seconds between checkpoints; the last epoch is always saved, and a killed run resumes from "
        "the previous checkpoint to the identical history (default 30; 0: every epoch)",
    )
    add("--no-progress", action="store_true", help="no progress bar")


def _check_train_vae_args(args: argparse.Namespace) -> None:
    """Every check that needs neither the data nor the model; raises _UsageError."""
    positive = {
        "--epochs": args.epochs,
        "--batch-size": args.batch_size,
        "--num-samples": args.num_samples,
        "--latent-dim": args.latent_dim,
        "--eval-every": args.eval_every,
    }
    for flag, value in positive.items():
        if value < 1:
            raise _UsageError(f"{flag} must be >= 1, got {value}")
    if any(h < 1 for h in args.hidden_dims):
        raise _UsageError(f"--hidden-dims must be >= 1 each, got {args.hidden_dims}")
    finite = {"--lr": args.lr, "--temperature": args.temperature, "--anneal-to": args.anneal_to}
    for flag, value in finite.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise _UsageError(f"{flag} must be a finite number > 0, got {value}")
    if args.iwae_samples < 0:
        raise _UsageError(
            f"--iwae-samples must be >= 0 (0 skips the IWAE evaluation), got {args.iwae_samples}"
        )
    if not 0 <= args.seed <= _MAX_SEED:
        raise _UsageError(f"--seed must be in [0, 2**63 - 2], got {args.seed}")
    if not (math.isfinite(args.checkpoint_seconds) and args.checkpoint_seconds >= 0):
        raise _UsageError(
            f"--checkpoint-seconds must be a finite number >= 0, got {args.checkpoint_seconds}"
        )
    if args.threads is not None and args.threads < 1:
        raise _UsageError(f"--threads must be >= 1, got {args.threads}")
    if args.categories is not None and args.categories < 2:
        raise _UsageError(f"--categories must be >= 2, got {args.categories}")
    if args.baseline == "leave_one_out" and args.num_samples < 2:
        raise _UsageError(
            "--baseline leave_one_out needs --num-samples >= 2 (the other samples form the baseline)"
        )
    if not args.out.strip():
        raise _UsageError("--out must name a run folder, got an empty string")


def _model_class(args: argparse.Namespace):
    """The model class of ``--latent``, with the estimator and its options checked against it."""
    import importlib
    import inspect

    from lecture9 import estimators

    module, name = LATENT_FAMILIES[args.latent]
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError as err:
        raise _UsageError(
            f"--latent {args.latent} needs {module}.{name}, which cannot be imported: {err}"
        ) from err
    family = cls.ESTIMATORS
    args.estimator = family[0] if args.estimator is None else args.estimator
    if args.estimator not in family:
        raise _UsageError(
            f"--estimator {args.estimator} does not train --latent {args.latent}; use one of "
            f"{', '.join(family)}"
        )
    spec = estimators.get(args.estimator)
    if args.temperature is not None and not spec.temperature:
        raise _UsageError(
            f"--temperature is only used by --estimator {' or '.join(estimators.names(temperature=True))}"
            f", not --latent {args.latent} --estimator {args.estimator}"
        )
    if args.baseline is not None and spec.baseline is None:
        takes = [n for n in family if estimators.get(n).baseline is not None]
        raise _UsageError(f"--baseline is only used by --estimator {' or '.join(takes)}")
    accepted = inspect.signature(cls).parameters
    for flag, keyword in _MODEL_OPTIONS.items():
        if getattr(args, keyword) is not None and keyword not in accepted:
            raise _UsageError(f"{flag} is not an option of --latent {args.latent}")
    return cls


def _check_out(out: Path, resume: bool) -> Path:
    """Check the run folder ``out`` and its checkpoint path before anything is loaded; return the checkpoint."""
    from lecture9.training import CHECKPOINT_NAME

    if out.exists() and not out.is_dir():
        raise _UsageError(f"--out {out} exists and is not a folder; choose a folder for the run")
    ckpt = out / CHECKPOINT_NAME
    if ckpt.exists() and not ckpt.is_file():
        raise _UsageError(f"{ckpt} exists and is not a file; remove it or choose another --out")
    if ckpt.exists() and not resume:
        raise _UsageError(
            f"{ckpt} exists; pass --resume to continue that run or choose another --out"
        )
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise _UsageError(f"--out {out} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OSError(f"--out {out} cannot be written: no write permission in {existing}")
    return ckpt


def _check_resume(ckpt: Path, args: argparse.Namespace) -> None:
    """With --resume and an existing checkpoint: it must be readable, of the same seed, and not past --epochs."""
    from lecture9.training import load_checkpoint

    if not (args.resume and ckpt.is_file()):
        return
    state = load_checkpoint(ckpt)  # ValueError (exit 1) if truncated or not a checkpoint
    if not isinstance(state, dict) or "epoch" not in state:
        raise ValueError(
            f"checkpoint {ckpt} was not written by train-vae; start a new run elsewhere"
        )
    saved = state.get("settings", {})
    for key, now in (("seed", args.seed), ("data", args.data), ("latent", args.latent)):
        if key in saved and saved[key] != now:
            raise _UsageError(
                f"cannot resume {ckpt}: it was trained with --{key} {saved[key]}, now --{key} {now}; "
                f"resume with the checkpoint's --{key} or start a new run (another --out)"
            )
    if int(state["epoch"]) > args.epochs:
        raise _UsageError(
            f"--epochs {args.epochs} is less than the {int(state['epoch'])} epochs {ckpt} has "
            f"already trained; --epochs is the total, pass at least {int(state['epoch'])}"
        )


def _load_data(args: argparse.Namespace):
    if args.data == "digits":
        from lecture9.data import load_binarized_digits

        d = load_binarized_digits()
        return d.x_train, d.x_test
    from lecture9.data import load_mnist

    x_train, _ = load_mnist(args.mnist_root, "train")
    x_test, _ = load_mnist(args.mnist_root, "test")
    return x_train, x_test


def _build_model(args: argparse.Namespace, cls, input_dim: int, generator):
    options = {k: getattr(args, k) for k in _MODEL_OPTIONS.values() if getattr(args, k) is not None}
    return cls(
        input_dim=input_dim,
        latent_dim=args.latent_dim,
        hidden_dims=args.hidden_dims,
        activation=args.activation,
        generator=generator,
        **options,
    )


def _prepare_train_vae(args: argparse.Namespace):
    """Checks, device and model class before any data is read: ``(out, checkpoint, device, cls)``."""
    _check_train_vae_args(args)
    cls = _model_class(args)
    out = Path(args.out)
    ckpt = _check_out(out, args.resume)
    from lecture9 import training

    device = training.resolve_device(args.device)
    _check_resume(ckpt, args)
    return out, ckpt, device, cls


def _set_threads(args: argparse.Namespace, device) -> None:
    import torch

    threads = args.threads
    if threads is None and device.type == "cpu":
        # The digits VAE is so small that per-operation overhead dominates: on the course's 2-core machine
        # PyTorch's default of 2 threads made training about 6-36x slower than 1 thread.
        threads = 1
    if threads is not None:
        torch.set_num_threads(
            threads
        )  # this process is the command: its thread count is ours to set


def _train(args: argparse.Namespace, model, x_train, x_test, ckpt, device, generator) -> dict:
    from tqdm import tqdm

    from lecture9 import training

    log_every = max(1, args.epochs // 10)

    def log(epoch, history):
        if epoch % log_every == 0 or epoch == args.epochs:
            test = history["test_elbo"][-1]
            tqdm.write(
                f"epoch {epoch:4d}  train ELBO {history['train_elbo'][-1]:9.3f}  test ELBO "
                + ("        -" if math.isnan(test) else f"{test:9.3f}")
                + f"  time {history['time'][-1]:7.1f} s"
            )

    return training.train(
        model,
        x_train,
        test_data=x_test,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        estimator=args.estimator,
        num_samples=args.num_samples,
        baseline=args.baseline,
        generator=generator,
        device=device,
        measure_variance=args.measure_variance,
        eval_every=args.eval_every,
        checkpoint=ckpt,
        resume=args.resume,
        progress=not args.no_progress,
        callback=log,
        extra_settings={"seed": args.seed, "data": args.data, "latent": args.latent},
        checkpoint_seconds=args.checkpoint_seconds,
    )


def _metrics(args: argparse.Namespace, model, history: dict, x_test, device) -> dict:
    import torch

    from lecture9.vae import log_likelihood

    final = {
        "epochs": history["epoch"][-1],
        "test_elbo": history["test_elbo"][-1],
        "test_neg_elbo": -history["test_elbo"][-1],
        "train_time_s": history["time"][-1],
        "time_per_epoch_s": history["time"][-1] / max(1, len(history["time"])),
    }
    if model.DISCRETE_CODE:  # the test ELBO (and IWAE bound) of a discrete code use hard codes
        final["test_elbo_codes"] = "hard"
    if args.iwae_samples > 0:
        ll = log_likelihood(
            model,
            x_test.to(device),
            args.iwae_samples,
            generator=torch.Generator().manual_seed(args.seed + 1),
        )
        final["iwae_samples"] = args.iwae_samples
        final["test_iwae_nll"] = -float(ll.double().mean())
    settings = {
        "estimator": args.estimator,
        "baseline": args.baseline,
        "num_samples": args.num_samples,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "eval_every": args.eval_every,
        "device": str(device),
        "threads": torch.get_num_threads(),
        **{k: model.config[k] for k in ("temperature", "anneal_to") if k in model.config},
    }
    return {
        "command": "train-vae",
        "data": args.data,
        "latent": args.latent,
        "model_config": model.config,
        "settings": settings,
        "final": final,
        "history": history,
    }


def run_train_vae(args: argparse.Namespace) -> int:
    """Run ``train-vae``: train, write ``OUT/checkpoint.pt`` and ``OUT/metrics.json``; return the exit code."""
    try:
        out, ckpt, device, cls = _prepare_train_vae(args)
    except _UsageError as err:
        return _error(err, 2)
    except ValueError as err:
        return _error(err, 2 if "device" in str(err) else 1)
    except OSError as err:
        return _error(err, 1)
    try:
        x_train, x_test = _load_data(args)
    except FileNotFoundError as err:
        return _error(f"--mnist-root: {err}", 2)
    except (ValueError, OSError, EOFError) as err:
        return _error(err, 1)
    import torch

    from lecture9 import training

    _set_threads(args, device)
    generator = torch.Generator().manual_seed(args.seed)
    try:
        model = _build_model(args, cls, x_train.shape[1], generator)
    except (TypeError, ValueError) as err:
        return _error(err, 2)
    print(
        f"train-vae: {args.data} ({len(x_train)} train / {len(x_test)} test, {x_train.shape[1]} pixels), "
        f"{args.latent} VAE {x_train.shape[1]}-{'-'.join(map(str, args.hidden_dims))}-{args.latent_dim} "
        f"{args.activation}, {args.estimator} encoder gradient, {args.epochs} epochs, device {device}",
        flush=True,
    )
    try:
        history = _train(args, model, x_train, x_test, ckpt, device, generator)
        metrics = _metrics(args, model, history, x_test, device)
        training.save_metrics(out / training.METRICS_NAME, metrics)
    except ValueError as err:
        return _error(err, 2)
    except (OSError, FloatingPointError) as err:
        return _error(err, 1)
    final = metrics["final"]
    line = f"test -ELBO {final['test_neg_elbo']:.3f} nats"
    if "test_iwae_nll" in final:
        line += f", IWAE NLL (K={args.iwae_samples}) {final['test_iwae_nll']:.3f} nats"
    print(
        f"{line}; {final['train_time_s']:.1f} s training ({final['time_per_epoch_s']:.3f} s/epoch)"
    )
    print(f"wrote {ckpt} and {out / training.METRICS_NAME}")
    return 0


def _error(err: BaseException, status: int) -> int:
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    print(f"lecture9 train-vae: error: {message}", file=sys.stderr)
    return status


# ============================================================================= entry point

#: command name -> (configure, run, one-line help)
COMMANDS = {
    "assign": (
        configure_assign,
        run_assign,
        "write student notebooks without solutions (for instructors)",
    ),
    "train-vae": (
        configure_train_vae,
        run_train_vae,
        "train a VAE and write a checkpoint and a metrics JSON",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; the arguments of ``command`` (if given) are added."""
    parser = argparse.ArgumentParser(
        prog="python -m lecture9",
        description="Command line of the lecture9 course package.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (configure, run, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            configure(sub_parser)
            sub_parser.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)
    args = build_parser(command).parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
