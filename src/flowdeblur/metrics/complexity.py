"""Parameter counts and multiply–accumulate counts of a network."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from flowdeblur.network import FlowDeblurNet


def count_parameters(net: nn.Module) -> dict[str, int]:
    """``total`` and one entry per direct child module (e.g. flow, deblurrer, heads), trainable parameters only."""
    counts = {"total": sum(p.numel() for p in net.parameters() if p.requires_grad)}
    for name, child in net.named_children():
        counts[name] = sum(p.numel() for p in child.parameters() if p.requires_grad)
    return counts


def effective_parameters(net: FlowDeblurNet, height: int, width: int, seed: int = 0) -> int:
    """Parameters on a gradient path to the restored frame, measured by one backward pass.

    A copy of ``net`` (eval mode, float32) has every parameter perturbed by N(0, 0.01²) noise, so that
    zero-initialised layers (output convs, flow heads) do not hide the paths behind them; the restored frame of
    a random (1, T, 3, H, W) window (the network's own T and target) is projected on a random direction and
    back-propagated. A parameter tensor counts (all its elements) when any of its gradient entries is non-zero.
    Parts that only feed training losses (e.g. the finest flow head, which feeds the warping loss but no motion
    feature) or that never run do not count.
    """
    generator = torch.Generator().manual_seed(seed)
    probe = copy.deepcopy(net).float().eval()
    with torch.no_grad():
        for param in probe.parameters():
            param.add_(0.01 * torch.randn(param.shape, generator=generator))
    frames = torch.rand(1, net.num_frames, 3, height, width, generator=generator)
    restored = probe(frames, net.target).restored
    (restored * torch.randn(restored.shape, generator=generator)).sum().backward()
    return sum(p.numel() for p in probe.parameters() if p.grad is not None and bool(p.grad.ne(0).any()))


@torch.no_grad()
def count_macs(net: FlowDeblurNet, height: int, width: int) -> int:
    """Multiply–accumulates of one forward pass on a (1, T, 3, H, W) window (the network's own T and target),
    counted by torch's FLOP counter.

    Counts convolutions, matrix products and other ops torch's counter knows (FLOPs / 2); element-wise ops
    such as the gated scan's recurrences are not counted.
    """
    frames = torch.rand(1, net.num_frames, 3, height, width)
    was_training = net.training
    net.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        net(frames, net.target)
    net.train(was_training)
    return counter.get_total_flops() // 2
