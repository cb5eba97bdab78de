"""Contract of every conditioned layer with every weight source that can drive it.

Sources: the matching weight head fed with backbone features (``flow``; the ``content`` source feeds the same
heads with features of a motion-free window, tested in ``tests/sources``), and :class:`StaticWeights`
(``static``).
Checked for each: output shape and finiteness, gradients reaching every learnable parameter, determinism
under a seed, and a state_dict round trip.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import Tensor, nn

from flowdeblur.heads.filters import FiltersHead
from flowdeblur.heads.kernels import KernelsHead
from flowdeblur.heads.rnn_gates import RNNGatesHead
from flowdeblur.layers.base import ConditionedLayer, WeightSpec
from flowdeblur.layers.dynamic_conv import DynamicConv
from flowdeblur.layers.filter_adaptive_conv import FilterAdaptiveConv
from flowdeblur.layers.spatial_rnn import SpatialRNN
from flowdeblur.sources.static_scalar import StaticWeights

CHANNELS, MOTION_CHANNELS, SIZE = 4, 6, 12


@dataclass(frozen=True)
class Pair:
    layer: Callable[[int], ConditionedLayer]
    head: Callable[[int, WeightSpec], nn.Module]


PAIRS = {
    "spatial_rnn/rnn_gates": Pair(SpatialRNN, RNNGatesHead),
    "spatial_rnn/rnn_gates_hidden": Pair(SpatialRNN, lambda c, s: RNNGatesHead(c, s, hidden=5)),
    "fac/filters_softmax": Pair(FilterAdaptiveConv, FiltersHead),
    "fac_grouped_k5/filters_none_hidden": Pair(
        lambda c: FilterAdaptiveConv(c, kernel_size=5, groups=2),
        lambda c, s: FiltersHead(c, s, "none", hidden=5),
    ),
    "fac_shared/filters_softmax": Pair(lambda c: FilterAdaptiveConv(c, groups=1), FiltersHead),
    "dynamic_conv/kernels": Pair(DynamicConv, KernelsHead),
    "dynamic_conv_k1/kernels_2_experts": Pair(
        lambda c: DynamicConv(c, kernel_size=1), lambda c, s: KernelsHead(c, s, num_experts=2)
    ),
}
SOURCES = ("flow", "static")
CASES = [(pair, source) for pair in PAIRS for source in SOURCES]
IDS = [f"{pair}-{source}" for pair, source in CASES]


class Conditioned(nn.Module):
    """A conditioned layer and its weight source: (x, motion) -> y."""

    def __init__(self, pair: Pair, source: str) -> None:
        super().__init__()
        self.layer = pair.layer(CHANNELS)
        self.source = source
        spec = self.layer.weight_spec
        self.static = StaticWeights(spec) if source == "static" else None
        self.head = pair.head(MOTION_CHANNELS, spec) if source != "static" else None

    def weights(self, x: Tensor, motion: Tensor) -> Tensor:
        b, _, h, w = x.shape
        return self.static(b, h, w) if self.static is not None else self.head(motion)

    def forward(self, x: Tensor, motion: Tensor) -> Tensor:
        return self.layer(x, self.weights(x, motion))


def build(pair: str, source: str, seed: int = 0) -> Conditioned:
    torch.manual_seed(seed)
    return Conditioned(PAIRS[pair], source)


def batch(seed: int = 1) -> tuple[Tensor, Tensor]:
    """x (2, C, S, S), motion features (2, C_m, S, S)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, CHANNELS, SIZE, SIZE, generator=generator)
    motion = torch.randn(2, MOTION_CHANNELS, SIZE, SIZE, generator=generator)
    return x, motion


@pytest.mark.parametrize(("pair", "source"), CASES, ids=IDS)
def test_shape_and_finite(pair: str, source: str) -> None:
    x, motion = batch()
    y = build(pair, source)(x, motion)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.isfinite(y).all()


@pytest.mark.parametrize(("pair", "source"), CASES, ids=IDS)
def test_weights_have_the_declared_shape(pair: str, source: str) -> None:
    module = build(pair, source)
    x, motion = batch()
    spec = module.layer.weight_spec
    weights = module.weights(x, motion)
    assert tuple(weights.shape) == spec.shape(2, SIZE, SIZE)


@pytest.mark.parametrize(("pair", "source"), CASES, ids=IDS)
def test_gradients_reach_every_parameter(pair: str, source: str) -> None:
    module = build(pair, source)
    x, motion = batch()
    y = module(x, motion)
    (y * torch.randn(y.shape, generator=torch.Generator().manual_seed(2))).sum().backward()
    parameters = dict(module.named_parameters())
    assert parameters or pair.startswith("fac")
    for name, parameter in parameters.items():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("pair", "source"), CASES, ids=IDS)
def test_deterministic_under_seed(pair: str, source: str) -> None:
    x, motion = batch()
    first, second = build(pair, source), build(pair, source)
    with torch.no_grad():
        out = first(x, motion)
        assert torch.equal(out, second(x, motion))
        assert torch.equal(out, first(x, motion))


@pytest.mark.parametrize(("pair", "source"), CASES, ids=IDS)
def test_state_dict_round_trip(pair: str, source: str) -> None:
    """Trained-looking weights (initial ones plus noise) survive save/load into a differently seeded copy."""
    source_module, copy = build(pair, source, seed=0), build(pair, source, seed=1)
    with torch.no_grad():
        for parameter in source_module.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    x, motion = batch()
    with torch.no_grad():
        expected = source_module(x, motion)
        if any(True for _ in source_module.parameters()):
            assert not torch.equal(copy(x, motion), expected)
    buffer = io.BytesIO()
    torch.save(source_module.state_dict(), buffer)
    buffer.seek(0)
    copy.load_state_dict(torch.load(buffer))
    with torch.no_grad():
        assert torch.equal(copy(x, motion), expected)
