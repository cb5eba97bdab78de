"""Synthetic training clips rendered on the training device, in batches.

A clip is made in two parts (:class:`~flowdeblur.data.synthetic.SyntheticBlurClips`): *drawing* its scene
(random numbers, photo crops at the canvas size: small CPU work) and *rendering* it (the ``grid_sample`` of
every sub-frame, the exposure, ground-truth flow and mask: most of the work). Here loader workers only draw
(:class:`SceneDraws`); the batch of drawn scenes (:class:`DrawnBatch`) crosses to the device as textures and
is rendered there when Lightning moves the batch (:meth:`DrawnBatch.render`, called from the data module's
``transfer_batch_to_device``).

Determinism: a clip is the same function of ``(seed, split, epoch, index)`` whichever path renders it; the
scene (every random draw, the textures) is bit-identical, and on the CPU the rendered clip is too. On a GPU
the rendered pixels, flow and mask differ from the CPU's only by float rounding in ``grid_sample`` and the
linear-light arithmetic (a mask pixel can flip where a displacement sits at the threshold to within rounding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from flowdeblur.data.scene import Layer, Scene
from flowdeblur.data.synthetic import SyntheticBlurClips, _one_thread

Drawn = tuple[int, Scene, int, np.random.Generator]


def renders_on_device(dataset: object) -> bool:
    """Whether ``dataset`` (possibly wrapped) can draw on the host and render elsewhere."""
    return callable(getattr(dataset, "draw", None)) and callable(getattr(dataset, "render", None))


class SceneDraws(Dataset):
    """The drawn scenes of a synthetic data set: item ``i`` is ``(i, scene, M, generator)``
    (:meth:`SyntheticBlurClips.draw`), drawn with one thread; ``set_epoch`` passes through."""

    def __init__(self, clips: SyntheticBlurClips) -> None:
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> Drawn:
        if not 0 <= index < len(self.clips):
            raise IndexError(f"index {index} out of range for {len(self.clips)} clips")
        with _one_thread():
            return (index, *self.clips.draw(index))

    def set_epoch(self, epoch: int) -> None:
        self.clips.set_epoch(epoch)


def scene_map(scene: Scene, move: Callable[[Tensor], Tensor]) -> Scene:
    """The scene with ``move`` applied to its textures (poses stay float64 on the CPU: their small algebra and
    the boxes read from them stay on the host)."""
    return Scene(
        Layer(move(scene.background.texture), scene.background.poses),
        [Layer(move(layer.texture), layer.poses) for layer in scene.objects],
    )


@dataclass
class DrawnBatch:
    """A loader batch of drawn clips, rendered on a device by :meth:`render`; Lightning moves it as it is."""

    clips: SyntheticBlurClips
    drawn: list[Drawn]
    pinned: bool = False

    def render(self, device: torch.device) -> dict[str, Any]:
        """-> the batch the CPU loader would give (``blurry``, ``sharp`` (B, T, 3, H, W), ``flow``, ``mask``,
        ``target``, ``index``, ``clip`` (B,)) on ``device``, plus ``target_index`` (int)."""

        def move(tensor: Tensor) -> Tensor:  # asynchronous from pinned memory (see pin_memory)
            return tensor.to(device, non_blocking=tensor.is_pinned())

        samples = [self.clips.render(i, scene_map(scene, move), m, rng) for i, scene, m, rng in self.drawn]
        batch: dict[str, Any] = {}
        for key, first in samples[0].items():
            values = [s[key] for s in samples]
            if isinstance(first, Tensor):
                batch[key] = torch.stack([cast(Tensor, v) for v in values])
            else:
                batch[key] = move(self._host(torch.tensor(values)))
        batch["target_index"] = self.clips.target
        return batch

    def pin_memory(self) -> DrawnBatch:
        """Page-locked textures (the loader's ``pin_memory`` calls this), so that they cross asynchronously."""
        self.drawn = [(i, scene_map(scene, Tensor.pin_memory), m, rng) for i, scene, m, rng in self.drawn]
        self.pinned = True
        return self

    def _host(self, tensor: Tensor) -> Tensor:
        return tensor.pin_memory() if self.pinned else tensor


class DrawnCollate:
    """``collate_fn`` of the scene loader: a list of drawn clips -> :class:`DrawnBatch` (picklable)."""

    def __init__(self, clips: SyntheticBlurClips) -> None:
        self.clips = clips

    def __call__(self, drawn: list[Drawn]) -> DrawnBatch:
        return DrawnBatch(self.clips, drawn)


def render_batch(batch: Any, device: torch.device) -> Any:
    """A :class:`DrawnBatch` rendered on ``device``; anything else unchanged."""
    return batch.render(device) if isinstance(batch, DrawnBatch) else batch


def base_clips(dataset: Any) -> SyntheticBlurClips:
    """The synthetic data set inside wrappers that pass attributes through (``IndexedErrors``)."""
    inner = dataset
    while not isinstance(inner, SyntheticBlurClips) and hasattr(inner, "dataset"):
        inner = inner.dataset
    if not isinstance(inner, SyntheticBlurClips):
        raise TypeError(f"expected a SyntheticBlurClips data set, got {type(dataset).__name__}")
    return inner
