"""Types and ranges of the user-facing options, checked once on the composed config before anything starts.

:data:`OPTIONS` maps an option path (``*`` matches any key at its level, e.g. ``data.*.crop``) to what it
accepts; adding an option's type is one line there. Options the table does not know, and options a config does
not have, pass: the table checks values, not which keys exist (a typo in a key is Hydra's error). What a
component accepts beyond type and range (choices, odd kernel sizes, crops the network can take) stays with the
component, which names the option in its own error.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


@dataclass(frozen=True)
class Number:
    """An int (``integer``) or a finite number in ``[low, high]`` (``above``: greater than it), or null if
    ``null``; ``note`` explains a special value (``-1: no limit``)."""

    integer: bool = False
    low: float | None = None
    high: float | None = None
    above: float | None = None
    null: bool = False
    note: str = ""

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.null
        if isinstance(value, bool) or not isinstance(value, int if self.integer else (int, float)):
            return False
        return (
            math.isfinite(value)
            and (self.low is None or value >= self.low)
            and (self.high is None or value <= self.high)
            and (self.above is None or value > self.above)
        )

    def expected(self) -> str:
        kind = "an int" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            kind += f" in [{self.low:g}, {self.high:g}]"
        elif self.low is not None:
            kind += f" >= {self.low:g}"
        elif self.above is not None:
            kind += f" > {self.above:g}"
        elif self.high is not None:
            kind += f" <= {self.high:g}"
        if self.note:
            kind += f" ({self.note})"
        return f"null or {kind}" if self.null else kind


@dataclass(frozen=True)
class Numbers:
    """A list of values each accepted by ``item`` (``pair``: exactly two), or null if ``null``."""

    item: Number
    null: bool = False
    pair: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.null
        if not isinstance(value, (list, tuple)) or (self.pair and len(value) != 2):
            return False
        return all(self.item.accepts(v) for v in value)

    def expected(self) -> str:
        kind = f"{'two' if self.pair else 'a list of'} {self.item.expected().replace('a number', 'numbers')}"
        kind = kind.replace("an int", "ints")
        return f"null or {kind}" if self.null else kind


@dataclass(frozen=True)
class Size:
    """A crop: an int >= 1 (square), two ints [height, width], or null (the whole frame)."""

    def accepts(self, value: Any) -> bool:
        return value is None or INT_1.accepts(value) or Numbers(INT_1, pair=True).accepts(value)

    def expected(self) -> str:
        return "null (whole frames), an int >= 1 or [height, width]"


@dataclass(frozen=True)
class Flag:
    """true or false."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def expected(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Text:
    """A string (numbers pass: a name or path may be one), one of ``choices`` if given, or null if ``null``."""

    choices: tuple[Any, ...] = ()
    null: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.null
        if self.choices:
            return value in self.choices and not isinstance(value, bool)
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)

    def expected(self) -> str:
        kind = f"one of {', '.join(dict.fromkeys(map(str, self.choices)))}" if self.choices else "a string"
        return f"null or {kind}" if self.null else kind


@dataclass(frozen=True)
class AutoOr:
    """``auto`` or a value ``number`` accepts."""

    number: Number

    def accepts(self, value: Any) -> bool:
        return value == "auto" or self.number.accepts(value)

    def expected(self) -> str:
        return f"auto or {self.number.expected()}"


Spec = Number | Numbers | Size | Flag | Text | AutoOr


def Int(low: float | None = None, high: float | None = None, *, null: bool = False, note: str = "") -> Number:
    return Number(integer=True, low=low, high=high, null=null, note=note)


def Real(
    low: float | None = None, high: float | None = None, *, above: float | None = None, null: bool = False
) -> Number:
    return Number(low=low, high=high, above=above, null=null)


INT_1 = Int(1)
POSITIVE = Real(above=0)
NONNEGATIVE = Real(0)
FRACTION = Real(0, 1)
# Lightning's precision values
PRECISIONS: tuple[int | str, ...] = (64, 32, 16, "64", "32", "16", "bf16", "64-true", "32-true", "16-true")
PRECISIONS += ("16-mixed", "bf16-true", "bf16-mixed", "transformer-engine", "transformer-engine-float16")

