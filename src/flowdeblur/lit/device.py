"""The training/evaluation device: one line saying which was chosen, and the CUDA speed switches that keep the
method's numerics.

On CUDA, with a mixed precision (``bf16-mixed``, ``16-mixed``):

- TF32 for float32 matmuls and cuDNN convolutions. Under mixed precision the convolutions and matmuls already
  run in bf16/fp16 (8/11-bit significands); TF32 (11-bit) touches only the float32 ones left outside
  autocast, a relative rounding of about 2**-11 = 5e-4 per product, below the bf16 rounding the rest of the
  network already sees. The parts the precision rule keeps in float32 are elementwise or sampling ops (the
  scan's recurrence, ``grid_sample`` warps, flow up-sampling, the cost volume's products and means), which
  TF32 does not change. Under ``32-true`` TF32 stays off: full precision means full.
- ``cudnn.benchmark``: cuDNN times its convolution algorithms once per shape and keeps the fastest; results
  differ between algorithms only by float rounding. Off when ``trainer.deterministic`` is set.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

MIXED = ("bf16-mixed", "16-mixed", "bf16", "16")
_printed: set[str] = set()  # lines already printed by this process (fit, validate and test each set up)


def describe(device: torch.device, precision: str, world_size: int) -> str:
    """One line: the device (name, bf16 support, visible GPUs), the precision and the CUDA switches."""
    if device.type == "cuda":
        index = device.index or 0
        name = torch.cuda.get_device_name(index)
        bf16 = "bf16" if torch.cuda.is_bf16_supported() else "no bf16"
        visible = torch.cuda.device_count()
        tf32 = "on" if torch.backends.cuda.matmul.allow_tf32 else "off"
        bench = "on" if torch.backends.cudnn.benchmark else "off"
        where = f"cuda:{index} ({name}, {bf16}; {visible} visible GPU{'s' * (visible != 1)})"
        switches = f", TF32 {tf32}, cudnn.benchmark {bench}"
    else:
        threads = torch.get_num_threads()
        where, switches = f"{device.type} ({threads} thread{'s' * (threads != 1)})", ""
    processes = f", {world_size} processes" if world_size > 1 else ""
    return f"device: {where}, precision {precision}{processes}{switches}"


def tune_cuda(precision: str) -> None:
    """TF32 under mixed precision, ``cudnn.benchmark`` unless deterministic algorithms are on (module docstring)."""
    tf32 = precision in MIXED
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = not torch.are_deterministic_algorithms_enabled()


def report_and_tune_device(trainer: pl.Trainer) -> None:
    """Apply :func:`tune_cuda` on CUDA and print the :func:`describe` line once per process (rank 0)."""
    device = trainer.strategy.root_device
    precision = str(trainer.precision)
    if device.type == "cuda":
        tune_cuda(precision)
    line = describe(device, precision, trainer.world_size)
    if trainer.is_global_zero and line not in _printed:
        _printed.add(line)
        print(line)
