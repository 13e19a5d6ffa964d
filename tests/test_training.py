"""Tests of lecture9.training: the training loop, checkpoints, resuming and the train-vae command."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest
import torch

from lecture9 import cli, data, training, vae

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    return data.load_binarized_digits()


def make_model(seed=0, **kw):
    args = dict(input_dim=64, latent_dim=4, hidden_dims=(32,))
    args.update(kw)
    return vae.VAE(**args, generator=torch.Generator().manual_seed(seed))


def test_a_few_epochs_lower_the_test_negative_elbo(digits):
    model = make_model()
    x_test = digits.x_test
    with torch.no_grad():
        before = vae.elbo(model, x_test, num_samples=10, generator=torch.Generator().manual_seed(9))
    history = training.train(
        model,
        digits,
        epochs=3,
        batch_size=100,
        lr=1e-2,
        generator=torch.Generator().manual_seed(1),
        progress=False,
    )
    with torch.no_grad():
        after = vae.elbo(model, x_test, num_samples=10, generator=torch.Generator().manual_seed(9))
    diff = after - before  # paired, per datapoint
    se = diff.std() / math.sqrt(len(diff))
    assert diff.mean() > 5 * se and diff.mean() > 5.0  # several nats better, far beyond the noise
    assert history["epoch"] == [1, 2, 3]
    assert all(math.isfinite(v) for v in history["test_elbo"])
    assert history["test_elbo"][-1] > history["test_elbo"][0]
    assert all(math.isnan(v) for v in history["encoder_grad_variance"])
    assert history["time"] == sorted(history["time"])


def test_score_function_training_with_baseline_and_variance_measurement(digits):
    model = make_model()
    history = training.train(
        model,
        digits.x_train[:300],
        test_data=digits.x_test,
        epochs=2,
        batch_size=100,
        estimator="score_function",
        num_samples=2,
        baseline="leave_one_out",
        generator=torch.Generator().manual_seed(0),
        progress=False,
        measure_variance=True,
        variance_draws=10,
        variance_batch_size=20,
    )
    assert len(history["encoder_grad_variance"]) == 2
    assert all(v > 0 and math.isfinite(v) for v in history["encoder_grad_variance"])
    no_test = training.train(
        make_model(),
        digits.x_train[:100],
        epochs=1,
        progress=False,
        generator=torch.Generator().manual_seed(0),
    )
    assert math.isnan(no_test["test_elbo"][0])


def test_evaluation_does_not_perturb_training(digits):
    """Test-set evaluation uses its own generator: with or without a test set, the same weights."""
    a, b = make_model(), make_model()
    training.train(
        a,
        digits.x_train[:200],
        epochs=2,
        generator=torch.Generator().manual_seed(0),
        progress=False,
    )
    training.train(
        b,
        digits.x_train[:200],
        test_data=digits.x_test,
        epochs=2,
        measure_variance=True,
        variance_draws=5,
        generator=torch.Generator().manual_seed(0),
        progress=False,
    )
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def _strip_time(history):
    """History without the wall-clock times, nan replaced by None (nan != nan)."""
    return {
        k: [None if isinstance(x, float) and math.isnan(x) else x for x in v]
        for k, v in history.items()
        if k != "time"
    }


@pytest.mark.parametrize("estimator", ["pathwise", "score_function"])
def test_resume_reproduces_an_uninterrupted_run_exactly(digits, tmp_path, estimator):
    x_train = digits.x_train[:200]
    kw = dict(
        test_data=digits.x_test[:50], batch_size=50, lr=2e-3, estimator=estimator, progress=False
    )

    full_gen = torch.Generator().manual_seed(7)
    full = make_model(seed=3)
    full_hist = training.train(full, x_train, epochs=4, generator=full_gen, **kw)

    ckpt = tmp_path / "run" / "checkpoint.pt"
    part = make_model(seed=3)
    training.train(
        part, x_train, epochs=2, generator=torch.Generator().manual_seed(7), checkpoint=ckpt, **kw
    )
    assert ckpt.is_file() and not (tmp_path / "run" / "checkpoint.pt.tmp").exists()

    # a fresh process would rebuild everything: new model (other init), new generator (other seed)
    resumed = make_model(seed=99)
    gen = torch.Generator().manual_seed(12345)
    hist = training.train(
        resumed, x_train, epochs=4, generator=gen, checkpoint=ckpt, resume=True, **kw
    )
    for pa, pb in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(pa, pb)
    assert _strip_time(hist) == _strip_time(full_hist)
    assert torch.equal(gen.get_state(), full_gen.get_state())
    state = training.load_checkpoint(ckpt)
    assert state["epoch"] == 4 and state["model_config"] == resumed.config
    assert len(state["history"]["epoch"]) == 4
    # resuming a finished run trains nothing more
    again = training.train(
        resumed, x_train, epochs=4, generator=gen, checkpoint=ckpt, resume=True, **kw
    )
    assert _strip_time(again) == _strip_time(hist)


def test_checkpoint_is_loadable_with_weights_only(digits, tmp_path):
    ckpt = tmp_path / "c.pt"
    model = make_model()
    training.train(
        model,
        digits.x_train[:100],
        epochs=1,
        generator=torch.Generator().manual_seed(0),
        checkpoint=ckpt,
        progress=False,
    )
    state = torch.load(ckpt, weights_only=True)
    assert {
        "model",
        "optimizer",
        "generator",
        "history",
        "epoch",
        "model_config",
        "settings",
    } <= set(state)
    rebuilt = vae.VAE(**state["model_config"])
    rebuilt.load_state_dict(state["model"])
    for pa, pb in zip(model.parameters(), rebuilt.parameters()):
        assert torch.equal(pa, pb)


def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    training.save_checkpoint(path, {"a": torch.ones(2)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]

    def broken_save(obj, f):
        f.write(b"partial")  # save_checkpoint hands torch.save an open file
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        training.save_checkpoint(path, {"a": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(
        training.load_checkpoint(path)["a"], torch.ones(2)
    )  # the old checkpoint survived
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ck.pt"
    ]  # and no temporary file was left behind


def test_save_checkpoint_fsyncs_before_replacing(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = training.os.fsync, training.os.replace
    monkeypatch.setattr(training.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        training.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1]
    )
    training.save_checkpoint(tmp_path / "sub" / "ck.pt", {"a": torch.ones(2)})
    assert calls == ["fsync", "replace"]
    monkeypatch.undo()
    assert torch.equal(training.load_checkpoint(tmp_path / "sub" / "ck.pt")["a"], torch.ones(2))


def test_train_errors(digits, tmp_path):
    model = make_model()
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="estimator must be one of"):
        training.train(model, digits, epochs=1, estimator="reinforce", generator=g)
    with pytest.raises(ValueError, match="baseline must be one of"):
        training.train(
            model, digits, epochs=1, estimator="score_function", baseline="best", generator=g
        )
    with pytest.raises(ValueError, match=r"expects \(batch, 64\)"):
        training.train(model, torch.zeros(10, 63), epochs=1, generator=g)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        training.train(model, digits, epochs=0, generator=g)
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        training.train(model, digits, epochs=1, lr=-1.0, generator=g)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        training.train(model, digits, epochs=1, resume=True, generator=g)
    with pytest.raises(TypeError, match="data must be"):
        training.train(model, {"x": 1}, epochs=1, generator=g)
    with pytest.raises(ValueError, match="only used by estimator='score_function'"):
        training.train(model, digits, epochs=1, estimator="pathwise", baseline=1.0, generator=g)
    with pytest.raises(ValueError, match="needs num_samples >= 2"):
        training.train(
            model,
            digits,
            epochs=1,
            estimator="score_function",
            baseline="leave_one_out",
            generator=g,
        )
    ckpt = tmp_path / "c.pt"
    training.train(
        model, digits.x_train[:100], epochs=1, generator=g, checkpoint=ckpt, progress=False
    )
    with pytest.raises(ValueError, match="holds a model with config"):
        training.train(
            make_model(latent_dim=3),
            digits.x_train[:100],
            epochs=2,
            generator=g,
            checkpoint=ckpt,
            resume=True,
            progress=False,
        )


def test_baseline_is_checked_before_the_model_moves_or_a_checkpoint_loads(
    digits, tmp_path, monkeypatch
):
    model = make_model()
    moved = []
    monkeypatch.setattr(model, "to", lambda *a, **k: moved.append(a))
    monkeypatch.setattr(training, "load_checkpoint", lambda path: pytest.fail("checkpoint loaded"))
    ckpt = tmp_path / "c.pt"
    ckpt.write_bytes(b"not read")
    with pytest.raises(ValueError, match="only used by estimator='score_function'"):
        training.train(
            model,
            digits,
            epochs=1,
            estimator="pathwise",
            baseline="leave_one_out",
            num_samples=2,
            checkpoint=ckpt,
            resume=True,
            generator=torch.Generator().manual_seed(0),
            progress=False,
        )
    assert moved == []


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(lr=2e-3), "lr: checkpoint 0.001, now 0.002"),
        (dict(batch_size=25), "batch_size: checkpoint 50, now 25"),
        (
            dict(estimator="score_function"),
            "estimator: checkpoint 'pathwise', now 'score_function'",
        ),
        (dict(num_samples=2), "num_samples: checkpoint 1, now 2"),
        (
            dict(estimator="score_function", num_samples=2, baseline="leave_one_out"),
            "baseline: checkpoint None, now 'leave_one_out'",
        ),
        (dict(eval_num_samples=3), "eval_num_samples: checkpoint 1, now 3"),
        (
            dict(measure_variance=True, variance_draws=5),
            "measure_variance: checkpoint False, now True",
        ),
        (dict(test_data=None), "num_test: checkpoint 50, now None"),
    ],
)
def test_resume_with_changed_settings_is_refused(digits, tmp_path, change, message):
    x_train = digits.x_train[:100]
    kw = dict(test_data=digits.x_test[:50], batch_size=50, lr=1e-3, progress=False)
    ckpt = tmp_path / "c.pt"
    model = make_model()
    training.train(
        model, x_train, epochs=1, generator=torch.Generator().manual_seed(0), checkpoint=ckpt, **kw
    )
    before = ckpt.read_bytes()
    params = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="written with different settings") as err:
        training.train(
            model,
            x_train,
            epochs=2,
            generator=torch.Generator().manual_seed(0),
            checkpoint=ckpt,
            resume=True,
            **{**kw, **change},
        )
    assert message in str(err.value)
    assert ckpt.read_bytes() == before  # nothing trained, nothing overwritten
    for p, q in zip(params, model.parameters()):
        assert torch.equal(p, q)
    # all differences are listed, and the unchanged settings resume fine
    with pytest.raises(
        ValueError, match=r"batch_size: checkpoint 50, now 25; lr: checkpoint 0.001, now 0.01"
    ):
        training.train(
            model,
            x_train,
            epochs=2,
            generator=torch.Generator().manual_seed(0),
            checkpoint=ckpt,
            resume=True,
            **{**kw, "batch_size": 25, "lr": 1e-2},
        )
    hist = training.train(model, x_train, epochs=2, checkpoint=ckpt, resume=True, **kw)
    assert hist["epoch"] == [1, 2]
    assert training.load_checkpoint(ckpt)["settings"]["lr"] == 1e-3


def test_resolve_device():
    assert training.resolve_device("cpu") == torch.device("cpu")
    assert training.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            training.resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        training.resolve_device("tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda_matches_cpu_statistically(digits):
    """Same seed on both devices (the noise comes from the same CPU generator): the trained models score
    the test set alike. Per-image test -ELBO of each model averaged over 20 draws of z; the mean paired
    difference must lie within 5 standard errors of zero, and so must each epoch's training ELBO."""
    runs = {}
    for device in ("cpu", "cuda"):
        model = make_model()
        hist = training.train(
            model,
            digits,
            epochs=3,
            device=device,
            generator=torch.Generator().manual_seed(0),
            progress=False,
        )
        assert next(model.parameters()).device.type == device
        x = digits.x_test.to(device).expand(20, *digits.x_test.shape)
        values = vae.evaluate_bound(
            model, x, generator=torch.Generator(device=device).manual_seed(5)
        )
        runs[device] = (hist, values.double().mean(0).cpu())
    diff = runs["cuda"][1] - runs["cpu"][1]
    se = diff.std() / math.sqrt(len(diff))
    assert abs(float(diff.mean())) < 5 * float(se) + 1e-3, (float(diff.mean()), float(se))
    spread = runs["cpu"][1].std() / math.sqrt(len(diff))  # SE of one model's mean test ELBO
    for a, b in zip(runs["cpu"][0]["train_elbo"], runs["cuda"][0]["train_elbo"]):
        assert abs(a - b) < 5 * float(spread)


