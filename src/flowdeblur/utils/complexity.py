"""Parameter counts and multiply–accumulate counts of a network."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(net: nn.Module) -> dict[str, int]:
    """``total`` and one entry per direct child module (e.g. flow, deblurrer, heads), trainable parameters only."""
    counts = {"total": sum(p.numel() for p in net.parameters() if p.requires_grad)}
    for name, child in net.named_children():
        counts[name] = sum(p.numel() for p in child.parameters() if p.requires_grad)
    return counts


@torch.no_grad()
def count_macs(net: nn.Module, num_frames: int, height: int, width: int, target: int | None = None) -> int:
    """Multiply–accumulates of one forward pass on a (1, T, 3, H, W) window, counted by torch's FLOP counter.

    Counts convolutions, matrix products and other ops torch's counter knows (FLOPs / 2); element-wise ops
    such as the gated scan's recurrences are not counted.
    """
    frames = torch.rand(1, num_frames, 3, height, width)
    target = num_frames // 2 if target is None else target
    was_training = net.training
    net.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        net(frames, target)
    net.train(was_training)
    return counter.get_total_flops() // 2
