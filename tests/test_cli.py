"""Tests of lecture9.cli: bad train-vae command lines get a one-line error and exit status 2 (usage) or 1
(runtime), found before any data is loaded or training starts, and leave no run folder behind."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
import torch

from lecture9 import cli, data, training

TINY = [
    "--latent-dim",
    "2",
    "--hidden-dims",
    "8",
    "--batch-size",
    "500",
    "--no-progress",
    "--iwae-samples",
    "0",
    "--threads",
    "1",
]


def train_vae(*argv):
    return cli.main(["train-vae", *TINY, *map(str, argv)])


@pytest.fixture
def no_data_loading(monkeypatch):
    """Fail the test if the data would be loaded: the checks must come first."""

    def refuse(args):
        raise AssertionError("the data was loaded before the command line was validated")

    monkeypatch.setattr(cli, "_load_data", refuse)


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "two"
    assert train_vae("--epochs", 2, "--out", out) == 0
    return out


def one_line_error(capsys, *names):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lecture9 train-vae: error:"), err
    for name in names:
        assert name in err, (name, err)
    return err


@pytest.mark.parametrize(
    "argv, names",
    [
        (["--epochs", -1], ["--epochs"]),
        (["--iwae-samples", -5], ["--iwae-samples"]),
        (["--seed", 2**70], ["--seed"]),
        (["--seed", -1], ["--seed"]),
        (["--device", "meta"], ["device", "meta"]),
        (["--lr", "nan"], ["--lr"]),
        (["--num-samples", 0], ["--num-samples"]),
        (["--baseline", "leave_one_out", "--estimator", "score_function"], ["--num-samples"]),
        (["--eval-every", 0], ["--eval-every", "0"]),
    ],
    ids=[
        "epochs",
        "iwae-samples",
        "seed-too-large",
        "seed-negative",
        "device-meta",
        "lr-nan",
        "num-samples",
        "baseline",
        "eval-every",
    ],
)
def test_usage_errors_exit_2_before_loading_and_leave_no_folder(
    tmp_path, capsys, no_data_loading, argv, names
):
    out = tmp_path / "run"
    assert train_vae(*argv, "--out", out) == 2
    one_line_error(capsys, *names)
    assert not out.exists()


def test_empty_out_is_rejected(capsys, no_data_loading):
    assert train_vae("--epochs", 1, "--out", "") == 2
    one_line_error(capsys, "--out")


def test_out_is_a_file(tmp_path, capsys, no_data_loading):
    (tmp_path / "afile").write_text("x")
    assert train_vae("--epochs", 1, "--out", tmp_path / "afile") == 2
    one_line_error(capsys, "--out", "not a folder")
    assert train_vae("--epochs", 1, "--out", tmp_path / "afile" / "sub") == 2
    one_line_error(capsys, "--out", "is a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_out_in_a_read_only_folder(tmp_path, capsys, no_data_loading):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert train_vae("--epochs", 1, "--out", ro / "run") == 1
        one_line_error(capsys, "--out", "permission")
    finally:
        ro.chmod(0o700)


def test_checkpoint_path_is_a_folder(tmp_path, capsys, no_data_loading):
    (tmp_path / "run" / training.CHECKPOINT_NAME).mkdir(parents=True)
    assert train_vae("--epochs", 1, "--resume", "--out", tmp_path / "run") == 2
    one_line_error(capsys, training.CHECKPOINT_NAME, "not a file")


@pytest.mark.parametrize(
    "content", [b"garbage, not a checkpoint", None], ids=["garbage", "truncated"]
)
def test_unreadable_checkpoint_exits_1(tmp_path, capsys, no_data_loading, two_epoch_run, content):
    run = tmp_path / "run"
    run.mkdir()
    good = (two_epoch_run / training.CHECKPOINT_NAME).read_bytes()
    (run / training.CHECKPOINT_NAME).write_bytes(
        content if content is not None else good[: len(good) // 2]
    )
    assert train_vae("--epochs", 3, "--resume", "--out", run) == 1
    one_line_error(capsys, "checkpoint", "cannot be read")


def test_checkpoint_missing_keys_exits_1(tmp_path, capsys, no_data_loading):
    run = tmp_path / "run"
    training.save_checkpoint(run / training.CHECKPOINT_NAME, {"weights": torch.zeros(2)})
    assert train_vae("--epochs", 3, "--resume", "--out", run) == 1
    one_line_error(capsys, "checkpoint", "not written by train-vae")


def test_resume_with_another_seed_is_refused(two_epoch_run, capsys, no_data_loading):
    assert train_vae("--epochs", 3, "--resume", "--seed", 1, "--out", two_epoch_run) == 2
    one_line_error(capsys, "--seed 0", "--seed 1")


def test_resume_with_fewer_epochs_than_trained_is_refused(two_epoch_run, capsys, no_data_loading):
    assert train_vae("--epochs", 1, "--resume", "--out", two_epoch_run) == 2
    one_line_error(capsys, "--epochs 1", "2 epochs")
    assert (
        training.load_checkpoint(two_epoch_run / training.CHECKPOINT_NAME)["settings"]["seed"] == 0
    )


def _mnist_root(tmp_path, images_file_content=None, images=None):
    raw = tmp_path / "mnist"
    raw.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("test", 10)):
        img, lab = data.MNIST_FILES[split]
        data.write_idx(
            raw / f"{img}.gz", rng.integers(0, 256, size=(n, 28, 28)) if images is None else images
        )
        data.write_idx(raw / f"{lab}.gz", rng.integers(0, 10, size=n))
    if images_file_content is not None:
        (raw / f"{data.MNIST_FILES['train'][0]}.gz").write_bytes(images_file_content(raw))
    return raw


@pytest.mark.parametrize(
    "content, names",
    [
        (lambda raw: b"this is a text file, not gzip\n", ["train-images", "gzip"]),
        (
            lambda raw: (raw / f"{data.MNIST_FILES['test'][0]}.gz").read_bytes()[:100],
            ["train-images", "gzip"],
        ),
    ],
    ids=["text-named-gz", "truncated-gz"],
)
def test_bad_mnist_files_exit_1_with_the_file_named(tmp_path, capsys, content, names):
    root = _mnist_root(tmp_path, content)
    assert (
        train_vae("--data", "mnist", "--mnist-root", root, "--epochs", 1, "--out", tmp_path / "run")
        == 1
    )
    one_line_error(capsys, *names)
    assert not (tmp_path / "run").exists()


def test_mnist_of_the_wrong_image_size_exits_1(tmp_path, capsys):
    root = _mnist_root(tmp_path, images=np.zeros((20, 10, 10), dtype=np.uint8))
    # both splits get 20 images of 10x10 here; the labels have 20 / 10 entries, so fix the test split too
    data.write_idx(root / f"{data.MNIST_FILES['test'][1]}.gz", np.zeros(20, dtype=np.uint8))
    assert (
        train_vae("--data", "mnist", "--mnist-root", root, "--epochs", 1, "--out", tmp_path / "run")
        == 1
    )
    one_line_error(capsys, "28x28")


def test_gzip_helper_really_writes_gzip(tmp_path):
    # guard for the fixtures above: write_idx's .gz output is gzip, so the failures come from the bad content only
    root = _mnist_root(tmp_path)
    with gzip.open(root / f"{data.MNIST_FILES['train'][0]}.gz") as f:
        assert f.read(4) == bytes([0, 0, 8, 3])


@pytest.mark.parametrize(
    "argv, names",
    [
        (["--estimator", "disarm"], ["--estimator disarm", "--latent gaussian", "pathwise"]),
        (["--latent", "bernoulli", "--estimator", "pathwise"], ["--latent bernoulli", "disarm"]),
        (
            ["--latent", "bernoulli", "--estimator", "gumbel_softmax", "--temperature", 0],
            ["--temperature", "> 0"],
        ),
        (
            ["--latent", "bernoulli", "--estimator", "straight_through", "--temperature", "nan"],
            ["--temperature"],
        ),
        (
            ["--latent", "bernoulli", "--estimator", "disarm", "--temperature", 0.5],
            ["--temperature", "gumbel_softmax"],
        ),
        (["--temperature", 0.5], ["--temperature", "--latent gaussian"]),
        (
            [
                "--latent",
                "bernoulli",
                "--estimator",
                "disarm",
                "--baseline",
                "leave_one_out",
                "--num-samples",
                2,
            ],
            ["--baseline", "score_function"],
        ),
        (
            ["--latent", "categorical", "--estimator", "disarm"],
            ["--latent categorical", "gumbel_softmax"],
        ),
        (["--categories", 4], ["--categories", "--latent gaussian"]),
        (
            ["--latent", "bernoulli", "--estimator", "gumbel_softmax", "--anneal-to", 0.2],
            ["--anneal-to", "bernoulli"],
        ),
        (["--latent", "categorical", "--categories", 1], ["--categories", ">= 2"]),
    ],
    ids=[
        "disarm-gaussian",
        "pathwise-bernoulli",
        "temperature-zero",
        "temperature-nan",
        "temperature-disarm",
        "temperature-gaussian",
        "baseline-disarm",
        "disarm-categorical",
        "categories-gaussian",
        "anneal-bernoulli",
        "categories-one",
    ],
)
def test_latent_family_usage_errors(tmp_path, capsys, no_data_loading, argv, names):
    out = tmp_path / "run"
    assert train_vae(*argv, "--epochs", 1, "--out", out) == 2
    one_line_error(capsys, *names)
    assert not out.exists()


def test_bernoulli_defaults_and_temperature_in_metrics(tmp_path):
    import json

    out = tmp_path / "run"
    assert (
        train_vae(
            "--latent",
            "bernoulli",
            "--estimator",
            "gumbel_softmax",
            "--temperature",
            0.3,
            "--epochs",
            1,
            "--out",
            out,
        )
        == 0
    )
    metrics = json.loads((out / training.METRICS_NAME).read_text())
    assert (
        metrics["settings"]["temperature"] == 0.3 and metrics["model_config"]["temperature"] == 0.3
    )
    assert metrics["final"]["test_elbo_codes"] == "hard"
    out2 = tmp_path / "run2"  # the Bernoulli family's default estimator is the score function
    assert train_vae("--latent", "bernoulli", "--epochs", 1, "--out", out2) == 0
    assert (
        json.loads((out2 / training.METRICS_NAME).read_text())["settings"]["estimator"]
        == "score_function"
    )


def test_categorical_latents_with_annealing_in_metrics(tmp_path):
    import json

    out = tmp_path / "run"
    assert (
        train_vae(
            "--latent",
            "categorical",
            "--categories",
            3,
            "--estimator",
            "gumbel_softmax",
            "--temperature",
            1.0,
            "--anneal-to",
            0.5,
            "--epochs",
            2,
            "--out",
            out,
        )
        == 0
    )
    metrics = json.loads((out / training.METRICS_NAME).read_text())
    assert metrics["model_config"]["categories"] == 3
    assert metrics["settings"]["temperature"] == 1.0 and metrics["settings"]["anneal_to"] == 0.5
    assert metrics["final"]["test_elbo_codes"] == "hard"


def test_eval_every_measures_the_test_elbo_less_often_and_after_the_last_epoch(tmp_path, capsys):
    import json

    out = tmp_path / "run"
    assert train_vae("--epochs", 5, "--eval-every", 2, "--iwae-samples", 0, "--out", out) == 0
    printed = capsys.readouterr().out
    assert "epoch    1  train ELBO" in printed and "test ELBO         -" in printed
    metrics = json.loads((out / training.METRICS_NAME).read_text())
    measured = [v is not None for v in metrics["history"]["test_elbo"]]
    assert measured == [False, True, False, True, True]
    assert metrics["settings"]["eval_every"] == 2
    assert metrics["final"]["test_neg_elbo"] == -metrics["history"]["test_elbo"][-1]
