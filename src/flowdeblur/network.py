"""FlowDeblurNet: flow backbone -> weight source -> deblurrer with conditioned layers, and its frame window.

The window is a property of the network (config ``model.num_frames``, ``model.target``): it takes T frames and
restores the one at index ``target`` (by default the middle one, :func:`default_target`). Data, eval and infer
read the window from the model config or from the loaded network.

What drives the conditioned layers is the weight source (:mod:`flowdeblur.sources`, config group
``model/source``): ``flow`` (the backbone's motion features through weight heads: the method), ``content`` (the
same backbone and heads on T copies of the target frame: the target's content, no inter-frame information) or
``static`` (the same heads on learned, input-independent features). Everything else is the same network, so
variants differ only in what drives the conditioned layers; with ``model.deblurrer.input=aligned`` the deblurrer
also sees the neighbours warped onto the target by the backbone's finest flow (flow as alignment).
``params/effective`` (:func:`flowdeblur.metrics.complexity.effective_parameters`) measures what reaches the
restored frame.

Pairing: built with a ``seed``, each top-level part (``flow``, ``deblurrer``, ``source``) draws its initial
weights from its own generator seeded from ``(seed, part name)`` (:func:`seeded`), so at one seed every variant
starts from the same weights for every part it shares, whatever the other parts consume.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor, nn

from flowdeblur.deblurrers.align import align_window
from flowdeblur.deblurrers.base import Deblurrer
from flowdeblur.flow.base import FlowBackbone, MotionFeatures, check_window
from flowdeblur.flow.pretrained import prepare_flow, without_weights
from flowdeblur.layers.base import ConditionedLayer, WeightSpec
from flowdeblur.sources.base import HeadFactory, WeightSource


@dataclass
class NetOutput:
    """restored: (B, 3, H, W); motion: the backbone's output (padded size); weights: level -> layer weights."""

    restored: Tensor
    motion: MotionFeatures
    weights: dict[int, Tensor]


class FlowDeblurNet(nn.Module):
    """Composes the parts. Frames of any size are padded to the stride and the output cropped back.

    Args:
        flow: the flow backbone.
        deblurrer: factory ``deblurrer(layer=layer)`` of the encoder–decoder.
        source: factory ``source(specs=..., channels=..., head=...)`` of the weight source.
        layer: factory ``layer(channels)`` of the conditioned layer, or None for a plain deblurrer.
        head: factory ``head(in_channels, spec)`` of the weight head (flow and content sources).
        num_frames: the window length T >= 2 (the flow backbone and deblurrer are built for the same T).
        target: the window index of the frame to restore, or None for :func:`default_target`.
        seed: builds the deblurrer and the source under :func:`seeded` (None: from the global generator).
    """

    def __init__(
        self,
        flow: FlowBackbone,
        deblurrer: Callable[..., Deblurrer],
        source: Callable[..., WeightSource],
        layer: Callable[[int], ConditionedLayer] | None = None,
        head: HeadFactory | None = None,
        num_frames: int = 3,
        target: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.num_frames, self.target = check_window_size(num_frames, target)
        self.flow = flow
        with seeded(seed, "deblurrer"):
            self.deblurrer = deblurrer(layer=layer)
        specs: dict[int, WeightSpec] = self.deblurrer.weight_specs
        with seeded(seed, "source"):
            self.source = source(specs=specs, channels=flow.channels, head=head)
        self.aligned = getattr(self.deblurrer, "input", "target") == "aligned"
        if self.aligned and type(self.source).backbone_window is not WeightSource.backbone_window:
            raise ValueError(
                f"model.deblurrer.input=aligned: the '{getattr(self.source, 'name', type(self.source).__name__)}' "
                "source feeds the backbone another window than the real one; use model/source=flow or static"
            )
        if self.aligned:  # the backbone sees the real window: its flow error is meaningful
            self.source.sees_motion = True

    @property
    def stride(self) -> int:
        """Frames are padded internally to multiples of this."""
        return max(self.flow.stride, self.deblurrer.stride)

    def forward(self, frames: Tensor, target: int) -> NetOutput:
        """(B, T, 3, H, W), target index -> :class:`NetOutput` with restored (B, 3, H, W)."""
        check_window(frames, target)
        if frames.shape[1] != self.num_frames:
            raise ValueError(
                f"model.num_frames: the network takes windows of {self.num_frames} frames, got T={frames.shape[1]}"
            )
        h, w = frames.shape[-2:]
        padded = pad_to_multiple(frames, self.stride)
        motion = self.flow(self.source.backbone_window(padded, target), target)
        weights = self.source(padded, target, motion)
        window = align_window(padded, target, motion.flows) if self.aligned else padded
        restored = self.deblurrer(window, target, weights)
        return NetOutput(restored=restored[..., :h, :w], motion=motion, weights=weights)


def build_net(model_cfg: DictConfig, seed: int | None = None, pretrained: bool = True) -> FlowDeblurNet:
    """The network from the ``model`` config node (flow, source, head, layer, deblurrer, window); with ``seed``
    every part is initialised under :func:`seeded` (paired variants); with ``pretrained``, the flow backbone's
    ``model.flow.weights`` are then loaded into the built network
    (:func:`flowdeblur.flow.pretrained.prepare_flow`)."""
    with seeded(seed, "flow"):
        flow = instantiate(without_weights(model_cfg.flow))
    net = FlowDeblurNet(
        flow=flow,
        deblurrer=instantiate(model_cfg.deblurrer),
        source=instantiate(model_cfg.source),
        layer=instantiate(model_cfg.layer) if model_cfg.get("layer") else None,
        head=instantiate(model_cfg.head) if model_cfg.get("head") else None,
        num_frames=model_cfg.num_frames,
        target=model_cfg.get("target"),
        seed=seed,
    )
    prepare_flow(net.flow, model_cfg.flow, pretrained)
    return net


def part_seed(seed: int, part: str) -> int:
    """A 63-bit seed derived from ``(seed, part)`` (SHA-256), the same in every process and Python version."""
    digest = hashlib.sha256(f"{int(seed)}/{part}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@contextmanager
def seeded(seed: int | None, part: str) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded by :func:`part_seed`, then restore the generator's
    state (the global stream is left as it was); a None ``seed`` leaves the generator alone."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(part_seed(seed, part))
        yield


def default_target(num_frames: int) -> int:
    """The frame a window of ``num_frames`` frames restores unless told otherwise: the middle one, ``T // 2``."""
    return num_frames // 2


def check_window_size(num_frames: object, target: object) -> tuple[int, int]:
    """Checked ``(num_frames, target)``; a None ``target`` becomes :func:`default_target`.

    Raises:
        ValueError: naming ``model.num_frames`` or ``model.target``.
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 2:
        raise ValueError(f"model.num_frames: expected an int >= 2, got {num_frames!r}")
    if target is None:
        return num_frames, default_target(num_frames)
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < num_frames:
        raise ValueError(
            f"model.target: expected null (the middle frame) or an int in [0, {num_frames - 1}], got {target!r}"
        )
    return num_frames, target


def pad_to_multiple(frames: Tensor, multiple: int) -> Tensor:
    """(B, T, C, H, W) -> (B, T, C, H', W') replicate-padded at the bottom/right to multiples of ``multiple``."""
    b, t, c, h, w = frames.shape
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return frames
    padded = F.pad(frames.reshape(b, t * c, h, w), (0, pw, 0, ph), mode="replicate")
    return padded.reshape(b, t, c, h + ph, w + pw)
