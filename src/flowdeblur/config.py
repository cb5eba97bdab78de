"""Composing the project's Hydra configs from Python (notebooks, benchmarks, tests)."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

_PACKAGE = Path(__file__).resolve().parent
# An installed wheel carries the tree as the package ``flowdeblur.conf``; a source checkout (editable install or
# ``PYTHONPATH=src``) reads the repository's top-level ``conf/``, the one copy of every YAML.
CONF_DIR = _PACKAGE / "conf" if (_PACKAGE / "conf").is_dir() else _PACKAGE.parents[1] / "conf"


def compose_config(overrides: list[str], config_name: str = "train", output_dir: Path | None = None) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with ``overrides`` as the entry point would.

    ``paths.output_dir`` (normally Hydra's run dir) is set to ``output_dir`` when given.
    """
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides=overrides)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)
    return cfg
