"""Throughput options applied to a built network (``compile`` and ``channels_last`` in conf/train.yaml)."""

from __future__ import annotations

import torch

from flowdeblur.network import FlowDeblurNet


def tune_network(net: FlowDeblurNet, compile_net: bool = False, channels_last: bool = False) -> None:
    """In place: channels-last weights and/or a compiled network.

    ``channels_last`` stores 4-D weights in channels-last order, which convolutions then keep for their
    outputs (faster with bf16 autocast on GPUs, and on CPUs). ``compile_net`` wraps the whole network's
    forward (flow backbone, its warping losses, weight heads, deblurrer) in ``torch.compile``: one graph, no
    break (tests/test_compile.py), so the scan and cost volume stay single custom-op nodes and the elementwise
    chains fuse. Compilation happens at the first call and parameter names do not change, so checkpoints load
    with or without it.
    """
    if channels_last:
        # Module.to takes memory_format at run time; its typing overloads omit it
        net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if compile_net:
        net.compile()
