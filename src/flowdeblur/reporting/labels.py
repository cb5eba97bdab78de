"""Readable names of variants: ``experiment=static_encoder`` -> ``static encoder``,
``(model/flow=pwc, model.weight_source=static)`` -> ``flow pwc, weight source static``, ``lr 0.0005``."""

from __future__ import annotations

Options = tuple[tuple[str, str], ...]
# options whose values are names of presets: the value alone reads well
PRESETS = ("experiment",)


def short_name(option: str) -> str:
    """``model.weight_source`` -> ``weight_source``; ``model/flow`` -> ``flow``."""
    return option.replace("/", ".").rsplit(".", 1)[-1]


def readable(text: str) -> str:
    """``static_encoder`` -> ``static encoder``."""
    return text.replace("_", " ")


def _number(value: str) -> str | None:
    """A numeric (or boolean) value written short (``0.0005176340429875835`` -> ``0.0005176``); None otherwise."""
    if value.lower() in ("true", "false"):
        return value.lower()
    try:
        number = float(value)
    except ValueError:
        return None
    return value if len(value) <= 8 else f"{number:.4g}"


def option_label(option: str, value: str, alone: bool) -> str:
    """One option's part of a label; ``alone``: the only swept option, so a name-like value needs no name."""
    name = readable(short_name(option))
    if not value:
        return "default" if option in PRESETS or alone else f"{name} default"
    if (number := _number(value)) is not None:
        return f"{name} {number}"
    return readable(value) if option in PRESETS or alone else f"{name} {readable(value)}"


def label(options: Options) -> str:
    """The variant's readable name (``all runs`` when nothing is swept)."""
    alone = len(options) == 1
    return ", ".join(option_label(k, v, alone) for k, v in options) or "all runs"


def override_label(options: Options) -> str:
    """``model.weight_source=flow, seed=1``: the exact overrides, for CSV files and captions."""
    return ", ".join(f"{k}={v}" for k, v in options)
