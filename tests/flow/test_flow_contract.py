"""Contract of every flow backbone: shapes, target-position invariance, losses, gradients, seeds, I/O."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor

from flowdeblur.config import CONF_DIR
from flowdeblur.flow.base import FlowBackbone, MotionFeatures
from flowdeblur.flow.dis import DISFlow
from flowdeblur.flow.pretrained import without_weights
from flowdeblur.flow.pwc import PWCFlow
from flowdeblur.flow.pyramid import PyramidFlow
from flowdeblur.flow.zero import ZeroFlow

LEVELS = (1, 2, 3)
CHANNELS = (8, 12, 16)
SIZE = 32
FACTORIES: dict[str, Callable[[int], FlowBackbone]] = {
    "zero": lambda t: ZeroFlow(LEVELS, CHANNELS),
    "pyramid": lambda t: PyramidFlow(t, LEVELS, CHANNELS),
    "pwc": lambda t: PWCFlow(t, LEVELS, CHANNELS, radius=2),
    "dis": lambda t: DISFlow(t, LEVELS, CHANNELS, preset="ultrafast"),
}
LEARNED = ("pyramid", "pwc")
WITH_PARAMETERS = ("pyramid", "pwc", "dis")
WINDOWS = [(2, 0), (2, 1), (3, 0), (3, 1), (3, 2), (5, 0), (5, 2), (5, 4)]
CONFIG_DIR = CONF_DIR / "model" / "flow"


def build(name: str, num_frames: int, seed: int = 0) -> FlowBackbone:
    torch.manual_seed(seed)
    return FACTORIES[name](num_frames)


def frames(num_frames: int, batch: int = 2, seed: int = 1) -> Tensor:
    """(B, T, 3, SIZE, SIZE) smooth random frames in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(batch * num_frames, 3, SIZE // 4, SIZE // 4, generator=generator)
    smooth = torch.nn.functional.interpolate(noise, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return smooth.view(batch, num_frames, 3, SIZE, SIZE)


def assert_same(a: MotionFeatures, b: MotionFeatures) -> None:
    for level in a.features:
        torch.testing.assert_close(a.features[level], b.features[level], rtol=0, atol=0)
        torch.testing.assert_close(a.flows[level], b.flows[level], rtol=0, atol=0)


@pytest.mark.parametrize(("num_frames", "target"), WINDOWS)
@pytest.mark.parametrize("name", FACTORIES)
def test_shapes_and_losses(name: str, num_frames: int, target: int) -> None:
    backbone = build(name, num_frames).train()
    out = backbone(frames(num_frames), target)
    assert set(out.features) == set(out.flows) == set(LEVELS)
    for level, channels in zip(LEVELS, CHANNELS, strict=True):
        size = SIZE >> level
        assert out.features[level].shape == (2, channels, size, size)
        assert out.flows[level].shape == (2, num_frames - 1, 2, size, size)
        assert torch.isfinite(out.features[level]).all() and torch.isfinite(out.flows[level]).all()
    if name in LEARNED:
        assert set(out.losses) == {"flow/photometric", "flow/smoothness"}
        assert all(torch.isfinite(v) and v.ndim == 0 and v >= 0 for v in out.losses.values())
    else:
        assert out.losses == {}


@pytest.mark.parametrize("name", FACTORIES)
def test_target_position_does_not_matter(name: str) -> None:
    """[a, b, c] with target b and [b, a, c] with target a have the same target and neighbours [a, c]."""
    backbone = build(name, 3).eval()
    window = frames(3)
    with torch.no_grad():
        assert_same(backbone(window, 1), backbone(window[:, [1, 0, 2]], 0))


@pytest.mark.parametrize("name", LEARNED)
def test_no_losses_in_eval(name: str) -> None:
    with torch.no_grad():
        assert build(name, 3).eval()(frames(3), 1).losses == {}


@pytest.mark.parametrize("name", WITH_PARAMETERS)
def test_gradients_reach_every_parameter(name: str) -> None:
    backbone = build(name, 3).train()
    out = backbone(frames(3), 1)
    total = sum(f.mean() for f in out.features.values()) + sum(out.losses.values())
    total = total + sum(f.abs().mean() for f in out.flows.values() if f.requires_grad)
    total.backward()
    for pname, parameter in backbone.named_parameters():
        assert parameter.grad is not None, pname
        assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, pname


def test_zero_has_no_parameters() -> None:
    assert list(build("zero", 3).parameters()) == []


@pytest.mark.parametrize("name", FACTORIES)
def test_deterministic_under_seed(name: str) -> None:
    window = frames(3)
    with torch.no_grad():
        first, second = build(name, 3).eval(), build(name, 3).eval()
        assert_same(first(window, 1), second(window, 1))
        assert_same(first(window, 1), first(window, 1))


@pytest.mark.parametrize("name", WITH_PARAMETERS)
def test_state_dict_round_trip(name: str) -> None:
    source, copy = build(name, 3, seed=0).eval(), build(name, 3, seed=1).eval()
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    buffer.seek(0)
    copy.load_state_dict(torch.load(buffer))
    window = frames(3)
    with torch.no_grad():
        assert_same(source(window, 0), copy(window, 0))


@pytest.mark.parametrize("name", FACTORIES)
def test_rejects_frames_not_multiple_of_stride(name: str) -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        build(name, 3)(frames(3)[..., :28, :28], 1)


@pytest.mark.parametrize("name", WITH_PARAMETERS)
def test_rejects_wrong_window_length(name: str) -> None:
    with pytest.raises(ValueError, match="built for windows of 3 frames"):
        build(name, 3)(frames(2), 0)


@pytest.mark.parametrize("name", FACTORIES)
def test_config_instantiates(name: str) -> None:
    cfg = OmegaConf.create({"model": {"num_frames": 3, "levels": [1, 2, 3]}})
    cfg.model.flow = OmegaConf.load(CONFIG_DIR / f"{name}.yaml")
    backbone = instantiate(without_weights(cfg.model.flow))  # model.flow.weights are build_net's
    assert isinstance(backbone, FACTORIES[name](3).__class__)
    assert backbone.levels == (1, 2, 3)
    assert backbone.channels == {1: 32, 2: 48, 3: 64}
