"""The variational autoencoder: model, ELBO, importance-weighted bound, log-likelihood.

Introduced in chapter 9, *Training a variational autoencoder*.

The model is the one of the lecture (Kingma and Welling, 2014; Rezende et al., 2014):

- prior :math:`p(z) = \\mathcal{N}(0, I)`;
- encoder (inference network)
  :math:`q_\\phi(z \\mid x) = \\mathcal{N}(\\mu_\\phi(x), \\operatorname{diag}\\sigma_\\phi(x)^2)`,
  an MLP giving ``loc`` and ``scale``;
- decoder (generator network)
  :math:`p_\\theta(x \\mid z)
  = \\prod_d \\operatorname{Bernoulli}(x_d; \\operatorname{sigmoid}(\\ell_\\theta(z)_d))`,
  an MLP giving Bernoulli ``logits``.

The evidence lower bound (ELBO) of one datapoint is

.. math::

    \\mathcal{L}(x) = \\mathbb{E}_{q_\\phi(z \\mid x)}[\\log p_\\theta(x \\mid z)]
    - \\mathrm{KL}(q_\\phi(z \\mid x) \\,\\|\\, p(z)) \\le \\log p_\\theta(x).

:func:`elbo` estimates it by Monte Carlo with either gradient estimator for the
encoder (pathwise / reparameterization, or score function / REINFORCE);
:func:`iwae_bound` and :func:`log_likelihood` give the tighter importance-weighted
bound of Burda et al. (2016). See Mohamed et al. (2020), Sec. 9 (variational inference).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import estimators
from ._validation import (
    check_broadcast,
    check_generator,
    check_num_samples,
    check_positive_int,
    check_size,
    check_tensor,
)
from .baselines import leave_one_out_baseline
from .sampling import normal_noise, uniform_noise

__all__ = [
    "ESTIMATORS",
    "BASELINES",
    "SCALE_RANGE",
    "VAE",
    "check_vae",
    "gaussian_kl",
    "evaluate_bound",
    "elbo",
    "elbo_terms",
    "iwae_bound",
    "log_likelihood",
    "encoder_gradients",
    "encoder_gradient_variance",
]

#: Named baselines accepted by :func:`elbo` (besides numbers, tensors and callables).
BASELINES = ("leave_one_out",)

#: Encoder scales are kept in this range (with any ``min_scale``, raw output or ``scale_param``), so that
#: ``log scale``, the KL and the ELBO stay finite.
SCALE_RANGE = (1e-8, 1e8)

_ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
}

_LOG_2PI = math.log(2.0 * math.pi)
_COST_SHAPE = "the cost's shape (num_samples, *batch)"


def _mlp(sizes: Sequence[int], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def _check_architecture(input_dim, latent_dim, hidden_dims, activation, scale_param, min_scale):
    """``(input_dim, latent_dim, hidden_dims)`` of :class:`VAE`, checked, as ints and a tuple."""
    if isinstance(hidden_dims, numbers.Integral) and not isinstance(hidden_dims, bool):
        hidden_dims = (hidden_dims,)
    if (
        isinstance(hidden_dims, (str, bytes))
        or not isinstance(hidden_dims, Sequence)
        or not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) for h in hidden_dims)
    ):
        raise TypeError(
            f"hidden_dims must be a sequence of positive integers, got {hidden_dims!r}; e.g. (256,)"
        )
    hidden_dims = tuple(int(h) for h in hidden_dims)
    for name, value in (("input_dim", input_dim), ("latent_dim", latent_dim)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise TypeError(f"{name} must be a positive integer, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    input_dim, latent_dim = int(input_dim), int(latent_dim)
    if any(h < 1 for h in hidden_dims):
        raise ValueError(f"hidden_dims must be positive integers, got {hidden_dims}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    if scale_param not in ("softplus", "exp"):
        raise ValueError(f"scale_param must be 'softplus' or 'exp', got {scale_param!r}")
    if isinstance(min_scale, bool) or not isinstance(min_scale, numbers.Real):
        raise TypeError(f"min_scale must be a number >= 0, got {min_scale!r}; e.g. min_scale=1e-4")
    if not (math.isfinite(min_scale) and min_scale >= 0):
        raise ValueError(f"min_scale must be finite and >= 0, got {min_scale}")
    return input_dim, latent_dim, hidden_dims


class VAE(nn.Module):
    """A VAE with a diagonal-Gaussian encoder, a Bernoulli decoder and a N(0, I) prior.

    Encoder: an MLP ``input_dim -> hidden_dims -> 2 * latent_dim`` giving ``loc`` and a raw
    scale, mapped to ``scale`` by ``softplus(raw) + min_scale`` (``scale_param="softplus"``)
    or ``exp(raw / 2)``, ``raw`` the log-variance (``"exp"``); scales are clamped to
    :data:`SCALE_RANGE`. Decoder: an MLP ``latent_dim -> reversed(hidden_dims) -> input_dim``
    giving Bernoulli logits. Subclasses with another latent family pass ``encoder_outputs``
    (the width of the code) and set :attr:`ELBO_TERMS`. Kingma and Welling (2014), Sec. 3, App. C.

    Raises:
        TypeError: if a size is not an integer or ``min_scale`` not a number.
        ValueError: on non-positive sizes, an unknown ``activation`` (one of ``tanh``,
            ``relu``, ``elu``, ``softplus``, ``sigmoid``, ``gelu``, ``leaky_relu``) or
            ``scale_param``, or a negative or non-finite ``min_scale``.

    Shapes:
        ``encode``: ``(*batch, input_dim) -> (*batch, latent_dim)`` twice;
        ``decode``: ``(*batch, latent_dim) -> (*batch, input_dim)``.
    """

    def __init__(
        self,
        input_dim: int = 64,
        latent_dim: int = 8,
        hidden_dims: Sequence[int] | int = (256,),
        activation: str = "tanh",
        scale_param: str = "softplus",
        min_scale: float = 1e-4,
        *,
        generator: torch.Generator | None = None,
        encoder_outputs: int | None = None,
    ):
        super().__init__()
        check_generator(generator)
        input_dim, latent_dim, hidden_dims = _check_architecture(
            input_dim, latent_dim, hidden_dims, activation, scale_param, min_scale
        )
        self.input_dim = input_dim
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.scale_param = scale_param
        self.min_scale = float(min_scale)
        outputs = (
            2 * latent_dim
            if encoder_outputs is None
            else check_positive_int(encoder_outputs, "encoder_outputs")
        )
        decoder_inputs = (
            latent_dim if encoder_outputs is None else outputs
        )  # a subclass's code is the encoder's output
        widths = (input_dim, *hidden_dims, max(outputs, decoder_inputs))
        check_size(
            2 * sum(a * b for a, b in zip(widths, widths[1:])),
            "the number of network weights",
            workaround="use smaller input_dim, hidden_dims, latent_dim (or categories)",
        )
        if generator is None:
            self.encoder = _mlp((input_dim, *hidden_dims, outputs), activation)
            self.decoder = _mlp((decoder_inputs, *reversed(hidden_dims), input_dim), activation)
        else:
            with torch.random.fork_rng(devices=[]):  # leave the global random state as it was
                self.encoder = _mlp((input_dim, *hidden_dims, outputs), activation)
                self.decoder = _mlp((decoder_inputs, *reversed(hidden_dims), input_dim), activation)
            self.reset_parameters(generator=generator)

    @torch.no_grad()
    def reset_parameters(self, *, generator: torch.Generator | None = None) -> None:
        """Re-initialize every linear layer as PyTorch does, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``,
        from ``generator``."""
        check_generator(generator)
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    @property
    def config(self) -> dict:
        """The constructor arguments, so that ``VAE(**model.config)`` rebuilds the architecture."""
        return {
            "input_dim": self.input_dim,
            "latent_dim": self.latent_dim,
            "hidden_dims": list(self.hidden_dims),
            "activation": self.activation,
            "scale_param": self.scale_param,
            "min_scale": self.min_scale,
        }

    def check_input(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """Check that ``x`` is a tensor ``(*batch, input_dim)`` of the model's dtype with values in [0, 1].

        Binary (0/1) pixels are the model's data; values inside [0, 1] (grayscale
        intensities used as Bernoulli targets, a common practice) are allowed too.

        Raises:
            TypeError: if ``x`` is not a floating tensor of the parameters' dtype.
            ValueError: on the wrong width or a value outside [0, 1] (NaN included).
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor of shape (batch, {self.input_dim}), got {type(x).__name__}"
            )
        if not x.is_floating_point():
            raise TypeError(
                f"{name} must be a floating tensor of 0/1 pixels, got dtype {x.dtype}; use x.float()"
            )
        dtype = self.encoder[0].weight.dtype
        if x.dtype != dtype:
            raise TypeError(
                f"{name} has dtype {x.dtype} but the model's parameters are {dtype}; convert one of them, "
                f"e.g. {name}.to({dtype}) or model.to({x.dtype})"
            )
        if x.dim() == 0 or x.shape[-1] != self.input_dim:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}, but the model expects (batch, {self.input_dim}): "
                f"flatten each image to {self.input_dim} pixels (x.reshape(len(x), -1)) "
                f"or build the VAE with input_dim={x.shape[-1] if x.dim() else '?'}"
            )
        if x.numel() and not bool(((x >= 0) & (x <= 1)).all()):
            bad = x[~((x >= 0) & (x <= 1))][0].item()
            raise ValueError(
                f"{name} must hold pixel values in [0, 1] (binary 0/1, or grayscale intensities), got {bad}; "
                f"binarize or rescale the data (e.g. x / 255) and remove NaN"
            )
        return x

    def check_options(
        self, estimator: str, baseline, num_samples: int, batch_shape: tuple[int, ...] | None = None
    ):
        """Validate the encoder-gradient ``estimator`` (one of :attr:`ESTIMATORS`) with its ``baseline``.

        The one check shared by :func:`elbo`, :func:`encoder_gradients` and
        :func:`lecture9.training.train`; returns the resolved baseline (``"leave_one_out"``
        becomes the function). With ``batch_shape`` a tensor baseline is also checked against
        the cost's shape ``(num_samples, *batch_shape)``.
        """
        if not isinstance(estimator, str) or estimator not in self.ESTIMATORS:
            spec = estimators.REGISTRY.get(estimator) if isinstance(estimator, str) else None
            hint = (
                ""
                if spec is None or not spec.reparameterizable
                else (
                    f"; estimator={estimator!r} has no path through a {type(self).__name__.removesuffix('VAE')} code "
                    f"(the gradient of a hard sample is zero)"
                )
            )
            raise ValueError(f"estimator must be one of {self.ESTIMATORS}, got {estimator!r}{hint}")
        resolved = _resolve_baseline(baseline, num_samples)
        if resolved is not None and estimators.get(estimator).baseline is None:
            takes = [n for n in self.ESTIMATORS if estimators.get(n).baseline is not None]
            raise ValueError(
                f"baseline is only used by estimator={' or '.join(map(repr, takes))}; pass baseline=None "
                f"for {estimator!r}"
            )
        if isinstance(resolved, torch.Tensor) and batch_shape is not None:
            check_broadcast(resolved, (num_samples, *batch_shape), "baseline", _COST_SHAPE)
        return resolved

    def noise(
        self, num_samples: int, x: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """The base noise of the latent sample, ``(num_samples, *batch, latent_dim)`` standard normals."""
        return normal_noise(
            self._noise_shape(num_samples, x, generator, self.latent_dim), x, generator
        )

    def _noise_shape(self, num_samples, x, generator, width: int) -> tuple[int, ...]:
        """The checked shape ``(num_samples, *batch, width)`` of the noise for ``x``, capped in size.

        Only the type, dtype and width of ``x`` matter here (its values are checked where
        they are used), so the training loop's hot path does not scan the pixels again.
        """
        num_samples = check_num_samples(num_samples)
        check_tensor(x, "x", floating=True, finite=False)
        if x.dim() == 0 or x.shape[-1] != self.input_dim:
            self.check_input(x)  # the full message for a wrong shape
        check_generator(generator)
        shape = (num_samples, *x.shape[:-1], width)
        check_size(
            math.prod(shape), "num_samples x batch x code size", workaround="draw fewer samples"
        )
        return shape

    def elbo_terms_from_noise(self, x: torch.Tensor, eps: torch.Tensor, estimator: str, baseline):
        """``(elbo, reconstruction, kl)`` per datapoint for the noise ``eps``, without argument checks.

        The training loop's hot path (:func:`elbo_terms` is the checked entry point): the
        model's :attr:`ELBO_TERMS` for the registered ``estimator``; ``baseline`` is the
        resolved one of :meth:`check_options`.
        """
        return self.ELBO_TERMS[estimator](self, x, eps, baseline)

    def bound_terms_from_noise(self, x: torch.Tensor, noise: torch.Tensor):
        """``(elbo, reconstruction, kl)`` as the model is scored (:func:`evaluate_bound`), no argument checks.

        The model's hook for its evaluation: the reparameterized ELBO here; a discrete code
        is scored at its hard samples.
        """
        return self._pathwise_terms(x, noise, None)

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """Called by :func:`lecture9.training.train` before each training epoch (0-based ``epoch``
        of ``epochs``); a model may anneal a setting here, as a function of ``epoch`` alone so that
        a resumed run replays it. Does nothing here."""

    def decoder_log_likelihood(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\log p_\\theta(x \\mid z)` summed over pixels, stable at any logit (no checks).

        Shapes:
            ``z``: ``(*sample, *batch, code)``, ``x``: ``(*batch, input_dim)`` -> ``(*sample, *batch)``.
        """
        logits = self.decoder(z)  # the training loop's hot path: no checks
        return -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none"
        ).sum(-1)

    @staticmethod
    def score_surrogate(log_q: torch.Tensor, log_px: torch.Tensor, baseline) -> torch.Tensor:
        """The reconstruction ``log_px`` averaged over samples, with the score-function gradient for the encoder.

        Value: the Monte Carlo reconstruction term; gradient: the decoder's own plus
        :math:`(\\log p_\\theta(x \\mid z) - b)\\,\\nabla_\\phi \\log q_\\phi(z \\mid x)`
        (:func:`lecture9.estimators.score_function_surrogate`). ``baseline`` as resolved by :meth:`check_options`.
        """
        cost = log_px
        if callable(baseline):
            baseline = baseline(cost.detach())
            if isinstance(baseline, torch.Tensor):
                check_broadcast(
                    baseline,
                    tuple(cost.shape),
                    "the tensor returned by the baseline callable",
                    _COST_SHAPE,
                )
        surrogate = estimators.score_function_surrogate(log_q, cost, baseline, reduction="none")
        return VAE.surrogate_reconstruction(log_px, surrogate)

    @staticmethod
    def surrogate_reconstruction(log_px: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
        """``log_px`` averaged over samples, plus ``surrogate``'s gradient (a zero value)."""
        return log_px.mean(0) + (surrogate - surrogate.detach()).mean(0)

    def _pathwise_terms(self, x: torch.Tensor, eps: torch.Tensor, baseline):
        loc, scale = self._encode(x)
        kl = _gaussian_kl_unchecked(loc, scale)
        return self._decoded_terms(loc + scale * eps, x, kl)

    def _decoded_terms(self, z: torch.Tensor, x: torch.Tensor, kl: torch.Tensor):
        """``(elbo, reconstruction, kl)`` with the decoder at the codes ``z``, averaged over samples."""
        log_px = self.decoder_log_likelihood(z, x)
        recon = (
            log_px.squeeze(0) if len(log_px) == 1 else log_px.mean(0)
        )  # a view for one sample: cheaper
        return recon - kl, recon, kl

    def _score_function_terms(self, x: torch.Tensor, eps: torch.Tensor, baseline):
        loc, scale = self._encode(x)
        kl = _gaussian_kl_unchecked(loc, scale)
        z = (loc + scale * eps).detach()
        log_px = self.decoder_log_likelihood(
            z, x
        )  # decoder: ordinary gradient; no path to the encoder
        log_q = (
            torch.distributions.Normal(loc, scale, validate_args=False).log_prob(z).sum(-1)
        )  # encoder: the score
        recon = self.score_surrogate(log_q, log_px, baseline)
        return recon - kl, recon, kl

    #: For each registered encoder-gradient estimator, the method giving the ELBO terms.
    ELBO_TERMS = {"pathwise": _pathwise_terms, "score_function": _score_function_terms}
    #: Whether the code is discrete (then :meth:`bound_terms_from_noise` scores hard codes).
    DISCRETE_CODE = False
    #: The registered estimators (:data:`~lecture9.estimators.registry.REGISTRY`) this model
    #: trains with; the first the default.
    #: A subclass's are the keys of its own :attr:`ELBO_TERMS`.
    ESTIMATORS = tuple(ELBO_TERMS)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "ELBO_TERMS" in vars(cls) and "ESTIMATORS" not in vars(cls):
            cls.ESTIMATORS = tuple(cls.ELBO_TERMS)

    def log_weights(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Log importance weights :math:`\\log p(x, z) - \\log q(z \\mid x)` for the noise ``eps``, unchecked."""
        z, log_pz, log_qz = self._weighted_code(x, eps)
        return self.decoder_log_likelihood(z, x) + log_pz - log_qz

    def _weighted_code(self, x: torch.Tensor, eps: torch.Tensor):
        """``(code, log p(code), log q(code | x))`` of the noise ``eps``: the hook of :meth:`log_weights`."""
        loc, scale = self._encode(x)
        z = loc + scale * eps
        log_pz = -0.5 * (z.square() + _LOG_2PI).sum(-1)
        log_qz = -(0.5 * (eps.square() + _LOG_2PI) + torch.log(scale)).sum(
            -1
        )  # exact: (z - loc) / scale = eps
        return z, log_pz, log_qz

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(loc, scale)`` of :math:`q_\\phi(z \\mid x)`."""
        return self._encode(self.check_input(x))

    def _encode(self, x: torch.Tensor):
        """:meth:`encode` without the input check: the training loop's data is checked once."""
        h = self.encoder(x)
        loc, raw = h.chunk(2, dim=-1)
        if self.scale_param == "softplus":
            scale = F.softplus(raw) + self.min_scale
            if self.min_scale < SCALE_RANGE[0]:  # otherwise the floor holds already
                scale = scale.clamp_min(SCALE_RANGE[0])
        else:  # clamp the log-variance, not the scale: exp must not overflow (inf * 0 gradients are NaN)
            scale = torch.exp(
                0.5 * raw.clamp(2.0 * math.log(SCALE_RANGE[0]), 2.0 * math.log(SCALE_RANGE[1]))
            )
        return loc, scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Return the Bernoulli logits of :math:`p_\\theta(x \\mid z)`.

        Raises:
            TypeError: if ``z`` is not a floating-point tensor.
            ValueError: if ``z`` holds NaN or inf, or its last dimension is not the code's.
        """
        check_tensor(z, "z", floating=True)
        width = self.decoder[0].in_features
        if z.dim() == 0 or z.shape[-1] != width:
            raise ValueError(
                f"z must have shape (..., {width}) (one code per row), got {tuple(z.shape)}"
            )
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Same as :meth:`encode`."""
        return self.encode(x)

    def _prior_code(self, num_samples: int, p: torch.Tensor, generator) -> torch.Tensor:
        """``num_samples`` codes from the prior, as :meth:`decode` takes them: ``z ~ N(0, I)`` here."""
        return normal_noise((num_samples, self.latent_dim), p, generator)

    @torch.no_grad()
    def sample(
        self, num_samples: int, *, generator: torch.Generator | None = None, binary: bool = False
    ) -> torch.Tensor:
        """Draw images from the model: a code from the prior (``z ~ N(0, I)``; a subclass's own
        prior), then the decoder's pixel probabilities (or pixels, ``binary=True``)."""
        num_samples = check_num_samples(num_samples)
        check_generator(generator)
        probs = torch.sigmoid(
            self.decode(self._prior_code(num_samples, next(self.parameters()), generator))
        )
        if binary:
            u = uniform_noise(probs.shape, probs, generator)
            return (u < probs).to(probs.dtype)
        return probs

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities of the decoder at the encoder mean, ``sigmoid(decode(loc(x)))``."""
        self.check_input(x)
        loc, _ = self.encode(x)
        return torch.sigmoid(self.decode(loc))


def _gaussian_kl_unchecked(loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return 0.5 * (loc.square() + scale.square() - 1.0 - 2.0 * torch.log(scale)).sum(-1)


#: The encoder-gradient estimators of :class:`VAE`.
ESTIMATORS = VAE.ESTIMATORS


def check_vae(model, name: str = "model") -> VAE:
    """Check that ``model`` is a :class:`VAE` (or a subclass); raises ``TypeError`` otherwise."""
    if not isinstance(model, VAE):
        raise TypeError(
            f"{name} must be a lecture9.vae.VAE, got {type(model).__name__}; build one with "
            f"lecture9.vae.VAE(input_dim=64, latent_dim=8)"
        )
    return model


def gaussian_kl(loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """KL divergence from a diagonal Gaussian to the standard normal prior, in closed form.

    .. math::

        \\mathrm{KL}(\\mathcal{N}(\\mu, \\operatorname{diag}\\sigma^2) \\,\\|\\, \\mathcal{N}(0, I))
        = \\frac12 \\sum_{j=1}^{J} \\left(\\mu_j^2 + \\sigma_j^2 - 1 - \\log \\sigma_j^2\\right).

    Derived in chapter 9; Kingma and Welling (2014), App. B.

    Raises:
        ValueError: if the shapes differ, ``loc`` is not finite or ``scale`` is not
            finite and positive.

    Shapes:
        ``loc``, ``scale``: ``(*batch, latent_dim)`` -> ``(*batch,)``.
    """
    if not isinstance(loc, torch.Tensor) or not isinstance(scale, torch.Tensor):
        raise TypeError("loc and scale must be torch.Tensors")
    if loc.shape != scale.shape or loc.dim() == 0:
        raise ValueError(
            "loc and scale must have the same shape (*batch, latent_dim), "
            f"got {tuple(loc.shape)} and {tuple(scale.shape)}"
        )
    if not torch.isfinite(loc).all():
        raise ValueError("loc must be finite")
    if not (torch.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError("scale must be finite and > 0 everywhere (it is a standard deviation)")
    return _gaussian_kl_unchecked(loc, scale)


def _resolve_baseline(baseline, num_samples: int):
    if baseline is None or callable(baseline) or isinstance(baseline, (int, float, torch.Tensor)):
        if isinstance(baseline, bool):
            raise TypeError(
                "baseline must be None, a number, a tensor, a callable or 'leave_one_out', got a bool"
            )
        return baseline
    if isinstance(baseline, str):
        if baseline not in BASELINES:
            raise ValueError(
                f"baseline must be one of {BASELINES}, a number, a tensor or a callable; got {baseline!r}"
            )
        if num_samples < 2:
            raise ValueError(
                "baseline='leave_one_out' needs num_samples >= 2 (the other samples form the baseline)"
            )
        return leave_one_out_baseline
    raise TypeError(
        f"baseline must be None, a number, a tensor, a callable cost -> baseline or 'leave_one_out', "
        f"got {type(baseline).__name__}"
    )


def elbo_terms(
    model: VAE, x: torch.Tensor, **options
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ELBO and its two terms, ``(elbo, reconstruction, kl)`` with ``elbo = reconstruction - kl``.

    Same keyword arguments as :func:`elbo` (``num_samples``, ``estimator``, ``baseline``,
    ``generator``). ``reconstruction`` is the Monte Carlo estimate of
    :math:`\\mathbb{E}_q[\\log p_\\theta(x \\mid z)]` (averaged over ``num_samples``),
    ``kl`` the closed form :func:`gaussian_kl`.

    Shapes:
        ``x``: ``(*batch, input_dim)`` -> three tensors of shape ``(*batch,)``.
    """
    return _checked_terms(model, x, **options)


def _checked_terms(model, x, *, num_samples=1, estimator="pathwise", baseline=None, generator=None):
    check_vae(model)
    model.check_input(x)
    num_samples = check_num_samples(num_samples)
    baseline = model.check_options(estimator, baseline, num_samples, tuple(x.shape[:-1]))
    check_generator(generator)
    return model.elbo_terms_from_noise(
        x, model.noise(num_samples, x, generator), estimator, baseline
    )


def elbo(
    model: VAE,
    x: torch.Tensor,
    *,
    num_samples: int = 1,
    estimator: str = "pathwise",
    baseline=None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Monte Carlo estimate of the ELBO of each datapoint, differentiable with the chosen estimator.

    The value is :math:`\frac1S \sum_s \log p_\theta(x \mid z_s) - \mathrm{KL}`, the KL in
    closed form. ``estimator="pathwise"`` differentiates through :math:`z = \mu + \sigma\epsilon`;
    ``"score_function"`` detaches ``z``: the decoder gets its own gradient, the encoder the
    REINFORCE estimate (:func:`lecture9.estimators.score_function_surrogate`) with
    ``baseline`` (``None``, a number or tensor, a callable ``cost -> baseline``, or
    ``"leave_one_out"``), plus the exact KL gradient. Mohamed et al. (2020), Secs. 4, 5, 9.1.

    Raises:
        TypeError: if ``model`` is not a :class:`VAE` or ``x`` is not a floating tensor.
        ValueError: on data of the wrong width, ``num_samples < 1``, an estimator the model
            does not take, a baseline for the pathwise estimator, or a baseline that does not
            broadcast to ``(num_samples, *batch)``.

    Shapes:
        ``x``: ``(*batch, input_dim)`` -> ``(*batch,)``.
    """
    return _checked_terms(
        model,
        x,
        num_samples=num_samples,
        estimator=estimator,
        baseline=baseline,
        generator=generator,
    )[0]


def iwae_bound(
    model: VAE, x: torch.Tensor, num_samples: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""The importance-weighted bound
    :math:`\log \frac1K \sum_k p_\theta(x, z_k) / q_\phi(z_k \mid x)` of each datapoint.

    Computed with ``logsumexp``; its mean is the ELBO for ``K = 1`` and increases to
    :math:`\log p_\theta(x)` with ``K`` (Burda et al., 2016). Differentiable (pathwise).

    Raises:
        TypeError, ValueError: as :func:`elbo`.

    Shapes:
        ``x``: ``(*batch, input_dim)`` -> ``(*batch,)``.
    """
    check_vae(model)
    model.check_input(x)
    num_samples = check_num_samples(num_samples)
    check_generator(generator)
    return torch.logsumexp(
        model.log_weights(x, model.noise(num_samples, x, generator)), dim=0
    ) - math.log(num_samples)


def log_likelihood(
    model: VAE,
    x: torch.Tensor,
    num_samples: int = 1000,
    *,
    generator: torch.Generator | None = None,
    batch_size: int = 100,
) -> torch.Tensor:
    """Importance-sampled estimate of :math:`\\log p_\\theta(x)` for each datapoint.

    :func:`iwae_bound` with many samples (1000 by default, as in Burda et al., 2016),
    evaluated without gradients in chunks of ``batch_size`` datapoints and a few
    thousand decoder evaluations at a time, so memory stays small. Its negative mean
    is the "importance-sampled NLL" reported next to the negative ELBO.

    Raises:
        TypeError, ValueError: as :func:`iwae_bound`; ``ValueError`` if ``batch_size < 1``.

    Shapes:
        ``x``: ``(N, input_dim)`` -> ``(N,)``.
    """
    return evaluate_bound(
        model, x, bound="iwae", num_samples=num_samples, generator=generator, batch_size=batch_size
    )


@torch.no_grad()
def evaluate_bound(
    model: VAE,
    x: torch.Tensor,
    *,
    bound: str = "elbo",
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    batch_size: int = 1000,
) -> torch.Tensor:
    """The ELBO or the IWAE bound of each datapoint, without gradients, in chunks of ``batch_size`` rows.

    The one evaluation loop of the package (:func:`log_likelihood`,
    :func:`lecture9.training.evaluate_elbo`). For the IWAE bound the ``num_samples``
    importance samples are drawn a few thousand decoder evaluations at a time, so
    memory stays small.

    Raises:
        TypeError, ValueError: as :func:`elbo`; ``ValueError`` for an unknown ``bound``.

    Shapes:
        ``x``: ``(*batch, input_dim)`` -> ``(*batch,)``.
    """
    check_vae(model)
    model.check_input(x)
    num_samples = check_num_samples(num_samples)
    batch_size = check_positive_int(batch_size, "batch_size")
    check_generator(generator)
    if bound not in ("elbo", "iwae"):
        raise ValueError(f"bound must be 'elbo' or 'iwae', got {bound!r}")
    return evaluate_bound_unchecked(model, x, bound, num_samples, generator, batch_size)


@torch.no_grad()
def evaluate_bound_unchecked(
    model: VAE, x, bound: str, num_samples: int, generator, batch_size: int
) -> torch.Tensor:
    """:func:`evaluate_bound` without argument checks (the training loop's per-epoch evaluation)."""
    flat = x.reshape(-1, model.input_dim)
    out = [flat.new_zeros(0)]
    # decoder outputs of at most ~4M numbers at a time
    width = max(model.input_dim, max(model.hidden_dims, default=1))
    for start in range(0, len(flat), batch_size):
        xb = flat[start : start + batch_size]
        if bound == "elbo":
            out.append(model.bound_terms_from_noise(xb, model.noise(num_samples, xb, generator))[0])
            continue
        chunk = max(1, (1 << 22) // (len(xb) * width))
        log_w = [
            model.log_weights(xb, model.noise(min(chunk, num_samples - s), xb, generator))
            for s in range(0, num_samples, chunk)
        ]
        out.append(torch.logsumexp(torch.cat(log_w), dim=0) - math.log(num_samples))
    return torch.cat(out).reshape(x.shape[:-1])


class _ELBOLoss(nn.Module):
    """Wraps a VAE so that ``forward(x, eps)`` is the mean negative ELBO (for torch.func)."""

    def __init__(self, model: VAE, estimator: str, baseline):
        super().__init__()
        self.model = model
        self.estimator = estimator
        self.baseline = baseline

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return -self.model.elbo_terms_from_noise(x, eps, self.estimator, self.baseline)[0].mean()


def encoder_gradients(
    model: VAE,
    x: torch.Tensor,
    *,
    num_draws: int = 100,
    num_samples: int = 1,
    estimator: str = "pathwise",
    baseline=None,
    generator: torch.Generator | None = None,
    chunk_size: int | None = 64,
) -> torch.Tensor:
    """Independent draws of the encoder gradient of the minibatch loss ``-elbo(model, x).mean()``.

    Each draw uses fresh noise; the parameters and the minibatch stay fixed, so the
    spread of the draws is the estimator's own variance (the quantity the chapter
    compares between REINFORCE and the reparameterization trick). Vectorized with
    :func:`torch.func.vmap` over the draws.

    Raises:
        TypeError, ValueError: as :func:`elbo`; ``ValueError`` if ``num_draws < 2``.

    Shapes:
        ``x``: ``(batch, input_dim)`` -> ``(num_draws, P)`` with ``P`` the number of
        encoder parameters.
    """
    check_vae(model)
    model.check_input(x)
    num_draws = check_positive_int(num_draws, "num_draws", minimum=2)
    if chunk_size is not None:
        chunk_size = check_positive_int(chunk_size, "chunk_size")
    num_samples = check_num_samples(num_samples)
    baseline = model.check_options(estimator, baseline, num_samples, tuple(x.shape[:-1]))
    check_generator(generator)
    loss = _ELBOLoss(model, estimator, baseline)
    params = {k: v.detach() for k, v in loss.named_parameters()}
    enc = {k: v for k, v in params.items() if k.startswith("model.encoder.")}

    def loss_of(enc_params, eps):
        return torch.func.functional_call(loss, {**params, **enc_params}, (x, eps))

    eps = model.noise(num_draws * num_samples, x, generator).reshape(
        num_draws, num_samples, *x.shape[:-1], -1
    )
    grads = torch.func.vmap(torch.func.grad(loss_of), in_dims=(None, 0), chunk_size=chunk_size)(
        enc, eps
    )
    return torch.cat([grads[k].reshape(num_draws, -1) for k in enc], dim=1)


def encoder_gradient_variance(model: VAE, x: torch.Tensor, **options) -> dict[str, float]:
    r"""Total variance of the encoder gradient at fixed parameters and minibatch.

    From the draws of :func:`encoder_gradients` (``**options`` are its keywords): the sum of
    the unbiased per-parameter variances, and the unbiased squared norm of the mean gradient,
    :math:`\|\bar g\|^2 - \frac1n \sum_p s_p^2` (the plug-in :math:`\|\bar g\|^2` is inflated
    by the noise; this one can be negative when the signal is small).

    Returns:
        ``{"total_variance": float, "mean_norm_sq": float, "num_draws": int}``.

    Raises:
        TypeError, ValueError: as :func:`encoder_gradients`.
    """
    g = encoder_gradients(model, x, **options)
    num_draws = g.shape[0]
    total_variance = float(g.var(0).sum())
    return {
        "total_variance": total_variance,
        "mean_norm_sq": float(g.mean(0).square().sum()) - total_variance / num_draws,
        "num_draws": int(num_draws),
    }
