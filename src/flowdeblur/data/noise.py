"""Sensor noise for synthetic blurry frames: the Poisson–Gaussian (heteroscedastic) model.

A pixel of linear intensity ``x`` in [0, 1] is observed as ``x + n`` with ``Var[n] = a·x + b`` (Foi, Trimeche,
Katkovnik, Egiazarian, "Practical Poissonian-Gaussian noise modeling and fitting for single-image raw-data",
IEEE TIP 2008): ``a`` the shot (photon) noise gain, ``b`` the signal-independent read noise variance, both in
units of the [0, 1] linear range. The Poisson part is drawn in its Gaussian limit, as is usual at these
levels. Noise is added in linear light, where the model holds (after the exposure average, before the sRGB
encoding), and the result is clipped to [0, 1] like a sensor's black and white levels.

Levels follow the noise sampling of Brooks et al., "Unprocessing Images for Learned Raw Denoising" (CVPR 2019),
fitted to the cameras of the Darmstadt Noise Dataset: ``a`` log-uniform per clip and
``log b = 2.18·log a + 1.20`` (natural logs). The default range of ``a``, [1e-4, 1e-3], is the lower part of
their [1e-4, 1.2e-2] (well-lit consumer and phone video rather than dim raw stills): after the sRGB encoding a
mid-grey pixel carries noise of 1.3/255 to 4.1/255 (std; 1.7/255 to 5.8/255 in shadows at sRGB 0.1), about
2.2/255 at the median level. Each frame of a clip gets independent noise; the draws are a function of the clip's
generator, so the data stay a pure function of the seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

NOISE_MODELS = ("poisson_gaussian", "none")
# Brooks et al. 2019: log(read variance) = READ_SLOPE * log(shot gain) + READ_OFFSET
READ_SLOPE, READ_OFFSET = 2.18, 1.20
DEFAULT_SHOT = (1e-4, 1e-3)

Noise = Callable[[Tensor], Tensor]


def read_variance(shot: float) -> float:
    """Read noise variance ``b`` that goes with shot gain ``a`` (the Brooks et al. fit, without its jitter)."""
    return math.exp(READ_SLOPE * math.log(shot) + READ_OFFSET)


@dataclass(frozen=True)
class PoissonGaussian:
    """``Var = a·x + b`` noise with ``a`` log-uniform in ``shot`` and ``b`` = ``read`` or :func:`read_variance`.

    Args:
        shot: (low, high) range of the shot gain ``a``, 0 < low <= high (low == high: a fixed level).
        read: read noise variance ``b`` >= 0; None: from ``a`` by :func:`read_variance`.
    """

    shot: tuple[float, float] = DEFAULT_SHOT
    read: float | None = None

    def level(self, rng: np.random.Generator) -> tuple[float, float]:
        """Draw ``(a, b)`` for one clip from ``rng``."""
        low, high = self.shot
        a = float(np.exp(rng.uniform(math.log(low), math.log(high))))
        return a, read_variance(a) if self.read is None else self.read

    def sampler(self, rng: np.random.Generator) -> Noise:
        """One clip's noise: linear (..., H, W) in [0, 1] -> same shape with noise, clipped to [0, 1]."""
        a, b = self.level(rng)
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))

        def add(linear: Tensor) -> Tensor:
            std = (linear * a + b).sqrt_()
            draws = torch.randn(linear.shape, generator=generator).to(linear.device)  # same draws on any device
            return (linear + std * draws).clamp_(0.0, 1.0)

        return add


def sensor_noise(model: str, shot: Sequence[float] = DEFAULT_SHOT, read: float | None = None) -> PoissonGaussian | None:
    """The noise of config ``data.noise`` (``poisson_gaussian`` or ``none`` -> None), checked.

    Raises:
        ValueError: naming the option and what was expected.
    """
    if model not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {list(NOISE_MODELS)}, got {model!r}")
    if model == "none":
        return None
    pair = tuple(float(v) for v in shot) if isinstance(shot, Sequence) and not isinstance(shot, str) else ()
    if len(pair) != 2 or not 0 < pair[0] <= pair[1]:
        raise ValueError(f"noise_shot must be a pair [low, high] with 0 < low <= high, got {shot!r}")
    if read is not None and not read >= 0:
        raise ValueError(f"noise_read must be null (from noise_shot) or a variance >= 0, got {read!r}")
    return PoissonGaussian((pair[0], pair[1]), None if read is None else float(read))