# ----------------------------------------------------------------------------- command line


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "runs" / "digits-z2"
    argv = [
        "train-vae",
        "--data",
        "digits",
        "--latent-dim",
        "2",
        "--hidden-dims",
        "32",
        "--epochs",
        "2",
        "--batch-size",
        "300",
        "--out",
        str(out),
        "--no-progress",
        "--iwae-samples",
        "20",
        "--threads",
        "1",
    ]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "epoch    2" in printed and "IWAE NLL (K=20)" in printed and "metrics.json" in printed
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=_reject_constant)
    assert metrics["final"]["epochs"] == 2 and metrics["model_config"]["latent_dim"] == 2
    assert metrics["history"]["encoder_grad_variance"] == [
        None,
        None,
    ]  # not measured: null, not NaN
    assert metrics["settings"]["threads"] == 1
    assert metrics["final"]["test_neg_elbo"] == pytest.approx(-metrics["history"]["test_elbo"][-1])
    assert metrics["final"]["test_iwae_nll"] < metrics["final"]["test_neg_elbo"] + 1.0
    assert not list(out.glob("*.tmp"))
    # refusing to overwrite, then resuming to 3 epochs
    assert cli.main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    argv3 = [a if a != "2" else "3" for a in argv]
    argv3[argv3.index("--latent-dim") + 1] = "2"
    assert cli.main([*argv3, "--resume"]) == 0
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=_reject_constant)
    assert metrics["history"]["epoch"] == [1, 2, 3]
    # resuming with a changed setting is refused with the differences listed
    argv4 = [*argv3, "--resume", "--lr", "0.01", "--batch-size", "200"]
    argv4[argv4.index("--epochs") + 1] = "4"
    assert cli.main(argv4) == 2
    err = capsys.readouterr().err
    assert "different settings" in err and "lr: checkpoint 0.001, now 0.01" in err
    assert "batch_size: checkpoint 300, now 200" in err
    assert training.load_checkpoint(out / "checkpoint.pt")["epoch"] == 3


