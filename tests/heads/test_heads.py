"""Weight heads and weight sources: kind checks, output ranges, normalisation, initial (neutral) weights."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from flowdeblur.heads.filters import FiltersHead
from flowdeblur.heads.kernels import KernelsHead
from flowdeblur.heads.rnn_gates import RNNGatesHead
from flowdeblur.layers.base import WeightSpec
from flowdeblur.sources.static_scalar import StaticWeights

SPECS = {
    "gates": WeightSpec("gates", 16, per_pixel=True),
    "filters": WeightSpec("filters", 2 * 9, per_pixel=True, kernel_size=3),
    "kernels": WeightSpec("kernels", 4 * 4 * 9, per_pixel=False, kernel_size=3),
}
HEADS = {"gates": RNNGatesHead, "filters": FiltersHead, "kernels": KernelsHead}
MISMATCHED = [(head, kind) for head, kind in itertools.product(HEADS, SPECS) if head != kind]


def motion(channels: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(2, channels, 10, 12, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("produces", "kind"), MISMATCHED)
def test_head_rejects_a_spec_of_another_kind(produces: str, kind: str) -> None:
    head = HEADS[produces]
    assert head.produces == produces
    with pytest.raises(ValueError, match=f"{head.__name__} produces '{produces}'.*needs '{kind}'"):
        head(6, SPECS[kind])


def test_heads_reject_specs_of_the_wrong_resolution() -> None:
    with pytest.raises(ValueError, match="per-pixel"):
        RNNGatesHead(6, WeightSpec("gates", 16, per_pixel=False))
    with pytest.raises(ValueError, match="per-pixel"):
        FiltersHead(6, WeightSpec("filters", 10, per_pixel=True, kernel_size=3))
    with pytest.raises(ValueError, match="per-sample"):
        KernelsHead(6, WeightSpec("kernels", 144, per_pixel=True, kernel_size=3))


@pytest.mark.parametrize("hidden", [None, 8])
def test_gates_are_in_range_and_start_near_zero(hidden: int | None) -> None:
    torch.manual_seed(0)
    head = RNNGatesHead(6, SPECS["gates"], hidden=hidden)
    gates = head(motion())
    assert gates.shape == (2, 16, 10, 12)
    assert 0 < gates.abs().max() < 0.05
    with torch.no_grad():
        head.body[-1].bias.fill_(50.0)
    assert torch.equal(head(motion()), torch.ones(2, 16, 10, 12))


def test_softmax_filters_sum_to_one_and_start_near_delta() -> None:
    torch.manual_seed(0)
    head = FiltersHead(6, SPECS["filters"], normalize="softmax", init_centre=0.8)
    filters = head(motion()).view(2, 2, 9, 10, 12)
    assert (filters > 0).all()
    torch.testing.assert_close(filters.sum(dim=2), torch.ones(2, 2, 10, 12))
    torch.testing.assert_close(filters[:, :, 4], torch.full((2, 2, 10, 12), 0.8), atol=0.02, rtol=0)
    torch.testing.assert_close(filters[:, :, 0], torch.full((2, 2, 10, 12), 0.2 / 8), atol=0.01, rtol=0)


def test_unnormalised_filters_start_near_delta() -> None:
    torch.manual_seed(0)
    filters = FiltersHead(6, SPECS["filters"], normalize="none")(motion()).view(2, 2, 9, 10, 12)
    delta = torch.zeros(9).index_fill_(0, torch.tensor([4]), 1.0).view(1, 1, 9, 1, 1)
    assert 0 < (filters - delta).abs().max() < 0.05


def test_filters_head_options_are_checked() -> None:
    with pytest.raises(ValueError, match="normalize"):
        FiltersHead(6, SPECS["filters"], normalize="l1")
    with pytest.raises(ValueError, match="init_centre"):
        FiltersHead(6, SPECS["filters"], init_centre=0.1)


def test_kernels_are_the_routed_mixture_of_experts() -> None:
    torch.manual_seed(0)
    head = KernelsHead(6, SPECS["kernels"], num_experts=3)
    features = motion()
    mix = F.softmax(head.route(features.mean(dim=(2, 3))), dim=1)
    torch.testing.assert_close(head(features), mix @ head.experts)
    with torch.no_grad():
        head.experts.copy_(torch.arange(144.0).expand(3, 144))
    torch.testing.assert_close(head(features), torch.arange(144.0).expand(2, 144))


def test_kernels_start_small_and_depend_on_the_input() -> None:
    torch.manual_seed(0)
    head = KernelsHead(6, SPECS["kernels"])
    kernels = head(motion())
    kaiming = math.sqrt(2.0 / (4 * 9))
    assert kernels.shape == (2, 144) and 0 < kernels.abs().max() < 0.05 * kaiming
    assert not torch.equal(kernels, head(motion(seed=1)))
    with pytest.raises(ValueError, match="num_experts"):
        KernelsHead(6, SPECS["kernels"], num_experts=1)


def test_static_weights_broadcast_the_neutral_start() -> None:
    gates = StaticWeights(SPECS["gates"])(3, 5, 7)
    assert gates.shape == (3, 16, 5, 7) and torch.equal(gates, torch.zeros(3, 16, 5, 7))
    filters = StaticWeights(SPECS["filters"])(3, 5, 7).view(3, 2, 9, 5, 7)
    assert torch.equal(filters[:, :, 4], torch.ones(3, 2, 5, 7))
    assert filters.sum() == 3 * 2 * 5 * 7
    kernels = StaticWeights(SPECS["kernels"])(3, 5, 7)
    assert kernels.shape == (3, 144) and torch.equal(kernels, torch.zeros(3, 144))


def test_static_weights_are_the_same_everywhere_and_gates_stay_in_range() -> None:
    static = StaticWeights(SPECS["gates"])
    with torch.no_grad():
        static.raw.copy_(torch.linspace(-30, 30, 16).view(1, 16, 1, 1))
    gates = static(2, 4, 5)
    assert gates.abs().max() <= 1.0
    assert torch.equal(gates, gates[:1, :, :1, :1].expand(2, 16, 4, 5))
    with pytest.raises(ValueError, match="unknown weight kind"):
        StaticWeights(WeightSpec("offsets", 8, per_pixel=True))
