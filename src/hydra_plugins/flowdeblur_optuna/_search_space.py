"""Hydra sweep overrides as Optuna distributions.

The syntax of ``hydra.sweeper.params`` and of sweep overrides on the command line:

- ``choice(a, b, ...)`` and ``a,b,...``: categorical;
- ``range(start, stop, step)``: integers (floats when any bound or the step is a float) from ``start`` to ``stop``
  inclusive, in steps; ``shuffle(range(...))`` is categorical over the same values;
- ``interval(low, high)``: uniform float; ``int(interval(low, high))``: uniform integer;
- ``tag(log, interval(low, high))``: the same on a log scale;
- any other value: a fixed parameter passed to every trial unchanged.
"""

from __future__ import annotations

from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import (
    BaseDistribution,
    CategoricalChoiceType,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


def parse_search_space(arguments: list[str]) -> tuple[dict[str, BaseDistribution], dict[str, str]]:
    """``key=<sweep>`` strings -> (distributions by key, fixed values by key as override strings).

    A key given twice keeps its last value, as on Hydra's command line.
    """
    distributions: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(arguments):
        key = override.get_key_element()
        distributions.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            distributions[key] = to_distribution(override)
        else:
            fixed[key] = override.get_value_element_as_str()
    return distributions, fixed


def to_distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override (``choice``, ``range``, ``interval``, ``tag(log, ...)``)."""
    value = override.value()
    if override.is_choice_sweep() or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(_choices(override))
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        if start is None or stop is None:
            raise ValueError(f"{override.input_line}: range() needs a start and a stop")
        if any(isinstance(v, float) for v in (start, stop, step)):
            return FloatDistribution(start, _last_in_range(start, stop, step), step=step)
        return IntDistribution(int(start), int(_last_in_range(start, stop, step)), step=int(step))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        low, high = value.start, value.end
        if low is None or high is None:
            raise ValueError(f"{override.input_line}: interval() needs a low and a high bound")
        if isinstance(low, int) and isinstance(high, int):
            return IntDistribution(low, high, log=log)
        return FloatDistribution(float(low), float(high), log=log)
    raise ValueError(
        f"{override.input_line}: expected choice(...), range(...), interval(...) or "
        "tag(log, interval(...)) for an Optuna search"
    )


def _choices(override: Override) -> list[CategoricalChoiceType]:
    choices: list[CategoricalChoiceType] = []
    for choice in override.sweep_iterator(transformer=Transformer.encode):
        if not isinstance(choice, str | int | float | bool | type(None)):
            raise ValueError(f"{override.input_line}: a choice must be a str, int, float, bool or null, got {choice!r}")
        choices.append(choice)
    return choices


def _last_in_range(start: float, stop: float, step: float) -> float:
    """The last value of ``range(start, stop, step)``: Hydra's range excludes ``stop``, Optuna's high is
    inclusive."""
    count = int((stop - start) / step - 1e-9)
    return start + count * step


def override_strings(params: dict[str, Any], fixed: dict[str, str]) -> list[str]:
    """A trial's parameters and the fixed values as ``key=value`` overrides of the job."""
    overlap = params.keys() & fixed.keys()
    if overlap:
        raise ValueError(f"hydra.sweeper.params: {sorted(overlap)} are both searched and fixed")
    return [*(f"{key}={value}" for key, value in params.items()), *(f"{k}={v}" for k, v in fixed.items())]
