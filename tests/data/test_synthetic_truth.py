"""Synthetic clips' ground truth: flow reproduces the target by warping, mask semantics, linear-light blur."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from flowdeblur.data.color import linear_to_srgb, srgb_to_linear
from flowdeblur.data.render import expose
from flowdeblur.data.synthetic import SyntheticBlurClips
from flowdeblur.ops.warp import warp


def masked_psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    """(3, H, W) images, (1, H, W) mask -> PSNR (dB) over the masked pixels."""
    mse = ((a - b) ** 2 * mask).sum() / (3 * mask.sum())
    return float(10 * torch.log10(1 / mse))


def warp_psnrs(item: dict, region: torch.Tensor) -> list[float]:
    """PSNR of each neighbour's sharp frame warped onto the target with the GT flow, on valid ``region``."""
    t = item["target"]
    neighbours = [j for j in range(item["sharp"].shape[0]) if j != t]
    scores = []
    for k, j in enumerate(neighbours):
        warped, valid = warp(item["sharp"][j][None], item["flow"][k][None])
        mask = valid[0] * region
        assert mask.sum() > 50
        scores.append(masked_psnr(warped[0], item["sharp"][t], mask))
    return scores


def test_flow_warps_background_onto_target() -> None:
    dataset = SyntheticBlurClips("val", length=4, crop=96, max_objects=0, camera_motion_prob=1.0)
    scores = [s for i in range(4) for s in warp_psnrs(dataset[i], torch.ones(1, 96, 96))]
    assert min(scores) > 35.0
    assert sum(scores) / len(scores) > 38.0


def test_flow_warps_objects_onto_target() -> None:
    dataset = SyntheticBlurClips("val", length=4, crop=96, max_objects=1, max_speed=1.5, camera_motion_prob=0.0)
    for i in range(4):
        item = dataset[i]
        on_object = (item["flow"].norm(dim=1) > 0.01).any(0, keepdim=True).float()
        interior = 1.0 - F.max_pool2d(1.0 - on_object[None], 5, 1, 2)[0]
        assert min(warp_psnrs(item, interior)) > 42.0


def test_still_camera_without_objects_is_sharp_and_static() -> None:
    item = SyntheticBlurClips("val", length=1, crop=64, max_objects=0, camera_motion_prob=0.0, noise="none")[0]
    assert item["mask"].sum() == 0
    assert item["flow"].abs().max() < 1e-3
    assert torch.allclose(item["blurry"], item["sharp"], atol=1e-5)


def test_mask_covers_objects_and_static_pixels_are_unblurred() -> None:
    dataset = SyntheticBlurClips("val", length=6, crop=96, max_objects=3, camera_motion_prob=0.0, noise="none")
    for i in range(6):
        item = dataset[i]
        t, mask = item["target"], item["mask"]
        on_object = (item["flow"].norm(dim=1) > 0.01).any(0, keepdim=True)
        assert on_object.any() and mask[on_object].min() == 1.0
        assert 0.0 < mask.mean() < 1.0
        static = (mask == 0).expand(3, -1, -1)
        difference = (item["blurry"][t] - item["sharp"][t]).abs()[static]
        assert difference.max() < 1e-5


def test_moving_camera_moves_everything() -> None:
    dataset = SyntheticBlurClips("val", length=4, crop=64, max_objects=0, camera_motion_prob=1.0)
    for i in range(4):
        assert dataset[i]["mask"].mean() > 0.9


def test_mask_threshold_is_in_pixels() -> None:
    loose = SyntheticBlurClips("val", length=1, crop=64, camera_motion_prob=1.0, max_objects=0)[0]
    strict = SyntheticBlurClips(
        "val", length=1, crop=64, camera_motion_prob=1.0, max_objects=0, motion_threshold=1000.0
    )[0]
    assert loose["mask"].mean() > 0.9 and strict["mask"].sum() == 0


def test_srgb_round_trip_and_reference_values() -> None:
    x = torch.linspace(0, 1, 101)
    assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-6)
    assert srgb_to_linear(torch.tensor(0.5)).item() == pytest.approx(0.21404, abs=1e-5)
    assert linear_to_srgb(torch.tensor(0.5)).item() == pytest.approx(0.73536, abs=1e-5)


def test_blur_averages_in_linear_light() -> None:
    """Sub-frames 0, 0, 1, 1, 1 (linear): blurry = sRGB(0.6) = 0.7977, not the sRGB mean 0.6."""
    levels = torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0, 0.2, 0.2, 0.2, 0.2, 0.2]).view(10, 1, 1, 1)
    blurry, sharp = expose(levels.expand(10, 3, 4, 4), 5)
    assert blurry.shape == sharp.shape == (2, 3, 4, 4)
    assert torch.allclose(blurry[0], torch.full((3, 4, 4), 0.797752), atol=1e-5)
    assert torch.allclose(sharp[0], torch.ones(3, 4, 4))
    assert torch.allclose(blurry[1], sharp[1], atol=1e-6)


def test_constant_colour_scene_keeps_its_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = torch.tensor([200, 90, 30], dtype=torch.uint8).view(3, 1, 1).expand(3, 300, 400).contiguous()
    dataset = SyntheticBlurClips("val", length=3, crop=64, max_objects=0, camera_motion_prob=1.0, noise="none")
    monkeypatch.setattr(dataset, "photos", (photo,))
    for i in range(3):
        item = dataset[i]
        colour = item["sharp"][item["target"], :, :1, :1]
        assert torch.allclose(item["blurry"], colour.expand_as(item["blurry"]), atol=1e-5)
        assert torch.allclose(item["sharp"], colour.expand_as(item["sharp"]), atol=1e-5)
