"""LPIPS backbone feature stacks, laid out like torchvision's ``alexnet().features`` / ``vgg16().features``.

The module indices (and so the state-dict keys ``features.<i>.weight``/``.bias``) equal torchvision's, so its
ImageNet checkpoints load directly. Only the layers up to the last tap are built (the last pool is unused).
"""

from __future__ import annotations

from torch import Tensor, nn


class FeatureStack(nn.Module):
    """A ``features`` Sequential whose outputs at ``taps`` (ReLU indices) are the LPIPS feature maps.

    Args:
        layers: the torchvision ``features`` layers, in order.
        taps: indices of the layers whose outputs are returned.
        min_size: smallest input height/width the stack accepts.
    """

    def __init__(self, layers: list[nn.Module], taps: tuple[int, ...], min_size: int) -> None:
        super().__init__()
        self.features = nn.Sequential(*layers)
        self.taps = taps
        self.min_size = min_size
        self.channels = tuple(self._out_channels(i) for i in taps)

    @property
    def conv_indices(self) -> list[int]:
        """Indices of the ``nn.Conv2d`` layers in ``features``, in order."""
        return [i for i, m in enumerate(self.features) if isinstance(m, nn.Conv2d)]

    def _out_channels(self, index: int) -> int:
        convs = [m for i, m in enumerate(self.features) if i <= index and isinstance(m, nn.Conv2d)]
        return convs[-1].out_channels

    def forward(self, x: Tensor) -> list[Tensor]:
        """(B, 3, H, W) -> one (B, C_k, H_k, W_k) map per tap, C_k = ``channels[k]``."""
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x)
        return outs


def _conv_relu(c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding), nn.ReLU(inplace=True)]


def alexnet_features() -> FeatureStack:
    """AlexNet conv1–conv5 (taps relu1..relu5 = indices 1, 4, 7, 9, 11); inputs at least 31×31."""
    layers = [
        *_conv_relu(3, 64, 11, stride=4, padding=2),
        nn.MaxPool2d(3, 2),
        *_conv_relu(64, 192, 5, padding=2),
        nn.MaxPool2d(3, 2),
        *_conv_relu(192, 384, 3),
        *_conv_relu(384, 256, 3),
        *_conv_relu(256, 256, 3),
    ]
    return FeatureStack(layers, taps=(1, 4, 7, 9, 11), min_size=31)


def vgg16_features() -> FeatureStack:
    """VGG16 conv1_1–conv5_3 (taps relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 = 3, 8, 15, 22, 29)."""
    layers: list[nn.Module] = []
    c_in = 3
    for block, (width, depth) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))):
        if block > 0:
            layers.append(nn.MaxPool2d(2, 2))
        for _ in range(depth):
            layers += _conv_relu(c_in, width, 3)
            c_in = width
    return FeatureStack(layers, taps=(3, 8, 15, 22, 29), min_size=16)
