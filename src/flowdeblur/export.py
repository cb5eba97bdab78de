"""Export a checkpoint's network: ``python -m flowdeblur.export ckpt_path=... out=...``.

Writes ``<out>.safetensors``: the network weights with the experiment config in the file's metadata (see
:mod:`flowdeblur.checkpoints.weights`). ``infer`` and ``eval`` take such a file as ``ckpt_path``.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig
from rich.console import Console

from flowdeblur.checkpoints.weights import EXPORT_SUFFIX, load_net, save_export
from flowdeblur.config import CONF_DIR
from flowdeblur.config_schema import check_config
from flowdeblur.runs.quiet import quiet_libraries
from flowdeblur.runs.user_errors import user_errors


def export(ckpt_path: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Write the network of ``ckpt_path`` to ``<out>.safetensors``; returns that path."""
    out = Path(out)
    if out.suffix != EXPORT_SUFFIX:
        out = out.with_name(out.name + EXPORT_SUFFIX)
    if out.exists() and not overwrite:
        raise FileExistsError(f"out: '{out}' exists; choose another path or pass overwrite=true")
    net, config = load_net(ckpt_path)
    return save_export(out, net.state_dict(), config)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="export")
def main(cfg: DictConfig) -> None:
    quiet_libraries()
    with user_errors("flowdeblur.export"):
        check_config(cfg)
        path = export(cfg.ckpt_path, cfg.out, cfg.overwrite)
    Console().print(f"[bold]exported[/bold]: {path}")


if __name__ == "__main__":
    main()
