"""Pyramid backbone: a few optimisation steps of its own warping loss on a translated pair learn the shift."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from flowdeblur.flow.pyramid import PyramidFlow


def test_parameter_count_is_light() -> None:
    assert sum(p.numel() for p in PyramidFlow(3).parameters()) < 500_000


def test_few_steps_lower_photometric_loss(translated_pair: Callable[..., Tensor]) -> None:
    torch.manual_seed(0)
    window = translated_pair((2, -2), 48)
    backbone = PyramidFlow(2, levels=(1, 2, 3), channels=(8, 12, 16), smoothness_weight=0.0).train()
    optimiser = torch.optim.Adam(backbone.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = backbone(window, 0).losses["flow/photometric"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        out = backbone(window, 0)
    assert float(out.losses["flow/photometric"]) < 0.5 * losses[0]
    mean_flow = out.flows[1][0, 0].flatten(1).mean(1)  # the shift is (1, -1) pixels at level 1
    torch.testing.assert_close(mean_flow, torch.tensor([1.0, -1.0]), atol=0.35, rtol=0)
