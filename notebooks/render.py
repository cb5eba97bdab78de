"""Execute the notebooks and render them to HTML: ``make notebooks`` (``python notebooks/render.py [names]``).

Each notebook runs top to bottom in this folder with the project's kernel and its default parameters, and is
written to ``outputs/notebooks/<name>.html`` with its outputs; the stored ``.ipynb`` files stay without outputs.
``02_ablation_report`` reports the newest sweep (``multirun/latest``) and is skipped when there is none.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "outputs" / "notebooks"
NEEDS_SWEEP = "02_ablation_report.ipynb"


def render(path: Path, out_dir: Path, timeout: int) -> Path:
    """Execute ``path`` and write ``<out_dir>/<stem>.html``; returns that path."""
    from nbconvert import HTMLExporter  # the [notebooks] extra (make notebooks installs it)

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    html, _ = HTMLExporter().from_notebook_node(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.html"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(html)
    tmp.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook file names (default: all in notebooks/)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the HTML files go")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [HERE / n for n in args.names] if args.names else sorted(HERE.glob("*.ipynb"))
    for path in paths:
        if not path.is_file():
            print(f"render: error: no notebook '{path}'", file=sys.stderr)
            return 2
        if path.name == NEEDS_SWEEP and not (HERE.parent / "multirun" / "latest").exists():
            print(f"skipped {path.name}: no sweep yet (multirun/latest; run `make sweep` first)")
            continue
        print(f"rendered {render(path, args.out, args.timeout)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
