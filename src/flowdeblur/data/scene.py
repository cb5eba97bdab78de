"""Random dynamic scenes: a background photo seen by a moving camera, plus independently moving textured
layers.

Rendering model (exact, so ground-truth flow is exact): at sub-frame ``s`` a screen pixel ``p`` shows the
background texture at ``camera_pose[s] @ p`` and, where an object's alpha is non-zero, that object's texture
at ``object_pose[s] @ p``. Object motion is defined in screen space, independently of the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.data.affine import screen_bounds, similarity
from flowdeblur.data.color import color_jitter, decode_srgb8
from flowdeblur.data.motion import Trajectory, sample_trajectory

SCALE_RANGE = (0.6, 1.6)  # photo pixels per screen pixel, drawn log-uniformly (clamped to fit the photo)
CAMERA_SPEED = (0.2, 1.0)  # camera translation speed, fraction of max_speed
CAMERA_SPIN, CAMERA_ZOOM = 0.3, 0.2  # top rotation / zoom speed at the frame corner, fraction of max_speed
OBJECT_SIZE = (0.25, 0.6)  # object box sides, fraction of the shorter frame side
OBJECT_SPEED = (0.3, 1.0)  # object translation speed, fraction of max_speed
OBJECT_SPIN, OBJECT_ZOOM = 0.4, 0.2  # top rotation / zoom speed at the object's rim, fraction of max_speed
EDGE_SOFTNESS = 1.5  # px over which an object's alpha falls from 1 to 0
OPTICS_SIGMA = 0.5  # px, Gaussian point spread of the lens applied to every texture (see crop_texture)


@dataclass
class Layer:
    """texture (C, h, w) linear light (C = 3 background, 4 = RGB + alpha for objects);
    poses (S, 3, 3) float64 mapping screen pixels to texture pixels at each sub-frame."""

    texture: Tensor
    poses: Tensor


@dataclass
class Scene:
    """A background layer and 0+ object layers, drawn back to front."""

    background: Layer
    objects: list[Layer]


def _optics(image: Tensor) -> Tensor:
    """(3, h, w) -> (3, h, w) blurred by a 3-tap Gaussian of std :data:`OPTICS_SIGMA` px, reflected edges."""
    side = float(np.exp(-1.0 / (2.0 * OPTICS_SIGMA**2)))
    side, centre = side / (1.0 + 2.0 * side), 1.0 / (1.0 + 2.0 * side)
    x = F.pad(image[None], (1, 1, 1, 1), mode="reflect")[0]
    x = x[:, :, 1:-1] * centre + (x[:, :, :-2] + x[:, :, 2:]) * side
    return x[:, 1:-1] * centre + (x[:, :-2] + x[:, 2:]) * side


def crop_texture(rng: np.random.Generator, photo: Tensor, size: tuple[int, int]) -> Tensor:
    """(3, Hp, Wp) uint8 sRGB photo -> (3, h, w) linear-light texture: a random crop at a random scale
    (resampled in linear light), random flips, colour jitter and the lens blur :func:`_optics`.

    The lens blur keeps textures band-limited, so that frames rendered at any sub-pixel offset are equally
    sharp (the target, at an integer offset, would otherwise be crisper than its neighbours) and so that
    warping a neighbour with the exact flow reproduces the target at ~40 dB.
    """
    h, w = size
    _, hp, wp = photo.shape
    scale = np.exp(rng.uniform(*np.log(SCALE_RANGE)))
    scale = min(scale, hp / h, wp / w)
    rh, rw = min(hp, max(1, round(h * scale))), min(wp, max(1, round(w * scale)))
    top, left = rng.integers(0, hp - rh + 1), rng.integers(0, wp - rw + 1)
    region = decode_srgb8(photo[None, :, top : top + rh, left : left + rw])
    if (rh, rw) != (h, w):
        region = F.interpolate(region, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    flips = [dim for dim, flip in ((-1, rng.random() < 0.5), (-2, rng.random() < 0.5)) if flip]
    if flips:
        region = region.flip(flips)
    return _optics(color_jitter(region[0], rng))


def blob_alpha(rng: np.random.Generator, size: tuple[int, int]) -> Tensor:
    """(1, h, w) soft alpha in [0, 1]: an ellipse (half the time) or a blob with random low-order harmonics,
    inscribed in the box, edge ramp :data:`EDGE_SOFTNESS` px wide."""
    h, w = size
    ry, rx = max((h - 1) / 2 - EDGE_SOFTNESS, 1.0), max((w - 1) / 2 - EDGE_SOFTNESS, 1.0)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    u, v = (xs - (w - 1) / 2) / rx, (ys - (h - 1) / 2) / ry
    theta = torch.atan2(v, u)
    amplitudes = rng.uniform(-0.15, 0.15, size=3) if rng.random() < 0.5 else np.zeros(3)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=3)
    boundary = 1.0 + sum(
        float(a) * torch.cos(n * theta + float(p)) for n, a, p in zip((2, 3, 4), amplitudes, phases, strict=True)
    )
    boundary = boundary / (1.0 + np.abs(amplitudes).sum())
    distance = (boundary - torch.sqrt(u * u + v * v)) * min(rx, ry)
    return (distance / EDGE_SOFTNESS + 0.5).clamp(0.0, 1.0)[None]


def _camera(
    rng: np.random.Generator,
    size: tuple[int, int],
    num_steps: int,
    anchor: int,
    max_speed: float,
    moving: bool,
    times: np.ndarray | None,
) -> tuple[Tensor, tuple[int, int]]:
    """-> camera poses (S, 3, 3) screen -> canvas pixels (at the anchor: identity plus an integer shift), and
    the canvas size (h, w) that contains every sub-frame's view."""
    h, w = size
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    if moving:
        speed = max_speed * rng.uniform(*CAMERA_SPEED)
        radius = float(np.hypot(*centre)) or 1.0
        path = sample_trajectory(
            rng, num_steps, anchor, speed, radius, CAMERA_SPIN * max_speed, CAMERA_ZOOM * max_speed, times
        )
    else:
        path = Trajectory.still(num_steps if times is None else len(times))
    poses = similarity(centre + path.translation, path.angle, path.log_scale, centre)
    low, high = screen_bounds(poses, h, w)
    shift = 1 - torch.floor(low)
    poses[:, :2, 2] += shift
    canvas_w, canvas_h = (torch.ceil(high) + shift + 2).to(torch.int64).tolist()
    return poses, (canvas_h, canvas_w)


