"""Bad input across modules: small fixes in the command line and training (owned elsewhere), tested here.

Each case asserts the exception type (or exit status) and that the message names the argument.
"""

from __future__ import annotations

import pytest

from lecture9 import cli, training


def _parse(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="lecture9")
    sub = parser.add_subparsers(dest="command")
    for name, (configure, _run, _help) in cli.COMMANDS.items():
        configure(sub.add_parser(name))
    return parser.parse_args(argv)


def test_assign_refuses_an_empty_out(capsys):
    # Path("") is the current folder: an empty --out must not write the student notebooks there.
    with pytest.raises(SystemExit) as info:
        _parse(["assign", "--out", "", "04"])
    assert info.value.code == 2
    assert "--out: must name a folder" in capsys.readouterr().err


def test_train_vae_names_mnist_root_when_files_are_missing(tmp_path, capsys):
    args = _parse(
        [
            "train-vae",
            "--data",
            "mnist",
            "--mnist-root",
            str(tmp_path / "none"),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
        ]
    )
    assert cli.run_train_vae(args) == 2
    assert "error: --mnist-root: MNIST train split: missing" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_save_metrics_names_a_path_that_is_a_folder(tmp_path):
    with pytest.raises(ValueError, match="path .* is a folder"):
        training.save_metrics(tmp_path, {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_encoder_gradients_names_a_bad_chunk_size():
    import torch

    from lecture9 import vae

    model = vae.VAE(4, 2, (3,), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        vae.encoder_gradients(model, torch.zeros(2, 4), num_draws=3, chunk_size=0)
