"""Small-image presets: the article's SimpleCNN and LeNet-5, as LeCun drew it and as it is written today."""

from __future__ import annotations

from collections.abc import Sequence

from playground.models.zoo._api import register_model
from playground.models.zoo._layers import act, bn, conv, flat_features, group, linear, pool, scaled
from playground.models.zoo._layers import dropout as dropout_layer  # ``dropout`` is every preset's knob

# SimpleCNN -------------------------------------------------------------------


@register_model(
    "simplecnn",
    title="SimpleCNN (the article's)",
    year=None,
    family="SimpleCNN",
    blurb="The article's CIFAR-10 model: three Conv2d-BatchNorm-ReLU stages with 3x3 kernels and padding 1, max "
    "pooling halving 32x32 to 16x16 to 8x8, adaptive average pooling to 1x1 and one Linear classifier. "
    "It maps a [8, 3, 32, 32] batch to [8, 10].",
)
def simplecnn(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    blocks: Sequence[int] = (1, 1, 1),
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
) -> dict:
    """The article's SimpleCNN: stages of 32, 64 and 128 channels (``blocks`` convs each), then one Linear."""
    feats: list[dict] = []
    chans = [scaled(32, width), scaled(64, width), scaled(128, width)]
    for i, (ch, n) in enumerate(zip(chans, blocks)):
        for _ in range(n):
            feats += [conv(ch, 3, 1, 1)] + ([bn()] if batch_norm else []) + [act(activation)]
        feats.append(pool("maxpool", 2, 2) if i < 2 else {"type": "adaptive_avgpool", "output": 1})
    tail = [dropout_layer(dropout, "dropout")] if dropout > 0 else []
    layers = [
        group("features", feats),
        {"type": "flatten", "name": "flatten"},
        *tail,
        linear(chans[-1], num_classes, "classifier"),
    ]
    return {"input": [in_channels, *input_size], "layers": layers}


# LeNet -----------------------------------------------------------------------


def _lenet(c, hw, num_classes, width, batch_norm, activation, dropout_p, modern) -> dict:
    """LeNet-5's two convolutions and three fully-connected layers; ``modern`` pads and max-pools."""
    c1, c2, f1, f2 = scaled(6, width), scaled(16, width), scaled(120, width), scaled(84, width)
    kind = "maxpool" if modern else "avgpool"
    norm = [bn()] if batch_norm else []
    feats = [
        conv(c1, 5, 1, 2 if modern else 0),
        *norm,
        act(activation, inplace=False),
        pool(kind, 2),
        conv(c2, 5),
        *norm,
        act(activation, inplace=False),
        pool(kind, 2),
    ]
    flat = flat_features(feats, c, hw)
    drop = [dropout_layer(dropout_p)] if dropout_p > 0 else []
    head = [
        linear(flat, f1),
        act(activation, inplace=False),
        *drop,
        linear(f1, f2),
        act(activation, inplace=False),
        *drop,
        linear(f2, num_classes),
    ]
    layers = [group("features", feats), {"type": "flatten", "name": "flatten"}, group("classifier", head)]
    return {"input": [c, *hw], "layers": layers}


@register_model(
    "lenet5",
    title="LeNet-5 (1998)",
    year=1998,
    family="LeNet",
    blurb="LeNet-5 (1998): designed by Yann LeCun for handwritten digit recognition, it was the first successful "
    "CNN. With only 5 layers (2 convolutions + 3 fully connected), tanh non-linearities and average pooling "
    "('subsampling') on 32x32 grayscale images, it showed that convolutional networks could beat traditional "
    "feature engineering. Simplified as usual: every C3 map sees all S2 maps, and the output is a Linear layer "
    "instead of RBF units.",
    paper="LeCun, Bottou, Bengio, Haffner: Gradient-based learning applied to document recognition (1998)",
)
def lenet5(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = False,
    activation: str = "tanh",
    dropout: float = 0.0,
) -> dict:
    """LeNet-5 as in the 1998 paper: tanh, average pooling, 32x32 grayscale inputs."""
    return _lenet(in_channels, input_size, num_classes, width, batch_norm, activation, dropout, modern=False)


@register_model(
    "lenet5_modern",
    title="LeNet, modern",
    year=None,
    family="LeNet",
    blurb="LeNet-5 as it is written today: ReLU instead of tanh, max pooling instead of average pooling, batch norm "
    "after each convolution, and 28x28 inputs (padding 2 keeps the first feature maps 28x28, as for MNIST). "
    "Same 2 + 3 layers.",
)
def lenet5_modern(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    input_size: int | tuple[int, int] = (28, 28),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
) -> dict:
    """LeNet-5 as written today: ReLU, max pooling, batch norm, padding 2 for 28x28 inputs."""
    return _lenet(in_channels, input_size, num_classes, width, batch_norm, activation, dropout, modern=True)