def _object(
    rng: np.random.Generator,
    photo: Tensor,
    size: tuple[int, int],
    num_steps: int,
    anchor: int,
    max_speed: float,
    times: np.ndarray | None,
) -> Layer:
    """One textured blob placed at a random spot of the target frame, with its own smooth motion."""
    h, w = size
    side = min(h, w)
    box_h, box_w = (max(4, round(side * rng.uniform(*OBJECT_SIZE))) for _ in range(2))
    rgb = crop_texture(rng, photo, (box_h, box_w))
    texture = torch.cat((rgb, blob_alpha(rng, (box_h, box_w))))
    rim = max(box_h, box_w) / 2
    path = sample_trajectory(
        rng,
        num_steps,
        anchor,
        max_speed * rng.uniform(*OBJECT_SPEED),
        rim,
        OBJECT_SPIN * max_speed,
        OBJECT_ZOOM * max_speed,
        times,
    )
    position = np.array([rng.uniform(0.1, 0.9) * (w - 1), rng.uniform(0.1, 0.9) * (h - 1)])
    to_screen = similarity(
        position + path.translation,
        rng.uniform(-np.pi, np.pi) + path.angle,
        path.log_scale,
        np.array([(box_w - 1) / 2, (box_h - 1) / 2]),
    )
    return Layer(texture, torch.linalg.inv(to_screen))


def sample_scene(
    rng: np.random.Generator,
    photos: tuple[Tensor, ...],
    size: tuple[int, int],
    num_steps: int,
    anchor: int,
    max_objects: int,
    max_speed: float,
    camera_motion_prob: float,
    times: np.ndarray | None = None,
) -> Scene:
    """Random scene over ``num_steps`` sub-frames for a frame of ``size`` (h, w), posed at ``times`` (sub-frame
    times in ``[0, num_steps - 1]``, default the integers; the random draws do not depend on them).

    The camera moves with probability ``camera_motion_prob``; otherwise it is exactly still. The number of
    objects is uniform in ``[0, max_objects]``, or ``[1, max_objects]`` with a still camera so that the clip
    has blur. Objects take their texture from a photo other than the background's when the split has several.
    """
    moving = bool(rng.random() < camera_motion_prob)
    poses, canvas = _camera(rng, size, num_steps, anchor, max_speed, moving, times)
    background_index = int(rng.integers(len(photos)))
    background = Layer(crop_texture(rng, photos[background_index], canvas), poses)
    low = 0 if moving or max_objects == 0 else 1
    others = [i for i in range(len(photos)) if i != background_index] or [background_index]
    objects = [
        _object(rng, photos[others[int(rng.integers(len(others)))]], size, num_steps, anchor, max_speed, times)
        for _ in range(int(rng.integers(low, max_objects + 1)))
    ]
    return Scene(background, objects)


def step_motion(scene: Scene, size: tuple[int, int]) -> float:
    """Largest displacement (px) of any visible layer point between consecutive poses of ``scene``.

    Measured at the frame's corners for the background (whose maps are similarities, so the corners move
    most) and at each object's texture corners; these bound the motion of every pixel between two poses.
    """
    h, w = size
    screen = torch.tensor([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=torch.float64).T
    poses = scene.background.poses
    seen = poses[:-1] @ screen
    largest = (torch.linalg.inv(poses[1:]) @ seen - screen)[:, :2].norm(dim=1).max()
    for layer in scene.objects:
        _, th, tw = layer.texture.shape
        corners = torch.tensor([[0, 0, 1], [tw - 1, 0, 1], [0, th - 1, 1], [tw - 1, th - 1, 1]], dtype=torch.float64).T
        on_screen = torch.linalg.inv(layer.poses) @ corners
        largest = torch.maximum(largest, (on_screen[1:] - on_screen[:-1])[:, :2].norm(dim=1).max())
    return float(largest)