OPTIONS: dict[str, Spec] = {
    # train.yaml
    "seed": Int(0),
    "ckpt_path": Text(null=True),
    "compile": Flag(),
    "channels_last": Flag(),
    "run_test": Flag(),
    "test_ckpt": Text(),
    "lpips_metric": Flag(),
    "nonfinite": Text(),
    "min_free_mb": NONNEGATIVE,
    "optimized_metric": Text(),
    "skip_completed": Flag(),
    # data/
    "data.root": Text(),
    "data.batch_size": INT_1,
    "data.eval_batch_size": INT_1,
    "data.num_workers": AutoOr(Int(0)),
    "data.render_on": Text(("auto", "cpu", "device")),
    "data.blur_subframes": INT_1,
    "data.max_objects": Int(0),
    "data.max_speed": NONNEGATIVE,
    "data.max_subframe_motion": NONNEGATIVE,
    "data.camera_motion_prob": FRACTION,
    "data.motion_threshold": NONNEGATIVE,
    "data.noise_std": NONNEGATIVE,
    "data.noise": Text(("poisson_gaussian", "none")),
    "data.noise_shot": Numbers(POSITIVE, pair=True),
    "data.noise_read": Real(0, null=True),
    "data.photos": Text(("wide", "legacy")),
    "data.shake": Numbers(NONNEGATIVE, pair=True),
    "data.pan": Numbers(NONNEGATIVE, pair=True),
    "data.edge": Text(),
    "data.val_every": Int(2),
    "data.*.crop": Size(),
    "data.*.length": INT_1,
    "data.*.seed": Int(0),
    "data.*.augment": Flag(),
    "data.*.frame_step": INT_1,
    "data.*.split": Text(),
    # model/ and its groups flow, source, head, layer, deblurrer, loss
    "model.num_frames": Int(2),
    "model.target": Int(0, null=True, note="null: the middle frame"),
    "model.levels": Numbers(INT_1),
    "model.flow_supervised_weight": NONNEGATIVE,
    "model.flow.channels": Numbers(INT_1),
    "model.flow.radius": Int(0),
    "model.flow.photometric_weight": NONNEGATIVE,
    "model.flow.smoothness_weight": NONNEGATIVE,
    "model.flow.smoothness_alpha": NONNEGATIVE,
    "model.flow.occlusion_quantile": FRACTION,
    "model.flow.occlusion_start": Int(0),
    "model.flow.occlusion_ramp": Int(0),
    "model.flow.level_weights": Numbers(NONNEGATIVE, null=True),
    "model.flow.weights": Text(null=True),
    "model.flow.trainable": Flag(),
    "model.flow.preset": Text(),
    "model.flow.penalty": Text(),
    "model.source.feature_std": NONNEGATIVE,
    "model.head.hidden": Int(1, null=True),
    "model.head.init_centre": FRACTION,
    "model.head.init_scale": NONNEGATIVE,
    "model.head.num_experts": INT_1,
    "model.head.normalize": Text(),
    "model.layer.kernel_size": INT_1,
    "model.layer.groups": Int(1, null=True),
    "model.layer.impl": Text(),
    "model.deblurrer.blocks": INT_1,
    "model.deblurrer.channels": Numbers(INT_1),
    "model.deblurrer.input": Text(),
    "model.deblurrer.stem": Text(),
    "model.loss.eps": POSITIVE,
    "model.loss.lpips_weight": NONNEGATIVE,
    "model.loss.lpips_net": Text(),
    # optim/
    "optim.optimizer.lr": POSITIVE,
    "optim.optimizer.weight_decay": NONNEGATIVE,
    "optim.optimizer.betas": Numbers(Real(0, 1), pair=True),
    "optim.scheduler.warmup_steps": Int(0),
    "optim.scheduler.min_lr_ratio": FRACTION,
    "optim.scheduler.milestones": Numbers(FRACTION),
    "optim.scheduler.gamma": POSITIVE,
    "optim.scheduler.power": NONNEGATIVE,
    # trainer/
    "trainer.max_steps": Int(-1, note="-1: no limit"),
    "trainer.max_epochs": Int(-1, null=True, note="-1: no limit"),
    "trainer.precision": Text(PRECISIONS),
    "trainer.check_val_every_n_epoch": Int(1, null=True),
    "trainer.log_every_n_steps": INT_1,
    "trainer.gradient_clip_val": Real(0, null=True),
    "trainer.num_nodes": INT_1,
    "trainer.num_sanity_val_steps": Int(-1, note="-1: all"),
    "trainer.accelerator": Text(),
    "trainer.enable_model_summary": Flag(),
    "trainer.sync_batchnorm": Flag(),
    # callbacks/
    "callbacks.panels.num_clips": Int(0),
    "callbacks.panels.every_n_epochs": INT_1,
    "callbacks.panels.error_max": POSITIVE,
    "callbacks.ema.decay": FRACTION,
    "callbacks.ema.update_every_n_steps": INT_1,
    "callbacks.ema.update_starting_at_step": Int(0, null=True),
    "callbacks.model_checkpoint.monitor": Text(null=True),
    "callbacks.model_checkpoint.mode": Text(("min", "max")),
    "callbacks.last_checkpoint.save_top_k": Int(-1, note="-1: all"),
    # logger/
    "logger.wandb.project": Text(),
    "logger.wandb.name": Text(null=True),
    "logger.wandb.group": Text(null=True),
    "logger.csv.name": Text(),
    # paths/
    "paths.root": Text(),
    "paths.sweep_root": Text(),
    "paths.name": Text(null=True),
    # eval.yaml, infer.yaml, export.yaml
    "split": Text(),
    "max_memory_mb": Real(above=0, null=True),
    "tile": Int(0, null=True, note="null: whole frames when they fit"),
    "tile_overlap": Int(0),
    "input": Text(),
    "output": Text(),
    "out": Text(),
    "overwrite": Flag(),
    "preview": Flag(),
    "cut_threshold": Real(above=0, null=True),
    "fps": Real(above=0, null=True),
    "codec": Text(),
    "crf": Int(0, 51),
    "device": Text(null=True),
    "precision": Text(),
    "threads": Int(1, null=True),
    "progress_every": NONNEGATIVE,  # seconds; 0: a line per frame
}


