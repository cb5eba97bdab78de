"""``compile`` and ``channels_last`` change how the network runs, not what it computes or how it is saved."""

from __future__ import annotations

from pathlib import Path

import torch
from hydra.utils import instantiate

from flowdeblur.build import build_module
from tests.distributed.runner import TINY_RUN
from tests.helpers import compose_config


def build(*overrides: str):
    torch.manual_seed(0)
    return build_module(compose_config([*TINY_RUN, *overrides], output_dir=Path("unused"))).net


def test_knobs_off_leave_the_network_as_built() -> None:
    net = build("channels_last=false")
    assert net._compiled_call_impl is None
    weights = [p for p in net.parameters() if p.dim() == 4]
    assert weights and all(p.is_contiguous() for p in weights)


def test_channels_last_keeps_outputs_and_parameter_names() -> None:
    plain, fast = build("channels_last=false"), build("channels_last=true")
    weights = [p for p in fast.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[-1] > 1]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    assert list(plain.state_dict()) == list(fast.state_dict())
    frames = torch.rand(1, 3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, actual = plain(frames, 1).restored, fast(frames, 1).restored
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def test_compile_wraps_the_whole_network_and_keeps_parameter_names() -> None:
    """One compiled forward (flow, warping losses, heads, deblurrer), whose graph has no break
    (tests/test_compile.py); no part compiled apart."""
    plain, compiled = build(), build("compile=true")
    assert compiled._compiled_call_impl is not None
    assert all(m._compiled_call_impl is None for m in compiled.modules() if m is not compiled)
    assert list(plain.state_dict()) == list(compiled.state_dict())


def test_deterministic_warn_enables_deterministic_algorithms_in_warn_only_mode(tmp_path: Path) -> None:
    cfg = compose_config([*TINY_RUN, "trainer.deterministic=warn"], output_dir=tmp_path)
    try:
        instantiate(cfg.trainer, logger=False, callbacks=[], enable_progress_bar=False)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
