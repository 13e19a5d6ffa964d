r"""A VAE with categorical latent codes, trained with the estimators of chapter 10.

Introduced in chapter 10, *Discrete latent variables*. The model of :mod:`lecture9.vae`
with :math:`D` categorical variables of :math:`C` categories each in place of the Gaussian
latent (Jang et al. 2017, Sec. 4.2; Maddison et al. 2017):

- prior :math:`p(b) = \prod_{d=1}^{D} \operatorname{Cat}(b_d; 1/C)`, uniform;
- encoder :math:`q_\phi(b \mid x) = \prod_d \operatorname{Cat}(b_d; \operatorname{softmax}(\ell_\phi(x)_d))`,
  an MLP giving ``(D, C)`` logits;
- decoder :math:`p_\theta(x \mid b)`: the Bernoulli-pixel MLP, fed the ``D * C`` one-hot code.

The KL to the uniform prior is :math:`\sum_d \sum_c q_{dc} \log q_{dc} + D \log C`
(:func:`categorical_kl`). All estimators share the noise of a code, ``(D, C)`` uniforms
:math:`u`, turned into Gumbel noise :math:`G = -\log(-\log u)` (the convention of
``torch.distributions.RelaxedOneHotCategorical``); the hard code is the one-hot
:math:`\arg\max_c(\ell_c + G_c)` (Gumbel-max), the relaxed code
:math:`z = \operatorname{softmax}((\ell + G)/\tau)`:

- ``"score_function"``: REINFORCE on the hard codes, with the leave-one-out baseline over
  the ``num_samples`` codes of an image (RLOO, Kool et al. 2019);
- ``"gumbel_softmax"``: the decoder at :math:`z`, the pathwise gradient of the relaxed
  objective (Jang et al. 2017; Maddison et al. 2017);
- ``"straight_through"``: the decoder at the hard code, the gradient of :math:`z`
  (the straight-through Gumbel-softmax of Jang et al. 2017).

The temperature can be annealed exponentially over the epochs (:meth:`CategoricalVAE.start_epoch`).
The test ELBO and the importance-weighted bound always use hard codes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ._validation import check_generator, check_positive_int, check_temperature
from .estimators import relaxed_one_hot, straight_through
from .sampling import uniform_noise
from .vae import VAE

__all__ = [
    "ESTIMATORS",
    "DEFAULT_TEMPERATURE",
    "CategoricalVAE",
    "categorical_kl",
    "annealed_temperature",
    "exact_elbo",
]

#: Temperature of the Gumbel-softmax relaxation unless another is given.
DEFAULT_TEMPERATURE = 0.5
_MAX_ENUMERATED_CODES = 4096


def categorical_kl(logits: torch.Tensor) -> torch.Tensor:
    r"""KL divergence from independent categoricals to the uniform prior, summed over the variables.

    :math:`\sum_d \bigl(\sum_c q_{dc} \log q_{dc} + \log C\bigr)` with
    :math:`q_d = \operatorname{softmax}(\ell_d)`, computed from ``log_softmax`` (finite at any logit).

    Raises:
        TypeError: if ``logits`` is not a floating tensor.
        ValueError: if it has fewer than 2 dimensions or is not finite.

    Shapes:
        ``logits``: ``(*batch, D, C)`` -> ``(*batch,)``.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(
            f"logits must be a floating torch.Tensor (*batch, D, C), got {type(logits).__name__}"
        )
    if logits.dim() < 2:
        raise ValueError(
            f"logits must have shape (*batch, D, C), got {tuple(logits.shape)}; e.g. torch.zeros(8, 4)"
        )
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite")
    return _kl(F.log_softmax(logits, -1))


def _kl(log_q: torch.Tensor) -> torch.Tensor:
    return (log_q.exp() * log_q).sum((-2, -1)) + log_q.shape[-2] * math.log(log_q.shape[-1])


def annealed_temperature(start: float, end: float | None, epoch: int, epochs: int) -> float:
    r"""The temperature of epoch ``epoch`` (0-based) of ``epochs``: :math:`\tau_0 (\tau_1/\tau_0)^{e/(E-1)}`.

    Exponential annealing (Jang et al. 2017, Sec. 3): ``start`` at the first epoch, ``end``
    at the last; ``end=None`` keeps ``start``.

    Raises:
        ValueError: for a temperature that is not a finite number > 0, or an epoch outside ``[0, epochs)``.
    """
    start = check_temperature(start, "start")
    end = None if end is None else check_temperature(end, "end")
    epochs = check_positive_int(epochs, "epochs")
    epoch = check_positive_int(epoch, "epoch", minimum=0, maximum=epochs - 1)
    if end is None or epochs == 1:
        return start
    return start * (end / start) ** (epoch / (epochs - 1))


