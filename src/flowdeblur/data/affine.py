"""Per-sub-frame affine maps between pixel coordinates, and their evaluation on pixel boxes.

Matrices are float64 ``(S, 3, 3)`` acting on homogeneous pixel coordinates ``(x, y, 1)`` (pixel centres at
integers, as in ``grid_sample(align_corners=True)`` and :func:`flowdeblur.ops.warp.warp`).
A box is ``(x0, y0, x1, y1)``, half-open: pixels ``x0 <= x < x1``, ``y0 <= y < y1``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

Box = tuple[int, int, int, int]


def similarity(translation: np.ndarray, angle: np.ndarray, log_scale: np.ndarray, origin: np.ndarray) -> Tensor:
    """translation (S, 2), angle (S,) rad, log_scale (S,), origin (2,) -> (S, 3, 3) float64.

    Maps ``x -> translation + exp(log_scale) * R(angle) @ (x - origin)``.
    """
    scale = np.exp(log_scale)
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    matrices = np.zeros((len(angle), 3, 3))
    matrices[:, 0, 0], matrices[:, 0, 1] = cos, -sin
    matrices[:, 1, 0], matrices[:, 1, 1] = sin, cos
    matrices[:, :2, 2] = translation - np.einsum("sij,j->si", matrices[:, :2, :2], origin)
    matrices[:, 2, 2] = 1.0
    return torch.from_numpy(matrices)


def pixel_to_normalized(height: int, width: int) -> Tensor:
    """(3, 3) float64 map from pixel coordinates of a ``height x width`` image to grid_sample's [-1, 1]."""
    return torch.tensor(
        [[2.0 / max(width - 1, 1), 0.0, -1.0], [0.0, 2.0 / max(height - 1, 1), -1.0], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )


def apply_on_box(matrices: Tensor, box: Box) -> Tensor:
    """(S, 3, 3) (or (S, 2, 3)) evaluated at every pixel of ``box`` -> (S, y1 - y0, x1 - x0, 2) float32, on the
    matrices' device."""
    x0, y0, x1, y1 = box
    device = matrices.device
    xs = torch.arange(x0, x1, dtype=torch.float32, device=device)
    ys = torch.arange(y0, y1, dtype=torch.float32, device=device)[:, None]
    rows = matrices[:, :2, :, None, None].to(torch.float32)
    out = torch.empty(len(matrices), y1 - y0, x1 - x0, 2, device=device)
    for c in range(2):
        out[..., c] = rows[:, c, 0] * xs + (rows[:, c, 1] * ys + rows[:, c, 2])
    return out


def relative(matrices: Tensor, source: int, targets: list[int]) -> Tensor:
    """Displacement maps: (S, 3, 3) screen -> layer maps -> (len(targets), 3, 3) ``inv(M_t) @ M_source - I``.

    Evaluated at a screen pixel ``p`` (see :func:`apply_on_box`): where the layer point seen at ``p`` at
    sub-frame ``source`` is seen at sub-frame ``t``, minus ``p``; i.e. the flow from ``source`` to ``t``.
    """
    moved = torch.linalg.inv(matrices[targets]) @ matrices[source]
    return moved - torch.eye(3, dtype=matrices.dtype)


def screen_bounds(matrices: Tensor, height: int, width: int) -> Tensor:
    """(S, 3, 3) maps, image size -> (2, 2) float64 ``[[x_min, y_min], [x_max, y_max]]``: the bounds of the
    image's corners mapped by every matrix."""
    corners = torch.tensor(
        [[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1]], dtype=torch.float64
    )
    points = (matrices[:, :2] @ corners.T).permute(0, 2, 1).reshape(-1, 2)
    return torch.stack((points.min(0).values, points.max(0).values))
