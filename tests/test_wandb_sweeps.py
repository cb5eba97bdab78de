"""W&B Sweep files (``conf/wandb_sweep/*.yaml``): every parameter value the agent can pass is a valid override of
the train config, formatted as the agent formats it, and the runs are grouped like a Hydra sweep. No network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf
from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

from flowdeblur.config import CONF_DIR

SWEEPS = sorted((CONF_DIR / "wandb_sweep").glob("*.yaml"))
RUN_ID = "abc123xy"


def values_of(spec: dict[str, Any]) -> list[Any]:
    """The values a parameter spec can produce worth composing: each listed value, or both ends of a range."""
    if "values" in spec:
        return list(spec["values"])
    if "value" in spec:
        return [spec["value"]]
    return [spec["min"], spec["max"]]


def compose_runs(sweep: dict[str, Any]) -> list[tuple[dict[str, Any], DictConfig]]:
    """Each parameter at each of its values (the others at their first) as (params, composed config with the
    command's fixed overrides and the agent's ``${args_no_hyphens}``)."""
    command = [str(c) for c in sweep["command"]]
    entry = command.index("flowdeblur.train")
    fixed = [c for c in command[entry + 1 :] if not (c.startswith("${") and c.endswith("}"))]
    first = {name: values_of(spec)[0] for name, spec in sweep["parameters"].items()}
    runs = []
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for name, spec in sweep["parameters"].items():
            for value in values_of(spec):
                params = {**first, name: value}
                args = create_sweep_command_args({"args": {k: {"value": v} for k, v in params.items()}})
                runs.append((params, compose("train", [*fixed, *args["args_no_hyphens"]], return_hydra_config=True)))
    return runs


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_sweep_parameters_are_overrides_of_the_train_config(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_RUN_ID", RUN_ID)  # the agent sets it for each run it starts
    sweep = yaml.safe_load(path.read_text())
    assert sweep["name"] == path.stem and sweep["method"] in {"grid", "random", "bayes"}
    assert sweep["metric"]["goal"] in {"maximize", "minimize"}
    command = [str(c) for c in sweep["command"]]
    assert command[:4] == ["${env}", "${interpreter}", "-m", "flowdeblur.train"] and "${args_no_hyphens}" in command
    runs = compose_runs(sweep)
    assert len(runs) == sum(len(values_of(spec)) for spec in sweep["parameters"].values())
    for params, cfg in runs:
        for name, value in params.items():
            choices = cfg.hydra.runtime.choices
            assert (choices[name] if name in choices else OmegaConf.select(cfg, name)) == value, name
        group = f"wandb_sweep-{path.stem}"
        assert cfg.logger.wandb.id == RUN_ID and cfg.logger.wandb.group == group and group in cfg.logger.wandb.tags
        assert cfg.hydra.run.dir == f"{cfg.paths.root}/wandb_sweep/{path.stem}/{RUN_ID}"


def test_a_parameter_that_is_not_in_the_config_is_refused() -> None:
    sweep = yaml.safe_load(SWEEPS[0].read_text())
    sweep["parameters"] = {"optim.optimizer.lrr": {"values": [0.001]}}
    with pytest.raises(ConfigCompositionException, match="lrr"):
        compose_runs(sweep)
