"""DIS backbone: recovers a known translation, in the project's flow direction."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from flowdeblur.flow.dis import DISFlow, dis_flow
from flowdeblur.ops.warp import warp

SHIFT = (3, -2)
EXPECTED = torch.tensor(SHIFT, dtype=torch.float)
MARGIN = 16


@pytest.mark.parametrize("preset", ["ultrafast", "fast", "medium"])
def test_recovers_integer_translation(translated_pair: Callable[..., Tensor], preset: str) -> None:
    window = translated_pair(SHIFT, 128)
    flow = dis_flow(window[:, 0], window[:, 1:], preset)
    assert flow.shape == (1, 1, 2, 128, 128)
    interior = flow[0, 0, :, MARGIN:-MARGIN, MARGIN:-MARGIN].flatten(1)
    torch.testing.assert_close(interior.median(1).values, EXPECTED, atol=0.5, rtol=0)
    torch.testing.assert_close(interior.mean(1), EXPECTED, atol=0.5, rtol=0)


def test_flow_warps_neighbour_onto_target(translated_pair: Callable[..., Tensor]) -> None:
    """Backward-warp convention: warp(neighbour, flow) ~ target, and warp(neighbour, -flow) is not."""
    window = translated_pair(SHIFT, 128)
    flow = dis_flow(window[:, 0], window[:, 1:])[:, 0]
    inner = (..., slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    aligned = (warp(window[:, 1], flow)[0] - window[:, 0])[inner].abs().mean()
    reversed_ = (warp(window[:, 1], -flow)[0] - window[:, 0])[inner].abs().mean()
    assert aligned < 0.02 < reversed_


def test_levels_carry_the_flow_in_their_own_pixels(translated_pair: Callable[..., Tensor]) -> None:
    window = translated_pair(SHIFT, 128)
    backbone = DISFlow(2, levels=(1, 2), channels=(8, 8), preset="medium").eval()
    with torch.no_grad():
        out = backbone(window, 0)
    for level in (1, 2):
        border = MARGIN >> level
        mean = out.flows[level][0, 0, :, border:-border, border:-border].flatten(1).mean(1)
        torch.testing.assert_close(mean * 2**level, EXPECTED, atol=0.5, rtol=0)


def test_rejects_unknown_preset() -> None:
    with pytest.raises(ValueError, match="ultrafast"):
        DISFlow(3, preset="slow")
