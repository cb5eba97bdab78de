"""The launch-budget counter counts what eager PyTorch dispatches: the same ops as the profiler records, not the
``detach`` calls that an active dispatch mode alone receives when autograd saves an op's output."""

from __future__ import annotations

import torch
from torch import nn
from torch.profiler import profile

from benchmarks.step import OpCounter


def test_counter_matches_the_profilers_detaches() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    conv = nn.Conv2d(4, 4, 3, padding=1)

    def step() -> None:
        conv.zero_grad(set_to_none=True)
        x.grad = None
        y = nn.functional.leaky_relu(conv(x), inplace=True)  # in-place, its output saved for backward
        torch.tanh(y).sum().backward()  # tanh saves its output too
        y.detach()

    step()
    with profile() as prof:
        step()
    profiled = {e.key: e.count for e in prof.key_averages()}
    with OpCounter() as counter:
        step()
    # autograd's accumulation detaches the three new gradients, and the step one output: 4, as profiled
    assert counter.ops["aten.detach"] == profiled["aten::detach"] == 4
    assert counter.ops["aten.leaky_relu_backward"] == counter.ops["aten.tanh_backward"] == 1
    assert counter.views == 4 + counter.ops["aten.expand"]
