"""Sensor noise of the synthetic blurry frames: the a·x + b variance law, independence across frames, no
bit-identical static pixels, determinism, and ``noise="none"`` reproducing the earlier clips exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdeblur.data.color import srgb_to_linear
from flowdeblur.data.noise import PoissonGaussian, read_variance
from flowdeblur.data.synthetic import SyntheticBlurClips


def fit_variance(signal: torch.Tensor, residual: torch.Tensor, low: float, high: float) -> tuple[float, float]:
    """Least-squares (slope, intercept) of the residual variance per signal bin against the bin's mean."""
    edges = torch.linspace(low, high, 13)
    means, variances = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (signal >= lo) & (signal < hi)
        if inside.sum() > 2000:
            means.append(float(signal[inside].mean()))
            variances.append(float(residual[inside].double().var()))
    assert len(means) >= 6
    slope, intercept = np.polyfit(means, variances, 1)
    return float(slope), float(intercept)


def test_sampler_variance_is_a_x_plus_b() -> None:
    a, b = 1e-3, 4e-5
    signal = torch.linspace(0.1, 0.9, 9).repeat_interleave(20_000).view(1, 1, 9, 20_000)
    noisy = PoissonGaussian((a, a), b).sampler(np.random.default_rng(0))(signal.clone())
    slope, intercept = fit_variance(signal, noisy - signal, 0.05, 0.95)
    assert slope == pytest.approx(a, rel=0.05) and intercept == pytest.approx(b, rel=0.25)


def test_read_variance_follows_the_published_fit() -> None:
    assert read_variance(1e-3) == pytest.approx(np.exp(2.18 * np.log(1e-3) + 1.20))
    level = PoissonGaussian((1e-4, 1e-3)).level(np.random.default_rng(1))
    assert 1e-4 <= level[0] <= 1e-3 and level[1] == pytest.approx(read_variance(level[0]))


def clean_and_noisy(**kwargs: object) -> tuple[dict, dict]:
    options = {"length": 2, "crop": 96, "seed": 5} | kwargs
    return SyntheticBlurClips("val", noise="none", **options)[1], SyntheticBlurClips("val", **options)[1]


def test_clip_noise_follows_a_x_plus_b_in_linear_light_and_spares_the_ground_truth() -> None:
    a = 8e-4
    clean, noisy = clean_and_noisy(noise_shot=(a, a), crop=128)
    for key in ("sharp", "flow", "mask"):
        assert torch.equal(clean[key], noisy[key]), key
    signal = srgb_to_linear(clean["blurry"])
    residual = srgb_to_linear(noisy["blurry"]) - signal
    slope, intercept = fit_variance(signal, residual, 0.03, 0.8)
    assert slope == pytest.approx(a, rel=0.15)
    assert abs(intercept - read_variance(a)) < 0.1 * a * 0.5  # b is tiny at this level: within 10 % of a·0.5


def test_noise_is_independent_across_frames_and_no_static_pixel_repeats() -> None:
    clean, noisy = clean_and_noisy(camera_motion_prob=0.0, max_objects=1, num_frames=3)
    unclipped = ((clean["blurry"] > 0.02) & (clean["blurry"] < 0.98)).any(1).all(0)  # a channel away from 0 and 1
    static = (noisy["mask"][0] == 0) & unclipped
    assert static.float().mean() > 0.3
    residual = (noisy["blurry"] - clean["blurry"])[:, :, static]  # (T, 3, P)
    corr = torch.corrcoef(residual.permute(0, 2, 1).reshape(3, -1))
    assert (corr - torch.eye(3)).abs().max() < 0.03
    for i, j in ((0, 1), (1, 2), (0, 2)):
        same_clean = (clean["blurry"][i] == clean["blurry"][j]).all(0)[static].float().mean()
        same_noisy = (noisy["blurry"][i] == noisy["blurry"][j]).all(0)[static].float().mean()
        assert same_clean > 0.3 and same_noisy == 0.0, (i, j, same_clean, same_noisy)


def test_noise_is_a_function_of_the_seed() -> None:
    first, again = (SyntheticBlurClips("train", length=2, crop=48, seed=2)[0] for _ in range(2))
    assert torch.equal(first["blurry"], again["blurry"])
    other = SyntheticBlurClips("train", length=2, crop=48, seed=2, noise_shot=(5e-4, 5e-4))[0]
    assert torch.equal(first["sharp"], other["sharp"]) and not torch.equal(first["blurry"], other["blurry"])


# Sums of clip 1 (crop 48, 5 sub-frames, seed 3) as rendered before sensor noise and the wide photo set existed.
EARLIER = {
    "train": (9447.19391289819, 9212.672516738065, 32657.91112743318),
    "val": (6858.367815048071, 6690.890138468296, 49615.04657060653),
    "test": (3577.3988893702626, 3518.3943945597857, 84990.96211910248),
}


@pytest.mark.parametrize("split", sorted(EARLIER))
def test_none_with_the_legacy_photos_reproduces_the_earlier_clips(split: str) -> None:
    item = SyntheticBlurClips(split, length=4, crop=48, blur_subframes=5, seed=3, noise="none", photos="legacy")[1]
    sums = (item["blurry"].double().sum(), item["sharp"].double().sum(), item["flow"].double().abs().sum())
    assert tuple(float(v) for v in sums) == pytest.approx(EARLIER[split], rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [({"noise": "gauss"}, "noise"), ({"noise_shot": (0.0, 1e-3)}, "noise_shot"), ({"noise_read": -1.0}, "noise_read")],
)
def test_bad_noise_options_name_the_option(kwargs: dict, option: str) -> None:
    with pytest.raises(ValueError, match=rf"^{option} must be"):
        SyntheticBlurClips("val", length=1, **kwargs)
