"""``torch.compile`` sees the default network whole: no graph break in the forward under bf16 autocast (the scan
and the cost volume are single custom-op nodes), and its training loss differentiates through the compiled
graph to the eager gradients."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from torch import Tensor, nn

from flowdeblur.config import compose_config
from flowdeblur.network import FlowDeblurNet, build_net

SIZE = 64


def default_net() -> tuple[FlowDeblurNet, nn.Module]:
    """The default network (64x64 frames, one sample) and its reconstruction loss, from the default config."""
    torch.manual_seed(0)
    cfg = compose_config([])
    return build_net(cfg.model), instantiate(cfg.model.loss)


def window(net: FlowDeblurNet) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(1)
    frames = torch.rand(1, net.num_frames, 3, SIZE, SIZE, generator=generator)
    return frames, frames[:, net.target]


def training_loss(net: FlowDeblurNet, loss: nn.Module, frames: Tensor, sharp: Tensor) -> Tensor:
    """The training step's objective: reconstruction terms plus the flow backbone's own terms."""
    out = net(frames, net.target)
    terms = dict(loss(out.restored, sharp))
    terms.update(out.motion.losses)
    return torch.stack(list(terms.values())).sum()


@pytest.mark.parametrize("training", [True, False])
def test_forward_has_no_graph_break_under_bf16_autocast(training: bool) -> None:
    net, _ = default_net()
    frames, _ = window(net)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        explanation = torch._dynamo.explain(net.train(training))(frames, net.target)
    assert explanation.graph_break_count == 0, [str(b.reason) for b in explanation.break_reasons]
    assert explanation.graph_count == 1


@pytest.mark.slow
def test_training_loss_compiles_whole_and_matches_eager_gradients() -> None:
    """fullgraph=True (an error at any break) through AOTAutograd, in float32 and under bf16 autocast: forward
    and backward graphs are traced, the custom ops' backward included; the compiled gradients equal the eager
    ones."""
    net, loss = default_net()
    frames, sharp = window(net)
    net.train()
    eager = training_loss(net, loss, frames, sharp)
    eager_grads = torch.autograd.grad(eager, list(net.parameters()), allow_unused=True)
    torch._dynamo.reset()
    compiled_fn = torch.compile(training_loss, backend="aot_eager", fullgraph=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        eager_bf16 = training_loss(net, loss, frames, sharp)
        compiled_bf16 = compiled_fn(net, loss, frames, sharp)
    torch.testing.assert_close(compiled_bf16, eager_bf16)
    compiled = compiled_fn(net, loss, frames, sharp)
    compiled_grads = torch.autograd.grad(compiled, list(net.parameters()), allow_unused=True)
    torch.testing.assert_close(compiled, eager)
    for got, want in zip(compiled_grads, eager_grads, strict=True):
        assert (got is None) == (want is None)
        if got is not None:
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