class CategoricalVAE(VAE):
    """A VAE whose code is ``latent_dim`` categorical variables of ``categories`` categories each.

    Encoder: an MLP ``input_dim -> hidden_dims -> latent_dim * categories`` giving the logits.
    Decoder: the MLP ``latent_dim * categories -> reversed(hidden_dims) -> input_dim`` of the
    Gaussian VAE, fed the flattened one-hot (or relaxed) code. It implements the model
    interface of :func:`lecture9.training.train` like :class:`~lecture9.bernoulli_vae.BernoulliVAE`.

    Args:
        input_dim: binary pixels per datapoint.
        latent_dim: number ``D`` of categorical variables.
        categories: categories ``C >= 2`` of each variable.
        hidden_dims, activation: as :class:`~lecture9.vae.VAE`.
        temperature: :math:`\\tau > 0` of the relaxation (the first epoch's, when annealed).
        anneal_to: the last epoch's temperature, or ``None`` for a constant one.
        generator: random numbers for the initial weights.

    Raises:
        TypeError, ValueError: as :class:`~lecture9.vae.VAE`; for ``categories < 2`` or a
            temperature that is not a finite number > 0.

    Shapes:
        ``encode``: ``(*batch, input_dim) -> (*batch, D, C)``;
        ``decode``: ``(*batch, D * C) -> (*batch, input_dim)``.
    """

    def __init__(
        self,
        input_dim: int = 64,
        latent_dim: int = 8,
        categories: int = 4,
        hidden_dims: Sequence[int] | int = (256,),
        activation: str = "tanh",
        temperature: float = DEFAULT_TEMPERATURE,
        anneal_to: float | None = None,
        *,
        generator: torch.Generator | None = None,
    ):
        check_generator(generator)
        categories = check_positive_int(categories, "categories", minimum=2)
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        temperature = check_temperature(temperature)
        anneal_to = None if anneal_to is None else check_temperature(anneal_to, "anneal_to")
        super().__init__(
            input_dim,
            latent_dim,
            hidden_dims,
            activation,
            generator=generator,
            encoder_outputs=latent_dim * categories,
        )
        self.categories = categories
        self.temperature, self.anneal_to, self.current_temperature = (
            temperature,
            anneal_to,
            temperature,
        )

    @property
    def config(self) -> dict:
        """The constructor arguments, so that ``CategoricalVAE(**model.config)`` rebuilds the architecture."""
        return {
            "input_dim": self.input_dim,
            "latent_dim": self.latent_dim,
            "categories": self.categories,
            "hidden_dims": list(self.hidden_dims),
            "activation": self.activation,
            "temperature": self.temperature,
            "anneal_to": self.anneal_to,
        }

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """Set the temperature of epoch ``epoch`` (0-based) of ``epochs`` (:func:`annealed_temperature`)."""
        self.current_temperature = annealed_temperature(
            self.temperature, self.anneal_to, epoch, epochs
        )

    def noise(
        self, num_samples: int, x: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """The base noise of the codes, ``(num_samples, *batch, D * C)`` uniforms in (0, 1), flat like the code."""
        shape = self._noise_shape(num_samples, x, generator, self.latent_dim * self.categories)
        u = uniform_noise(shape, x, generator)
        return u.clamp_max(1 - torch.finfo(u.dtype).eps)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits of :math:`q_\\phi(b \\mid x)`, shape ``(*batch, D, C)``."""
        return self._encode(self.check_input(x))

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`encode` without the input check (the training loop's hot path)."""
        return self.encoder(x).unflatten(-1, (self.latent_dim, self.categories))

    def _noise(self, x: torch.Tensor, u: torch.Tensor):
        """``(logits, log q, Gumbel noise)`` for the uniforms ``u``."""
        logits = self._encode(x)
        return (
            logits,
            F.log_softmax(logits, -1),
            -torch.log(-torch.log(u.unflatten(-1, (self.latent_dim, -1)))),
        )

    @staticmethod
    def _hard(logits: torch.Tensor, gumbel: torch.Tensor) -> torch.Tensor:
        """The one-hot Gumbel-max code, an exact sample of q (by comparison: it works under torch.func.vmap)."""
        scores = logits.detach() + gumbel
        return (scores == scores.amax(-1, keepdim=True)).to(gumbel.dtype)

    def _terms_at(self, x: torch.Tensor, code: torch.Tensor, log_q: torch.Tensor):
        return self._decoded_terms(code.flatten(-2), x, _kl(log_q))

    def bound_terms_from_noise(self, x: torch.Tensor, u: torch.Tensor):
        """``(elbo, reconstruction, kl)`` at the hard codes of ``u``: how the model is scored, no checks."""
        logits, log_q, gumbel = self._noise(x, u)
        return self._terms_at(x, self._hard(logits, gumbel), log_q)

    def _gumbel_softmax_terms(self, x: torch.Tensor, u: torch.Tensor, baseline):
        logits, log_q, gumbel = self._noise(x, u)
        relaxed = relaxed_one_hot(logits, gumbel, self.current_temperature, validate_args=False)
        return self._terms_at(x, relaxed, log_q)

    def _straight_through_terms(self, x: torch.Tensor, u: torch.Tensor, baseline):
        logits, log_q, gumbel = self._noise(x, u)
        relaxed = relaxed_one_hot(logits, gumbel, self.current_temperature, validate_args=False)
        code = straight_through(self._hard(logits, gumbel), relaxed, validate_args=False)
        return self._terms_at(x, code, log_q)

    def _reinforce_terms(self, x: torch.Tensor, u: torch.Tensor, baseline):
        logits, log_q, gumbel = self._noise(x, u)
        hard, kl = self._hard(logits, gumbel), _kl(log_q)
        log_px = self.decoder_log_likelihood(hard.flatten(-2), x)
        recon = self.score_surrogate((hard * log_q).sum((-2, -1)), log_px, baseline)
        return recon - kl, recon, kl

    #: For each registered encoder-gradient estimator, the method giving the ELBO terms; the
    #: value at the hard codes (relaxed ones for ``"gumbel_softmax"``), the gradient the estimator's.
    ELBO_TERMS = {
        "score_function": _reinforce_terms,
        "gumbel_softmax": _gumbel_softmax_terms,
        "straight_through": _straight_through_terms,
    }
    #: The code is discrete, so the test ELBO is the hard-code one.
    DISCRETE_CODE = True

    def _weighted_code(self, x: torch.Tensor, u: torch.Tensor):
        """The flat hard codes of ``u`` with their log prior and log q (for :meth:`log_weights`)."""
        logits, log_q, gumbel = self._noise(x, u)
        hard = self._hard(logits, gumbel)
        log_prior = -self.latent_dim * math.log(self.categories)
        return hard.flatten(-2), log_prior, (hard * log_q).sum((-2, -1))

    def _prior_code(self, num_samples: int, p: torch.Tensor, generator) -> torch.Tensor:
        """``num_samples`` flattened one-hot codes from the uniform prior (for :meth:`sample`)."""
        u = uniform_noise((num_samples, self.latent_dim, self.categories), p, generator)
        return F.one_hot(u.argmax(-1), self.categories).to(p.dtype).flatten(-2)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities of the decoder at the most probable code."""
        self.check_input(x)
        code = F.one_hot(self.encode(x).argmax(-1), self.categories).to(x.dtype)
        return torch.sigmoid(self.decode(code.flatten(-2)))


def exact_elbo(model: CategoricalVAE, x: torch.Tensor) -> torch.Tensor:
    """The ELBO of each datapoint, exactly, by enumerating the :math:`C^D` codes (differentiable).

    The ground truth for the Monte Carlo ELBO; for at most 4096 codes.

    Raises:
        TypeError: if ``model`` is not a :class:`CategoricalVAE` or ``x`` not a floating tensor.
        ValueError: for more than 4096 codes or data of the wrong width.

    Shapes:
        ``x``: ``(*batch, input_dim)`` -> ``(*batch,)``.
    """
    if not isinstance(model, CategoricalVAE):
        raise TypeError(f"model must be a CategoricalVAE, got {type(model).__name__}")
    model.check_input(x)
    count = model.categories**model.latent_dim
    if count > _MAX_ENUMERATED_CODES:
        raise ValueError(
            f"exact_elbo enumerates at most {_MAX_ENUMERATED_CODES} codes, the model has {count}"
        )
    index = torch.tensor(list(itertools.product(range(model.categories), repeat=model.latent_dim)))
    codes = F.one_hot(index, model.categories).to(x.dtype)  # (C^D, D, C)
    log_q = F.log_softmax(model.encode(x), -1)
    codes = codes.reshape((count,) + (1,) * (x.dim() - 1) + codes.shape[1:]).expand(
        (count,) + log_q.shape
    )
    log_px = model.decoder_log_likelihood(codes.flatten(-2), x)  # (C^D, *batch)
    return ((codes * log_q).sum((-2, -1)).exp() * log_px).sum(0) - _kl(log_q)


#: Encoder-gradient estimators of the categorical VAE.
ESTIMATORS = CategoricalVAE.ESTIMATORS
