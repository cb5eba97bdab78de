"""The ``aligned`` deblurrer input: the window with every neighbour backward-warped onto the target frame."""

from __future__ import annotations

import torch
from torch import Tensor

from flowdeblur.flow.base import neighbour_indices
from flowdeblur.ops.warp import upsample_flow, warp


def align_window(frames: Tensor, target: int, flows: dict[int, Tensor]) -> Tensor:
    """(B, T, 3, H, W), target, level -> flows (B, T-1, 2, H >> l, W >> l) -> (B, T, 3, H, W).

    The finest level's flow (target -> neighbour, pixels of its level, :mod:`flowdeblur.flow.base`) is upsampled
    to full resolution and each neighbour warped with it (``out(p) = neighbour(p + flow(p))``, border padding);
    the target frame stays as it is. Gradients reach the flow, so it also learns from the restoration loss.
    """
    level = min(flows)
    b, t, c, h, w = frames.shape
    flow = upsample_flow(flows[level], 2**level)[..., :h, :w]
    others = neighbour_indices(t, target)
    warped, _ = warp(frames[:, others].flatten(0, 1), flow.flatten(0, 1), padding_mode="border")
    warped = warped.to(frames.dtype).unflatten(0, (b, t - 1))
    out = [frames[:, target : target + 1]] * t
    for slot, j in enumerate(others):
        out[j] = warped[:, slot : slot + 1]
    return torch.cat(out, dim=1)
