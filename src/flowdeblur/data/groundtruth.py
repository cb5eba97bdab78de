"""Exact ground truth of a rendered scene: flow from the target frame and the moving-region mask.

Each target pixel belongs to one layer: the front-most object whose alpha at the target's sharp instant is
>= 0.5, else the background. Its flow is that layer's motion, composed analytically from the layer's poses.

Moving vs static: a pixel is *moving* when, over the target frame's exposure,
- the background point seen there at the sharp (middle) instant is more than ``threshold`` px away from it at
  the exposure's first or last sub-frame, or
- an object touches it (alpha > 0) at some sub-frame of the exposure and that object's point there is more
  than ``threshold`` px away at the exposure's first or last sub-frame.
So with a still camera, static pixels' blurry values equal their sharp values exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor

from flowdeblur.data.affine import Box, apply_on_box, relative
from flowdeblur.data.render import ObjectCoverage
from flowdeblur.data.scene import Layer, Scene


def _displacement(layer: Layer, box: Box, anchor: int, targets: list[int]) -> Tensor:
    """-> (len(targets), bh, bw, 2): where the layer point seen at each box pixel at ``anchor`` is at each
    target sub-frame, minus the pixel; on the device of the layer's texture."""
    return apply_on_box(relative(layer.poses, anchor, targets).to(layer.texture.device), box)


def _layers(scene: Scene, coverage: list[ObjectCoverage | None]) -> list[tuple[Layer, ObjectCoverage]]:
    return [(layer, cover) for layer, cover in zip(scene.objects, coverage, strict=True) if cover is not None]


def ground_truth_flow(
    scene: Scene, coverage: list[ObjectCoverage | None], size: tuple[int, int], anchor: int, neighbours: list[int]
) -> Tensor:
    """-> (len(neighbours), 2, H, W) flow (dx, dy) px from sub-frame ``anchor`` to each neighbour sub-frame,
    for backward warping: ``frame[anchor](p) ~= frame[n](p + flow(p))``.

    ``coverage``: each object's coverage during the target's exposure, whose middle sub-frame is ``anchor``.
    """
    h, w = size
    flow = _displacement(scene.background, (0, 0, w, h), anchor, neighbours)
    for layer, cover in _layers(scene, coverage):
        x0, y0, x1, y1 = cover.box
        owns = cover.alpha[len(cover.alpha) // 2, 0, :, :, None] >= 0.5
        region = flow[:, y0:y1, x0:x1]
        region.copy_(torch.where(owns, _displacement(layer, cover.box, anchor, neighbours), region))
    return flow.permute(0, 3, 1, 2).contiguous()


def motion_mask(
    scene: Scene,
    coverage: list[ObjectCoverage | None],
    size: tuple[int, int],
    anchor: int,
    exposure: range,
    threshold: float,
) -> Tensor:
    """-> (1, H, W) float {0, 1}: 1 where the target frame is moving (module docstring) during the
    ``exposure`` sub-frames; ``coverage`` as in :func:`ground_truth_flow`."""
    h, w = size

    def travels(layer: Layer, box: Box) -> Tensor:
        ends = [exposure[0], exposure[-1]]
        return _displacement(layer, box, anchor, ends).norm(dim=-1).amax(0) > threshold

    moving = travels(scene.background, (0, 0, w, h))
    for layer, cover in _layers(scene, coverage):
        x0, y0, x1, y1 = cover.box
        swept = cover.alpha[:, 0].amax(0) > 0
        moving[y0:y1, x0:x1] |= swept & travels(layer, cover.box)
    return moving[None].to(torch.float32)
