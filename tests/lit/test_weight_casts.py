"""Convolution weights cast together once per forward compute what autocast's per-call casts compute: the same
bf16 values in the same layouts, the same float32 gradients, no gradient for an unused weight; the training
step's loss and gradients are those of the network under plain autocast."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flowdeblur.build import build_module
from flowdeblur.config import compose_config
from flowdeblur.lit.weight_casts import autocast_dtype, cast_conv_weights, castable_weights


def small_net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 4, 1), nn.LayerNorm(6), nn.Linear(6, 5))
    net[1].to(memory_format=torch.channels_last)
    return net


def test_casts_equal_per_tensor_casts_in_values_and_layout() -> None:
    net = small_net()
    cast = cast_conv_weights(net, torch.bfloat16)
    assert set(cast) == {"0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"}  # not the norm's
    for name, param in net.named_parameters():
        if name in cast:
            assert cast[name].dtype == torch.bfloat16
            assert cast[name].stride() == param.stride()
            assert torch.equal(cast[name], param.to(torch.bfloat16))


def test_gradients_equal_per_tensor_casts_and_unused_weights_get_none() -> None:
    net = small_net()
    probes = {
        name: torch.randn(p.shape, generator=torch.Generator().manual_seed(i))
        for i, (name, p) in enumerate(castable_weights(net).items())
    }
    used = ["0.weight", "1.weight", "3.bias"]

    def objective(weights: dict[str, Tensor]) -> Tensor:
        return sum((weights[name].float() * probes[name]).sum() for name in used)  # type: ignore[return-value]

    objective(cast_conv_weights(net, torch.bfloat16)).backward()
    together = {name: p.grad for name, p in net.named_parameters()}
    net.zero_grad(set_to_none=True)
    objective({name: p.to(torch.bfloat16) for name, p in castable_weights(net).items()}).backward()
    for name, param in net.named_parameters():
        if name in used:
            assert together[name] is not None and together[name].dtype == torch.float32
            assert together[name].stride() == param.stride()
            assert torch.equal(together[name], param.grad)
        else:
            assert together[name] is None and param.grad is None


def test_autocast_dtype_follows_the_active_autocast() -> None:
    assert autocast_dtype("cpu") is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert autocast_dtype("cpu") == torch.bfloat16
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=False):
        assert autocast_dtype("cpu") is None


def test_training_loss_and_gradients_equal_plain_autocast(tmp_path) -> None:
    """The default preset, channels-last as ``train`` builds it: the module's forward (weights cast together)
    against its network called directly (autocast casts per call)."""
    torch.manual_seed(0)
    cfg = compose_config(["lpips_metric=false", "channels_last=true"], output_dir=tmp_path)
    module = build_module(cfg)
    frames = torch.rand(2, module.net.num_frames, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    results = []
    for call in (module, module.net):
        module.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = call(frames, module.net.target)
            loss = out.restored.float().square().mean() + sum(out.motion.losses.values())
        loss.backward()
        results.append((loss.detach(), {n: p.grad for n, p in module.named_parameters()}))
    (loss_together, grads_together), (loss_plain, grads_plain) = results
    assert torch.equal(loss_together, loss_plain)
    assert grads_together.keys() == grads_plain.keys()
    for name, grad in grads_plain.items():
        assert (grad is None) == (grads_together[name] is None), name
        if grad is not None:
            torch.testing.assert_close(grads_together[name], grad, rtol=0, atol=0, msg=name)


def test_weights_with_gaps_are_left_to_autocast() -> None:
    net = nn.Conv2d(4, 4, 1)
    net.weight = nn.Parameter(torch.randn(4, 8, 1, 1)[:, ::2])  # every other input channel: not dense
    assert list(castable_weights(net)) == ["bias"]
