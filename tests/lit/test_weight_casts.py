"""Convolution weights cast together once per forward compute what autocast's per-call casts compute: the same
bf16 values in the same layouts, the same float32 gradients, no gradient for an unused weight; the training
step's loss and gradients are those of the network under plain autocast. The kept copies
(:class:`WeightCasts`) do so over steps, with accumulation, a second forward before backward and replaced
parameters, in two dispatched ops per step."""

from __future__ import annotations

import copy

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.func import functional_call

from benchmarks.step import OpCounter
from flowdeblur.build import build_module
from flowdeblur.config import compose_config
from flowdeblur.lit.module import FlowDeblurModule
from flowdeblur.lit.weight_casts import WeightCasts, autocast_dtype, cast_conv_weights, castable_weights


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


INPUT = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))


def autocast_loss(net: nn.Module, casts: WeightCasts | None, scale: float = 1.0) -> Tensor:
    """The small net's loss under bf16 autocast: plain (``casts`` None) or with the kept copies."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(INPUT) if casts is None else functional_call(net, casts.cast(net, torch.bfloat16), (INPUT,))
    return out.float().square().mean() * scale


def assert_same_gradients(net: nn.Module, reference: nn.Module) -> None:
    for (name, param), ref in zip(net.named_parameters(), reference.parameters(), strict=True):
        assert (param.grad is None) == (ref.grad is None), name
        if ref.grad is not None:
            assert param.grad.dtype == torch.float32
            assert torch.equal(param.grad, ref.grad), name


def test_kept_copies_give_plain_autocast_losses_and_gradients_over_steps() -> None:
    net = small_net()
    reference = copy.deepcopy(net)
    casts = WeightCasts()
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (net, reference)]
    for _ in range(3):
        losses = [autocast_loss(net, casts), autocast_loss(reference, None)]
        assert torch.equal(*losses)
        for loss in losses:
            loss.backward()
        assert_same_gradients(net, reference)
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    kept = [c.data_ptr() for c in casts.copies]
    autocast_loss(net, casts).backward()
    assert [c.data_ptr() for c in casts.copies] == kept  # the same copies, refilled


def test_kept_copies_accumulate_and_recast_while_a_graph_is_pending() -> None:
    net = small_net()
    reference = copy.deepcopy(net)
    casts = WeightCasts()
    first, second = autocast_loss(net, casts), autocast_loss(net, casts, scale=2.0)  # two graphs alive
    second.backward()
    first.backward()  # its copies were not overwritten by the second forward
    autocast_loss(net, casts, scale=3.0).backward()  # accumulates onto .grad
    for scale in (2.0, 1.0, 3.0):
        autocast_loss(reference, None, scale).backward()
    for param, ref in zip(net.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(param.grad, ref.grad, rtol=1e-6, atol=0)


def test_kept_copies_follow_a_replaced_parameter_and_leave_unused_weights_without_gradient() -> None:
    net = small_net()
    casts = WeightCasts()
    autocast_loss(net, casts).backward()
    net.zero_grad(set_to_none=True)
    net[0].weight = nn.Parameter(torch.randn(8, 3, 3, 3))
    reference = copy.deepcopy(net)
    autocast_loss(net, casts).backward()
    autocast_loss(reference, None).backward()
    assert_same_gradients(net, reference)
    copies = casts.cast(net, torch.bfloat16)
    (copies["0.weight"].float().sum()).backward()
    assert net[1].weight.grad is not None  # from before: the unused weights keep what they had
    net.zero_grad(set_to_none=True)
    (casts.cast(net, torch.bfloat16)["0.weight"].float().sum()).backward()
    assert net[0].weight.grad is not None and net[1].weight.grad is None and net[3].bias.grad is None


def test_kept_copies_dispatch_two_ops_per_step() -> None:
    net = small_net()
    casts = WeightCasts()
    autocast_loss(net, casts).backward()
    net.zero_grad(set_to_none=True)
    reference, plain = copy.deepcopy(net), OpCounter()
    with plain:
        autocast_loss(reference, None).backward()
    counter = OpCounter()
    with counter:
        autocast_loss(net, casts).backward()
    assert counter.ops["aten._foreach_copy_"] == 2
    assert counter.ops["aten.as_strided"] == 0
    assert plain.ops["aten._to_copy"] - counter.ops["aten._to_copy"] == 12  # 6 weights, cast there and back
    # autograd's accumulation detaches each new gradient: the norm's 2 here, all 8 parameters' under autocast
    assert (counter.ops["aten.detach"], plain.ops["aten.detach"]) == (2, 8)


def module_gradients(module: FlowDeblurModule, frames: Tensor) -> tuple[dict[str, Tensor | None], int, int]:
    """The module's gradients after one bf16 training forward and backward, how many parameters' gradient hooks
    saw a gradient, and how many post-accumulate-grad hooks saw ``.grad`` set."""
    seen, after = [], []
    params = list(module.net.parameters())
    handles = [p.register_hook(lambda g: seen.append(g is not None)) for p in params]
    handles += [p.register_post_accumulate_grad_hook(lambda p: after.append(p.grad is not None)) for p in params]
    module.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(frames, module.net.target)
    out.restored.float().square().mean().backward()
    for handle in handles:
        handle.remove()
    return {n: p.grad for n, p in module.net.named_parameters()}, sum(seen), sum(after)


def test_under_a_process_group_gradients_pass_through_autograd_for_ddps_hooks(tmp_path) -> None:
    torch.manual_seed(0)
    overrides = ["lpips_metric=false", "~model/head", "~model/layer", "model/flow=zero"]
    module = build_module(compose_config([*overrides, "model.deblurrer.channels=[8,8,16,16]"], output_dir=tmp_path))
    frames = torch.rand(1, module.net.num_frames, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    kept, seen_kept, after_kept = module_gradients(module, frames)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'group'}", rank=0, world_size=1)
    try:
        flat, seen_flat, after_flat = module_gradients(module, frames)
    finally:
        dist.destroy_process_group()
    total = len(list(module.net.parameters()))
    uncast = total - len(castable_weights(module.net))
    # kept copies: .grad is set before autograd's accumulation, whose gradient hooks see none
    assert (seen_kept, after_kept) == (uncast, total)
    assert (seen_flat, after_flat) == (total, total)
    for name, grad in flat.items():
        assert grad is not None and torch.equal(grad, kept[name]), name