def _reject_constant(name):
    raise ValueError(f"metrics.json is not standard JSON: it contains {name}")


def test_metrics_json_is_standard_json(tmp_path):
    path = tmp_path / "m.json"
    training.save_metrics(
        path, {"a": math.nan, "b": [1.0, math.inf, -math.inf], "c": {"d": (math.nan, 2)}}
    )
    assert json.loads(path.read_text(), parse_constant=_reject_constant) == {
        "a": None,
        "b": [1.0, None, None],
        "c": {"d": [None, 2]},
    }
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="not standard JSON"):
        json.loads(
            '{"a": NaN}', parse_constant=_reject_constant
        )  # the strict parser does reject NaN


def test_cli_threads_default_to_one_on_cpu(tmp_path, monkeypatch):
    torch.set_num_threads(2)
    calls = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n))[1])
    assert (
        cli.main(
            [
                "train-vae",
                "--epochs",
                "1",
                "--hidden-dims",
                "8",
                "--latent-dim",
                "2",
                "--no-progress",
                "--iwae-samples",
                "0",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    assert calls == [1] and torch.get_num_threads() == 1
    args = argparse.ArgumentParser()
    cli.configure_train_vae(args)
    assert (
        args.parse_args(["--out", "x"]).threads is None
    )  # None: 1 on the CPU, torch's choice on CUDA


def test_cli_mnist_from_tiny_idx_files(tmp_path, capsys):
    raw = tmp_path / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("test", 10)):
        img, lab = data.MNIST_FILES[split]
        data.write_idx(raw / f"{img}.gz", rng.integers(0, 256, size=(n, 28, 28)))
        data.write_idx(raw / f"{lab}.gz", rng.integers(0, 10, size=n))
    out = tmp_path / "run"
    rc = cli.main(
        [
            "train-vae",
            "--data",
            "mnist",
            "--mnist-root",
            str(tmp_path / "mnist"),
            "--epochs",
            "1",
            "--batch-size",
            "20",
            "--hidden-dims",
            "16",
            "--latent-dim",
            "2",
            "--out",
            str(out),
            "--no-progress",
            "--iwae-samples",
            "0",
            "--estimator",
            "score_function",
        ]
    )
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model_config"]["input_dim"] == 784 and "test_iwae_nll" not in metrics["final"]


def test_cli_bad_threads(tmp_path, capsys):
    assert (
        cli.main(["train-vae", "--epochs", "1", "--threads", "0", "--out", str(tmp_path / "r")])
        == 2
    )
    assert "--threads must be >= 1" in capsys.readouterr().err


def test_cli_mnist_missing_files(tmp_path, capsys):
    rc = cli.main(
        [
            "train-vae",
            "--data",
            "mnist",
            "--mnist-root",
            str(tmp_path),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "MNIST/raw" in err


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"data": torch.zeros(0, 64)}, "data must be a non-empty"),
        ({"test_data": torch.zeros(0, 64)}, "test_data must be a non-empty"),
        ({"data": torch.full((10, 64), math.nan)}, r"data must hold pixel values in \[0, 1\]"),
    ],
    ids=["empty-data", "empty-test-data", "nan-data"],
)
def test_train_bad_data(digits, kwargs, match):
    args = {"data": digits.x_train[:50], "test_data": digits.x_test[:20]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        training.train(make_model(), args.pop("data"), epochs=1, progress=False, **args)


def test_train_bad_checkpoints(digits, tmp_path):
    ckpt = tmp_path / "c.pt"
    training.save_checkpoint(ckpt, {"weights": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"checkpoint .* lacks \['epoch'"):
        training.train(
            make_model(),
            digits.x_train[:50],
            epochs=1,
            checkpoint=ckpt,
            resume=True,
            progress=False,
        )
    ckpt.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="checkpoint .* cannot be read"):
        training.train(
            make_model(),
            digits.x_train[:50],
            epochs=1,
            checkpoint=ckpt,
            resume=True,
            progress=False,
        )
    with pytest.raises(ValueError, match="checkpoint .* is a folder"):
        training.train(
            make_model(), digits.x_train[:50], epochs=1, checkpoint=tmp_path, progress=False
        )


def test_train_resume_with_fewer_epochs_is_an_error(digits, tmp_path):
    ckpt = tmp_path / "c.pt"
    kw = dict(
        generator=torch.Generator().manual_seed(0), checkpoint=ckpt, progress=False, batch_size=500
    )
    training.train(make_model(), digits.x_train[:500], epochs=2, **kw)
    with pytest.raises(ValueError, match="epochs=1 is less than the 2 epochs"):
        training.train(make_model(), digits.x_train[:500], epochs=1, resume=True, **kw)


def test_resolve_device_rejects_devices_that_cannot_train():
    with pytest.raises(ValueError, match="device 'meta' cannot train"):
        training.resolve_device("meta")


def test_checkpoint_seconds_saves_less_often_and_the_last_epoch(digits, tmp_path, monkeypatch):
    saved = []
    real = training.save_checkpoint
    monkeypatch.setattr(
        training,
        "save_checkpoint",
        lambda path, state: (saved.append(state["epoch"]), real(path, state))[1],
    )
    kw = dict(generator=torch.Generator().manual_seed(0), progress=False, batch_size=500)
    training.train(
        make_model(),
        digits.x_train[:500],
        epochs=3,
        checkpoint=tmp_path / "a.pt",
        checkpoint_seconds=3600,
        **kw,
    )
    assert saved == [3]
    saved.clear()
    training.train(make_model(), digits.x_train[:500], epochs=3, checkpoint=tmp_path / "b.pt", **kw)
    assert saved == [1, 2, 3]
    with pytest.raises(ValueError, match="checkpoint_seconds must be a finite number >= 0"):
        training.train(make_model(), digits.x_train[:500], epochs=3, checkpoint_seconds=-1, **kw)


def test_eval_every_measures_less_often_and_trains_the_same(digits, tmp_path):
    kw = dict(
        test_data=digits.x_test[:50],
        epochs=5,
        batch_size=100,
        measure_variance=True,
        variance_draws=3,
        variance_batch_size=10,
        progress=False,
    )
    every = make_model()
    h1 = training.train(
        every, digits.x_train[:200], generator=torch.Generator().manual_seed(0), **kw
    )
    sparse = make_model()
    h3 = training.train(
        sparse,
        digits.x_train[:200],
        generator=torch.Generator().manual_seed(0),
        eval_every=3,
        checkpoint=tmp_path / "c.pt",
        **kw,
    )
    assert h3["train_elbo"] == h1["train_elbo"]  # the same training, measured less often
    for p, q in zip(every.parameters(), sparse.parameters()):
        assert torch.equal(p, q)
    for key in ("test_elbo", "encoder_grad_variance"):
        assert [math.isnan(v) for v in h3[key]] == [True, True, False, True, False]
        assert h3[key][2] == h1[key][2] and h3[key][4] == h1[key][4]
    with pytest.raises(ValueError, match="eval_every: checkpoint 3, now 1"):
        training.train(
            sparse, digits.x_train[:200], checkpoint=tmp_path / "c.pt", resume=True, **kw
        )
    with pytest.raises(ValueError, match=r"eval_every must be .*got 0"):
        training.train(make_model(), digits.x_train[:200], eval_every=0, **kw)
