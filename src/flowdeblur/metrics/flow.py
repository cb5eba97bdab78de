"""Flow accuracy against ground truth."""

from __future__ import annotations

from torch import Tensor

from flowdeblur.ops.warp import upsample_flow


def end_point_error_map(flows: dict[int, Tensor], gt: Tensor) -> Tensor:
    """Per-pixel end-point error of the finest predicted flow.

    Args:
        flows: level -> (B, T-1, 2, H', W') predicted flow in pixels of that level; H', W' may be padded sizes.
        gt: (B, T-1, 2, H, W) ground-truth flow at full resolution, in pixels.

    Returns:
        (B, T-1, H, W) ``||flow - gt||``, the prediction upsampled to full resolution (and cropped to H, W).
    """
    level = min(flows)
    pred = upsample_flow(flows[level].float(), 2**level)[..., : gt.shape[-2], : gt.shape[-1]]
    return (pred - gt.float()).norm(dim=2)


def end_point_error(flows: dict[int, Tensor], gt: Tensor) -> Tensor:
    """(B,) mean over neighbours and pixels of :func:`end_point_error_map`."""
    return end_point_error_map(flows, gt).flatten(1).mean(1)
