"""U-Net deblurrer stems: the space-to-depth stem runs no convolution at full resolution and keeps the contract."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flowdeblur.config import compose_config
from flowdeblur.deblurrers.unet import UNetDeblurrer
from flowdeblur.layers.spatial_rnn import SpatialRNN
from flowdeblur.network import build_net


def test_space_to_depth_stem_has_no_full_resolution_convolution() -> None:
    torch.manual_seed(0)
    net = build_net(compose_config(["model.deblurrer.stem=space_to_depth"]).model).eval()
    assert net.deblurrer.stride == 16
    widths = {level: layer.channels for level, layer in net.deblurrer.weight_specs.items()}
    assert widths == {1: 4 * 24, 2: 4 * 48, 3: 4 * 72}  # gates of the stem's and the first two stages' widths
    sizes: list[tuple[int, int]] = []
    for module in net.deblurrer.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_hook(lambda m, inputs, out: sizes.append(tuple(inputs[0].shape[-2:])))
    frames = torch.rand(1, 3, 3, 64, 96)
    with torch.no_grad():
        restored = net(frames, 1).restored
    assert max(sizes) == (32, 48)
    torch.testing.assert_close(restored, frames[:, 1])  # zero-initialised residual: the identity at the start


def test_space_to_depth_stem_trains_every_parameter() -> None:
    torch.manual_seed(0)
    deblurrer = UNetDeblurrer(3, (8, 12, 16), layer=SpatialRNN, conditioned_levels=(1, 2), stem="space_to_depth")
    with torch.no_grad():  # trained-looking weights: the zero-initialised output would hide every other path
        for param in deblurrer.parameters():
            param.add_(0.05 * torch.randn_like(param))
    frames = torch.rand(2, 3, 3, 32, 32)
    weights = {level: torch.rand(2, 4 * width, 32 >> level, 32 >> level) for level, width in ((1, 8), (2, 12))}
    restored = deblurrer(frames, 1, weights)
    assert restored.shape == (2, 3, 32, 32)
    restored.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in deblurrer.parameters())


@pytest.mark.parametrize(
    ("stem", "levels", "message"),
    [
        ("space_to_depth", (0, 1), r"conditioned levels \[0\] .* space_to_depth stem \(valid: 1\.\.4\)"),
        ("full", (3, 4), r"conditioned levels \[4\] .* full stem \(valid: 1\.\.3\)"),
        ("pixel", (1,), r"model\.deblurrer\.stem: expected one of \['full', 'space_to_depth'\], got 'pixel'"),
    ],
)
def test_bad_stem_or_levels_name_the_option(stem: str, levels: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UNetDeblurrer(3, (8, 12, 16, 20), layer=SpatialRNN, conditioned_levels=levels, stem=stem)