def matches(cfg: DictConfig, pattern: str) -> Iterator[str]:
    """The option paths of ``cfg`` that ``pattern`` names (``*``: every key at that level)."""
    head, _, rest = pattern.partition(".")
    keys = [str(k) for k in cfg.keys()] if head == "*" else [head] if head in cfg else []
    for key in keys:
        if not rest:
            yield key
            continue
        node = cfg._get_node(key)
        if isinstance(node, DictConfig) and not node._is_none() and not node._is_missing():
            yield from (f"{key}.{path}" for path in matches(node, rest))


def value_of(cfg: DictConfig, path: str) -> tuple[bool, Any]:
    """(True, the resolved value) of an option, or (False, None) when it is unset (``???``) or does not resolve
    here (e.g. ``${hydra:...}`` outside a Hydra app)."""
    try:
        value = OmegaConf.select(cfg, path, throw_on_missing=True)
        if isinstance(value, (DictConfig, ListConfig)):
            value = OmegaConf.to_container(value, resolve=True)
    except OmegaConfBaseException:
        return False, None
    return True, value


def config_errors(cfg: DictConfig, options: dict[str, Spec] | None = None) -> list[str]:
    """``<option>: expected <what>, got <value>`` for every value of ``cfg`` the table refuses."""
    errors = []
    for pattern, spec in (OPTIONS if options is None else options).items():
        for path in matches(cfg, pattern):
            known, value = value_of(cfg, path)
            if known and not spec.accepts(value):
                errors.append(f"{path}: expected {spec.expected()}, got {value!r}")
    return errors


def check_config(cfg: DictConfig) -> None:
    """Raise ``ValueError`` (the entry points' one-line user error) naming every refused option."""
    errors = config_errors(cfg)
    if errors:
        raise ValueError("; ".join(errors))
