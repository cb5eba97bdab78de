"""Each conditioned layer against a written-out reference, and its neutral weights giving the identity."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from flowdeblur.layers.dynamic_conv import DynamicConv
from flowdeblur.layers.filter_adaptive_conv import FilterAdaptiveConv
from flowdeblur.layers.spatial_rnn import SpatialRNN
from flowdeblur.ops.filtering import per_pixel_filter_reference
from flowdeblur.ops.scan import DIRECTIONS, gated_scan_reference


def test_spatial_rnn_closed_gates_are_identity() -> None:
    x = torch.randn(2, 8, 20, 24)
    torch.testing.assert_close(SpatialRNN(8)(x, torch.zeros(2, 32, 20, 24)), x, rtol=0, atol=1e-6)


def test_spatial_rnn_is_the_merge_of_the_four_scans_in_order() -> None:
    torch.manual_seed(0)
    layer = SpatialRNN(3).double()
    torch.nn.init.normal_(layer.merge.weight)
    torch.nn.init.normal_(layer.merge.bias)
    x = torch.randn(2, 3, 11, 17, dtype=torch.float64)
    gates = torch.rand(2, 12, 11, 17, dtype=torch.float64) * 2 - 1
    scans = [gated_scan_reference(x, g, d) for g, d in zip(gates.split(3, dim=1), DIRECTIONS, strict=True)]
    expected = F.conv2d(torch.cat(scans, dim=1), layer.merge.weight, layer.merge.bias)
    torch.testing.assert_close(layer(x, gates), expected)
    reference = SpatialRNN(3, impl="reference").double()
    reference.load_state_dict(layer.state_dict())
    torch.testing.assert_close(reference(x, gates), expected)


def test_spatial_rnn_starts_as_the_average_of_the_directions() -> None:
    x = torch.randn(1, 2, 9, 10, dtype=torch.float64)
    gates = torch.rand(1, 8, 9, 10, dtype=torch.float64) * 2 - 1
    scans = [gated_scan_reference(x, g, d) for g, d in zip(gates.split(2, dim=1), DIRECTIONS, strict=True)]
    torch.testing.assert_close(SpatialRNN(2).double()(x, gates), sum(scans) / 4)


def test_spatial_rnn_keeps_the_feature_dtype() -> None:
    layer = SpatialRNN(2).bfloat16()
    x = torch.randn(1, 2, 6, 7).bfloat16()
    assert layer(x, torch.zeros(1, 8, 6, 7).bfloat16()).dtype == torch.bfloat16


@pytest.mark.parametrize("groups", [None, 2, 1])
def test_filter_adaptive_conv_delta_filter_is_identity(groups: int | None) -> None:
    layer = FilterAdaptiveConv(4, kernel_size=5, groups=groups)
    filters = torch.zeros(2, layer.groups, 25, 7, 9)
    filters[:, :, 12] = 1.0
    x = torch.randn(2, 4, 7, 9)
    assert torch.equal(layer(x, filters.view(2, -1, 7, 9)), x)


def test_filter_adaptive_conv_group_g_filters_channel_block_g() -> None:
    """Groups = 2 on 4 channels: a delta for group 0 and zeros for group 1 keep channels 0-1, clear 2-3."""
    filters = torch.zeros(1, 2, 9, 5, 6)
    filters[:, 0, 4] = 1.0
    x = torch.randn(1, 4, 5, 6)
    y = FilterAdaptiveConv(4, groups=2)(x, filters.view(1, 18, 5, 6))
    assert torch.equal(y[:, :2], x[:, :2]) and torch.equal(y[:, 2:], torch.zeros_like(x[:, 2:]))


def test_filter_adaptive_conv_matches_reference_filtering() -> None:
    x = torch.randn(2, 6, 8, 7, dtype=torch.float64)
    filters = torch.randn(2, 3 * 9, 8, 7, dtype=torch.float64)
    expected = per_pixel_filter_reference(x, filters, 3)
    torch.testing.assert_close(FilterAdaptiveConv(6, groups=3)(x, filters), expected)
    torch.testing.assert_close(FilterAdaptiveConv(6, groups=3, impl="reference")(x, filters), expected)


def test_dynamic_conv_zero_kernel_is_identity() -> None:
    x = torch.randn(3, 4, 6, 7)
    assert torch.equal(DynamicConv(4)(x, torch.zeros(3, 4 * 4 * 9)), x)


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_dynamic_conv_applies_each_samples_own_kernel(kernel_size: int) -> None:
    torch.manual_seed(0)
    c, k = 3, kernel_size
    x = torch.randn(4, c, 9, 8, dtype=torch.float64)
    kernels = torch.randn(4, c * c * k * k, dtype=torch.float64)
    expected = torch.cat(
        [x[b : b + 1] + F.conv2d(x[b : b + 1], kernels[b].view(c, c, k, k), padding=k // 2) for b in range(4)]
    )
    torch.testing.assert_close(DynamicConv(c, kernel_size=k)(x, kernels), expected)


@pytest.mark.parametrize(
    ("layer", "spec"),
    [
        (SpatialRNN(4), ("gates", 16, True, 1)),
        (FilterAdaptiveConv(4, kernel_size=5), ("filters", 100, True, 5)),
        (FilterAdaptiveConv(4, groups=1), ("filters", 9, True, 3)),
        (DynamicConv(4, kernel_size=3), ("kernels", 144, False, 3)),
    ],
)
def test_declared_specs(layer: torch.nn.Module, spec: tuple) -> None:
    declared = layer.weight_spec
    assert (declared.kind, declared.channels, declared.per_pixel, declared.kernel_size) == spec


@pytest.mark.parametrize("layer", [SpatialRNN(4), FilterAdaptiveConv(4), DynamicConv(4)])
def test_wrong_weight_shape_is_rejected(layer: torch.nn.Module) -> None:
    x = torch.zeros(2, 4, 6, 6)
    wrong = torch.zeros(*layer.weight_spec.shape(3, 6, 6))
    with pytest.raises(ValueError, match="expected weights of shape"):
        layer(x, wrong)


def test_invalid_layer_options() -> None:
    with pytest.raises(ValueError, match="odd"):
        FilterAdaptiveConv(4, kernel_size=4)
    with pytest.raises(ValueError, match="divisor"):
        FilterAdaptiveConv(4, groups=3)
    with pytest.raises(ValueError, match="odd"):
        DynamicConv(4, kernel_size=2)
    with pytest.raises(ValueError, match="impl"):
        SpatialRNN(4, impl="cuda")
