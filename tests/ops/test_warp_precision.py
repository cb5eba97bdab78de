"""The warp and flow up-sampling compute positions in float32 whatever the autocast or the flow's dtype."""

from __future__ import annotations

import pytest
import torch

from flowdeblur.ops.warp import upsample_flow, warp, warp_image


def subpixel_flow(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """(1, 2, H, W) bf16 flow of 0.3 px plus smooth sub-pixel variation, as a bf16 backbone would output."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 2, 4, 8, generator=generator) - 0.5
    flow = 0.3 + torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear")
    return flow.to(torch.bfloat16)


@pytest.mark.parametrize("width", [64, 160, 320, 640, 1280])
def test_bf16_autocast_warp_equals_fp32(width: int) -> None:
    image = torch.rand(1, 3, 24, width, generator=torch.Generator().manual_seed(1))
    flow = subpixel_flow(24, width)
    reference, valid_reference = warp(image, flow.float())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        warped, valid = warp(image, flow)
        warped_bf16_image, _ = warp(image.to(torch.bfloat16), flow)
    assert warped.dtype == torch.float32
    assert (warped - reference).abs().max() <= 1e-3
    assert torch.equal(valid, valid_reference)
    # a bf16 image is only rounded once (its values), never its sampling positions
    assert (warped_bf16_image - reference).abs().max() <= 2**-8


def test_a_bf16_grid_would_be_wrong_at_these_widths() -> None:
    """The error the float32 grid prevents: positions rounded to bf16 at x ~ 600 are off by up to 2 px."""
    xs = torch.arange(600, 640, dtype=torch.float32) + 0.3
    assert (xs.to(torch.bfloat16).float() - xs).abs().max() >= 0.7


def test_upsample_flow_is_float32_under_autocast() -> None:
    flow = (torch.rand(2, 1, 2, 16, 40, generator=torch.Generator().manual_seed(2)) * 3).to(torch.bfloat16)
    reference = upsample_flow(flow.float(), 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        up = upsample_flow(flow, 4)
    assert up.dtype == torch.float32 and torch.equal(up, reference)


def test_warp_image_is_warp_without_the_mask() -> None:
    g = torch.Generator().manual_seed(0)
    image, flow = torch.rand(2, 3, 9, 11, generator=g), 5 * torch.randn(2, 2, 9, 11, generator=g)
    warped, valid = warp(image, flow)
    assert 0 < float(valid.mean()) < 1
    torch.testing.assert_close(warp_image(image, flow), warped, rtol=0, atol=0)
