"""The flow branch learns object and camera motion from its own warping losses, in the configuration users run.

The default flow backbone (``model/flow``) is built from its config, trained for a few hundred steps under
bf16 autocast on synthetic clips with the self-supervised losses only, and its end-point error on the moving
pixels of held-out clips must fall well below that of zero flow.
"""

from __future__ import annotations

import torch
from hydra.utils import instantiate

from flowdeblur.config import compose_config
from flowdeblur.data.synthetic import SyntheticBlurClips
from flowdeblur.flow.pretrained import without_weights
from flowdeblur.metrics.flow import end_point_error_map

SCENES = {"crop": 64, "max_speed": 0.6, "seed": 0}
STEPS, BATCH = 250, 4


def moving_epe(flows: dict[int, torch.Tensor], gt: torch.Tensor, mask: torch.Tensor) -> float:
    """Pooled end-point error over the moving pixels (mask (B, 1, H, W)) of every neighbour."""
    error = end_point_error_map(flows, gt)
    moving = mask.expand_as(error)
    return float((error * moving).sum() / moving.sum())


def test_moving_region_epe_falls_with_the_warping_losses_alone() -> None:
    torch.manual_seed(0)
    cfg = compose_config([])
    backbone = instantiate(without_weights(cfg.model.flow)).train()  # from scratch
    assert backbone.warping_loss.photometric_weight > 0
    train = SyntheticBlurClips("train", length=STEPS * BATCH, **SCENES)
    val = SyntheticBlurClips("val", length=16, **SCENES)
    held_out = {key: torch.stack([val[i][key] for i in range(len(val))]) for key in ("blurry", "flow", "mask")}
    target = int(val[0]["target"])
    zero_flow = moving_epe({1: torch.zeros_like(held_out["flow"][..., ::2, ::2])}, held_out["flow"], held_out["mask"])

    optimiser = instantiate(cfg.optim.optimizer)(backbone.parameters())
    for step in range(STEPS):
        frames = torch.stack([train[step * BATCH + i]["blurry"] for i in range(BATCH)])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = sum(backbone(frames, target).losses.values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    backbone.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        learned = moving_epe(backbone(held_out["blurry"], target).flows, held_out["flow"], held_out["mask"])
    assert zero_flow > 3.0  # a few pixels of motion to learn
    assert learned < 0.9 * zero_flow, (learned, zero_flow)
