"""Smooth random motion over a clip's sub-frames: translation along a curving path, steady rotation and zoom.

Time is measured in sub-frames ``s = 0 .. S-1`` (the time base in which speeds are given); a trajectory can be
evaluated at those integer times or at any fractional ``times`` in ``[0, S-1]`` (temporal supersampling: the
path is linear between integer times). Every trajectory is the identity motion at the ``anchor`` time (the
target frame's sharp instant), so poses at the anchor are the layer's reference placement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trajectory:
    """translation (S, 2) px, angle (S,) rad, log_scale (S,); all zero at the anchor sub-frame."""

    translation: np.ndarray
    angle: np.ndarray
    log_scale: np.ndarray

    @classmethod
    def still(cls, num_steps: int) -> Trajectory:
        """No motion over ``num_steps`` sub-frames."""
        return cls(np.zeros((num_steps, 2)), np.zeros(num_steps), np.zeros(num_steps))


def sample_trajectory(
    rng: np.random.Generator,
    num_steps: int,
    anchor: int,
    speed: float,
    radius: float,
    spin_speed: float,
    zoom_speed: float,
    times: np.ndarray | None = None,
) -> Trajectory:
    """Random smooth trajectory over ``num_steps`` sub-frames, evaluated at ``times`` (default: the integer
    times ``0 .. num_steps - 1``). The random draws do not depend on ``times``.

    Args:
        speed: mean translation speed, px per sub-frame; it ramps by up to ±40 % over the clip and the heading
            turns by up to ±90°.
        radius: distance (px) from the rotation/zoom centre at which ``spin_speed`` and ``zoom_speed`` apply.
        spin_speed: largest rotation speed, px per sub-frame at ``radius`` (drawn in ±spin_speed).
        zoom_speed: largest zoom speed, px per sub-frame at ``radius`` (drawn in ±zoom_speed).
        times: (S',) sub-frame times in ``[0, num_steps - 1]``; ``anchor`` must be one of them for the motion
            to be the identity at a sample.
    """
    progress = np.linspace(-0.5, 0.5, num_steps)
    heading = rng.uniform(0.0, 2.0 * np.pi) + rng.uniform(-0.5, 0.5) * np.pi * progress
    step_speed = speed * (1.0 + rng.uniform(-0.8, 0.8) * progress)
    steps = step_speed[:, None] * np.stack((np.cos(heading), np.sin(heading)), axis=1)
    position = np.concatenate((np.zeros((1, 2)), np.cumsum(steps[:-1], axis=0)))
    spin = rng.uniform(-spin_speed, spin_speed) / radius
    zoom = rng.uniform(-zoom_speed, zoom_speed) / radius
    times = np.arange(num_steps, dtype=np.float64) if times is None else np.asarray(times, dtype=np.float64)
    grid = np.arange(num_steps, dtype=np.float64)
    at = np.stack([np.interp(times, grid, position[:, c]) for c in range(2)], axis=1)
    origin = np.array([np.interp(anchor, grid, position[:, c]) for c in range(2)])
    return Trajectory(at - origin, spin * (times - anchor), zoom * (times - anchor))
