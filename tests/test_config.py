"""Every option of every config group composes and passes the option table; typos and invalid values fail clearly
(wrong values as one line naming the option, through the real entry points too)."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from flowdeblur.config_schema import OPTIONS, Number, check_config, config_errors
from flowdeblur.network import build_net
from tests.distributed.runner import run_entry
from tests.helpers import compose_config, config_options
from tests.reliability.tiny import assert_user_error

GROUPS = [
    "data",
    "model/flow",
    "model/source",
    "model/head",
    "model/layer",
    "model/deblurrer",
    "model/loss",
    "optim",
    "trainer",
    "logger",
    "callbacks",
    "experiment",
    "debug",
]
CASES = [(group, name) for group in GROUPS for name in config_options(group)]


@pytest.mark.parametrize(("group", "name"), CASES, ids=[f"{g}={n}" for g, n in CASES])
def test_every_option_composes(group: str, name: str) -> None:
    # real-footage data configs require data.root (???); "++" also adds it to configs without one
    cfg = compose_config([f"{group}={name}", *(["++data.root=/data"] if group in ("data", "experiment") else [])])
    resolved = OmegaConf.to_container(cfg.model, resolve=True)
    assert isinstance(resolved, dict) and "flow" in resolved
    OmegaConf.to_container(cfg.data, resolve=True)
    assert config_errors(cfg) == []


@pytest.mark.parametrize("name", config_options("experiment"))
def test_every_experiment_builds_a_network(name: str) -> None:
    cfg = compose_config([f"experiment={name}"])
    net = build_net(cfg.model)
    assert sum(p.numel() for p in net.parameters()) > 0


@pytest.mark.parametrize("override", ["model/flow=pyramd", "data=synthtic", "experiment=tcsv"])
def test_typo_lists_valid_choices(override: str) -> None:
    with pytest.raises((MissingConfigException, ConfigCompositionException)) as err:
        compose_config([override])
    assert "Available options" in str(err.value) or "Could not find" in str(err.value)


# (config, overrides, the option named, a fragment of what it expects): every group of every entry point
WRONG_VALUES = [
    ("train", ["seed=-1"], "seed", "an int >= 0"),
    ("train", ["compile=yes"], "compile", "true or false"),
    ("train", ["data.batch_size=0"], "data.batch_size", "an int >= 1, got 0"),
    ("train", ["data.val.crop=[64,64,3]"], "data.val.crop", "[height, width]"),
    ("train", ["data=gopro", "data.root=/d", "data.val.frame_step=0"], "data.val.frame_step", ">= 1"),
    ("train", ["data.camera_motion_prob=1.5"], "data.camera_motion_prob", "in [0, 1]"),
    ("train", ["model.num_frames=two"], "model.num_frames", "an int >= 2, got 'two'"),
    ("train", ["model.target=-1"], "model.target", "null or an int >= 0"),
    ("train", ["model/source=static", "model.source.feature_std=-1"], "model.source.feature_std", ">= 0"),
    ("train", ["model.flow.channels=[8,0,8]"], "model.flow.channels", "ints >= 1"),
    ("train", ["model/head=kernels", "model.head.num_experts=0"], "model.head.num_experts", ">= 1"),
    ("train", ["model.layer.impl=[fast]"], "model.layer.impl", "a string"),
    ("train", ["model.deblurrer.blocks=1.5"], "model.deblurrer.blocks", "an int >= 1"),
    ("train", ["model.loss.eps=0"], "model.loss.eps", "a number > 0"),
    ("train", ["optim.optimizer.lr=abc"], "optim.optimizer.lr", "a number > 0, got 'abc'"),
    ("train", ["optim.optimizer.betas=[0.9]"], "optim.optimizer.betas", "two numbers in [0, 1]"),
    ("train", ["optim=adam_multistep", "optim.scheduler.gamma=-1"], "optim.scheduler.gamma", "> 0"),
    ("train", ["trainer.max_steps=-5"], "trainer.max_steps", "an int >= -1 (-1: no limit), got -5"),
    ("train", ["trainer.precision=bf17"], "trainer.precision", "one of 64, 32, 16, bf16"),
    ("train", ["callbacks.panels.num_clips=-1"], "callbacks.panels.num_clips", "an int >= 0"),
    ("train", ["callbacks=ema", "callbacks.ema.decay=2"], "callbacks.ema.decay", "in [0, 1]"),
    ("train", ["logger=csv", "logger.csv.name=[a]"], "logger.csv.name", "a string"),
    ("train", ["paths.name=[x]"], "paths.name", "null or a string"),
    ("eval", ["ckpt_path=x", "tile=-2"], "tile", "null or an int >= 0"),
    ("infer", ["crf=99"], "crf", "an int in [0, 51]"),
    ("export", ["overwrite=maybe"], "overwrite", "true or false"),
]


@pytest.mark.parametrize(("config", "overrides", "option", "expected"), WRONG_VALUES, ids=[w[2] for w in WRONG_VALUES])
def test_a_wrong_value_names_the_option(config: str, overrides: list[str], option: str, expected: str) -> None:
    with pytest.raises(ValueError) as err:
        check_config(compose_config(overrides, config_name=config))
    assert str(err.value).startswith(f"{option}: expected ") and expected in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("config", ["eval", "infer", "export"])
def test_the_other_entry_points_defaults_pass(config: str) -> None:
    cfg = compose_config(["++ckpt_path=x", "++input=a.mp4", "++output=b.mp4", "++out=x"], config_name=config)
    assert config_errors(cfg) == []


def test_every_wrong_value_is_named_and_unknown_options_pass() -> None:
    cfg = compose_config(
        ["data.batch_size=0", "trainer.max_steps=x", "+model.flow.weights=pwc_synthetic", "+data.not_an_option=1"]
    )
    assert [e.split(":")[0] for e in config_errors(cfg)] == ["data.batch_size", "trainer.max_steps"]


def test_unset_and_unresolvable_values_are_left_to_their_users() -> None:
    cfg = compose_config(["data=gopro"])  # data.root is ??? and paths.output_dir needs Hydra's runtime
    assert config_errors(cfg, {"data.root": Number(), "paths.output_dir": Number()}) == []


def test_every_option_in_the_table_has_a_group_or_entry_point() -> None:
    roots = {path.split(".")[0] for path in OPTIONS}
    groups = {"data", "model", "optim", "trainer", "callbacks", "logger", "paths"}
    top = {str(k) for name in ("train", "eval", "infer", "export") for k in compose_config([], config_name=name)}
    assert groups <= roots and roots <= groups | top


@pytest.mark.parametrize(
    ("override", "option"),
    [
        ("optim.optimizer.lr=abc", "optim.optimizer.lr"),
        ("trainer.max_steps=-5", "trainer.max_steps"),
        ("data.batch_size=0", "data.batch_size"),
        ("model.num_frames=two", "model.num_frames"),
    ],
)
def test_train_refuses_a_wrong_value_in_one_line(tmp_path, override: str, option: str) -> None:
    done = run_entry("flowdeblur.train", [override, f"hydra.run.dir={tmp_path / 'run'}"], timeout=120)
    assert_user_error(done, "flowdeblur.train", f"ValueError: {option}: expected ")
    assert len([line for line in done.output.splitlines() if line.strip()]) == 1, done.output
