"""Batched ``grid_sample`` renderer of a :class:`~flowdeblur.data.scene.Scene`, and the linear-light
exposure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.data.affine import Box, apply_on_box, pixel_to_normalized, screen_bounds
from flowdeblur.data.color import linear_to_srgb
from flowdeblur.data.scene import Layer, Scene


@dataclass
class ObjectCoverage:
    """Where one object was drawn during one frame's exposure: its screen ``box`` and its alpha
    (N, 1, y1 - y0, x1 - x0) at each of the N sub-frames."""

    box: Box
    alpha: Tensor


def sample_layer(layer: Layer, box: Box) -> Tensor:
    """Layer texture (C, h, w) seen through its poses (S, 3, 3) at the pixels of ``box`` -> (S, C, bh, bw).

    The poses stay float64 on the CPU; the sampling grid is made on the texture's device."""
    _, h, w = layer.texture.shape
    grid = apply_on_box((pixel_to_normalized(h, w) @ layer.poses).to(layer.texture.device), box)
    texture = layer.texture[None].expand(len(grid), -1, -1, -1)
    return F.grid_sample(texture, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def object_box(layer: Layer, size: tuple[int, int]) -> Box | None:
    """Screen box (clipped to ``size`` (H, W)) covering the layer's texture at every sub-frame of its poses;
    None if off-screen."""
    _, h, w = layer.texture.shape
    low, high = screen_bounds(torch.linalg.inv(layer.poses), h, w)
    x0, y0 = (max(0, int(v)) for v in torch.floor(low).tolist())
    x1, y1 = (min(limit, int(v) + 1) for v, limit in zip(torch.ceil(high).tolist(), size[::-1], strict=True))
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def _background(layer: Layer, size: tuple[int, int]) -> Tensor:
    """-> (S, 3, H, W) background sub-frames; a still camera is sampled once and repeated."""
    full = (0, 0, size[1], size[0])
    if bool((layer.poses == layer.poses[:1]).all()):
        return sample_layer(Layer(layer.texture, layer.poses[:1]), full).repeat(len(layer.poses), 1, 1, 1)
    return sample_layer(layer, full)


def _composite(frames: Tensor, layer: Layer, size: tuple[int, int]) -> ObjectCoverage | None:
    """Draw ``layer`` (RGBA texture, one pose per sub-frame) over ``frames`` (N, 3, H, W) in place, inside
    its box."""
    box = object_box(layer, size)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    rgba = sample_layer(layer, box)
    alpha = rgba[:, 3:]
    frames[:, :, y0:y1, x0:x1].mul_(1.0 - alpha).add_(rgba[:, :3] * alpha)
    return ObjectCoverage(box, alpha)


def render_subframes(
    scene: Scene, size: tuple[int, int], blur_subframes: int
) -> tuple[Tensor, list[list[ObjectCoverage | None]]]:
    """Scene, (H, W), N -> sub-frames (T * N, 3, H, W) in linear light, and for each frame (group of N
    sub-frames) each object's coverage during that exposure (None if off-screen).

    Objects are drawn frame by frame, each inside the box it sweeps during that frame's exposure.
    """
    frames = _background(scene.background, size)
    coverage = []
    for start in range(0, len(frames), blur_subframes):
        exposure = slice(start, start + blur_subframes)
        coverage.append(
            [_composite(frames[exposure], Layer(layer.texture, layer.poses[exposure]), size) for layer in scene.objects]
        )
    return frames, coverage


def expose(
    subframes: Tensor, blur_subframes: int, noise: Callable[[Tensor], Tensor] | None = None
) -> tuple[Tensor, Tensor]:
    """(T * N, 3, H, W) linear sub-frames, N = ``blur_subframes`` (odd) -> blurry, sharp (T, 3, H, W) sRGB.

    Each blurry frame is the mean of its N consecutive sub-frames in linear light, with sensor ``noise``
    (linear -> linear, :mod:`flowdeblur.data.noise`) added before the sRGB encoding; its sharp frame is the
    middle sub-frame, noise-free.
    """
    s, c, h, w = subframes.shape
    groups = subframes.view(s // blur_subframes, blur_subframes, c, h, w)
    blurry = groups.mean(1)
    if noise is not None:
        blurry = noise(blurry)
    return linear_to_srgb(blurry), linear_to_srgb(groups[:, blur_subframes // 2])
