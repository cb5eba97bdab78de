"""The metrics a report knows: their names in tables and figures, whether higher is better, the blurry input's
counterpart, and how their numbers are written.

Quality metrics are read as ``<stage>/<name>`` from a job's ``metrics.json``; a metric a job did not log is
simply missing (never 0). ``<name>_gain`` is derived per job as ``<name> - <name>_input``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """name: key without the stage; label: short column title; higher: True if larger is better, None if
    neither (costs); input: the blurry input's key, if logged; scale/unit/digits: how values are printed."""

    name: str
    label: str
    higher: bool | None
    input: str | None = None
    scale: float = 1.0
    unit: str = ""
    digits: int = 2


QUALITY = (
    Metric("psnr", "PSNR", True, "psnr_input", unit="dB"),
    Metric("ssim", "SSIM", True, "ssim_input", digits=3),
    Metric("lpips", "LPIPS", False, "lpips_input", digits=3),
    Metric("psnr_static", "PSNR static", True, "psnr_static_input", unit="dB"),
    Metric("static_changed", "static changed", False, "static_changed_input", scale=100.0, unit="%", digits=2),
    Metric("static_harmed", "static harmed", False, scale=100.0, unit="%", digits=2),
    Metric("psnr_moving", "PSNR moving", True, "psnr_moving_input", unit="dB"),
    Metric("epe_static", "EPE static", False, unit="px"),
    Metric("epe_moving", "EPE moving", False, unit="px"),
    Metric("epe", "EPE", False, unit="px"),
)
COSTS = (
    Metric("params/effective", "eff. params", None, scale=1e-6, unit="M", digits=3),
    Metric("params/total", "params", None, scale=1e-6, unit="M", digits=3),
    Metric("macs", "MACs", None, scale=1e-9, unit="G", digits=2),
)
# training time and speed (job-level keys), and the stage's PSNR gain over the blurry input per training minute
SPEEDS = (
    Metric("time/train_s", "train time", None, scale=1 / 60, unit="min", digits=1),
    Metric("time/samples_per_s", "samples/s", None, digits=1),
)
RATES = (Metric("psnr_gain_per_min", "dB/min", True, unit="dB", digits=3),)
BY_NAME = {m.name: m for m in (*QUALITY, *COSTS, *SPEEDS, *RATES)}


def cost_keys(stage: str) -> list[str]:
    """The keys of costs, training speed and learning speed (dB per minute) a report reads for ``stage``."""
    return [*(m.name for m in (*COSTS, *SPEEDS)), *(f"{stage}/{m.name}" for m in RATES)]


# the static region's input equals the sharp frame: its PSNR is capped (120 dB), not a meaningful reference
EXACT_DB = 100.0


def metric(key: str) -> Metric:
    """``test/psnr_moving``, ``psnr_moving`` (or its ``_input``/``_gain``) -> its :class:`Metric` (an unknown key
    gets a plain one)."""
    name = key.split("/", 1)[-1] if key.split("/", 1)[0] in ("val", "test") else key
    base = name.removesuffix("_input").removesuffix("_gain")
    return BY_NAME.get(name) or BY_NAME.get(base) or Metric(name, name.replace("_", " "), None)


def fmt(value: float, key: str, signed: bool = False, unit: bool = False) -> str:
    """A value of metric ``key`` in its display scale: ``28.31``, ``+0.42``, ``1.540 M`` (``–`` for NaN)."""
    if value is None or math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞"
    m = metric(key)
    text = f"{value * m.scale:{'+' if signed else ''}.{m.digits}f}"
    return f"{text} {m.unit}" if unit and m.unit else text
