"""The ImageNet classics before skip connections: AlexNet and VGG-11..19, index for index torchvision's."""

from __future__ import annotations

from collections.abc import Sequence

from playground.models.zoo._api import register_model
from playground.models.zoo._layers import act, bn, conv, group, linear, pool, scaled
from playground.models.zoo._layers import dropout as dropout_layer  # ``dropout`` is every preset's knob


def _classifier(n_in: int, hidden: int, num_classes: int, activation: str, p: float, dropout_first: bool) -> list[dict]:
    """AlexNet's (dropout first) and VGG's (dropout after each ReLU) three-layer classifiers, index for index."""
    if dropout_first:
        layers = [
            dropout_layer(p),
            linear(n_in, hidden),
            act(activation),
            dropout_layer(p),
            linear(hidden, hidden),
            act(activation),
        ]
    else:
        layers = [
            linear(n_in, hidden),
            act(activation),
            dropout_layer(p),
            linear(hidden, hidden),
            act(activation),
            dropout_layer(p),
        ]
    return layers + [linear(hidden, num_classes)]


# AlexNet ---------------------------------------------------------------------


@register_model(
    "alexnet",
    title="AlexNet (2012)",
    year=2012,
    family="AlexNet",
    blurb="AlexNet won ImageNet 2012 and started the deep-learning era: a deep CNN trained on GPUs, with large 11x11 "
    "and 5x5 kernels up front, ReLU instead of tanh, max pooling, and dropout in a huge fully-connected classifier "
    "that holds most of its 61 million parameters. This is torchvision's version.",
    torchvision="alexnet",
    paper="Krizhevsky, Sutskever, Hinton: ImageNet classification with deep CNNs (2012)",
)
def alexnet(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = False,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """torchvision's AlexNet: five convolutions (three max pools), a 6x6 adaptive pool, the dropout-first classifier."""
    feats: list[dict] = []
    # (out channels, kernel, stride, padding, then max pooling)
    table = [
        (64, 11, 4, 2, True),
        (192, 5, 1, 2, True),
        (384, 3, 1, 1, False),
        (256, 3, 1, 1, False),
        (256, 3, 1, 1, True),
    ]
    for out, k, s, p, then_pool in table:
        feats += [conv(scaled(out, width), k, s, p)] + ([bn()] if batch_norm else []) + [act(activation)]
        if then_pool:
            feats.append(pool("maxpool", 3, 2))
    head = _classifier(scaled(256, width) * 36, scaled(4096, width), num_classes, activation, dropout, True)
    layers = [
        group("features", feats),
        {"type": "adaptive_avgpool", "name": "avgpool", "output": 6},
        {"type": "flatten", "name": "flatten"},
        group("classifier", head),
    ]
    return {"input": [in_channels, *input_size], "layers": layers}


# VGG -------------------------------------------------------------------------


def _vgg(c, hw, num_classes, width, blocks, batch_norm, activation, dropout_p) -> dict:
    """Five stages of 3x3 convs (64..512 channels, ``blocks`` per stage), a 7x7 adaptive pool, the classifier."""
    feats: list[dict] = []
    for ch, n in zip((64, 128, 256, 512, 512), blocks):
        for _ in range(n):
            feats += [conv(scaled(ch, width), 3, 1, 1)] + ([bn()] if batch_norm else []) + [act(activation)]
        feats.append(pool("maxpool", 2, 2))
    head = _classifier(scaled(512, width) * 49, scaled(4096, width), num_classes, activation, dropout_p, False)
    layers = [
        group("features", feats),
        {"type": "adaptive_avgpool", "name": "avgpool", "output": 7},
        {"type": "flatten", "name": "flatten"},
        group("classifier", head),
    ]
    return {"input": [c, *hw], "layers": layers}


def _register_vgg(depth: int, batch_norm: bool):
    """``register_model`` for VGG-``depth`` (with batch norm: ``vgg{depth}_bn``), named as in torchvision."""
    name = f"vgg{depth}{'_bn' if batch_norm else ''}"
    return register_model(
        name,
        title=f"VGG-{depth}{' with batch norm' if batch_norm else ''} (2014)",
        year=2014,
        family="VGG",
        blurb=f"VGGNet showed that depth matters: only stacked 3x3 kernels, here across {depth} layers. Two 3x3 convs "
        "cover the same receptive field as one 5x5, with fewer parameters and more non-linearity. Uniform and "
        "simple, but heavy: most parameters sit in the classifier, most MACs in the early full-resolution convs."
        + (" This variant adds batch norm after every conv, which makes it far easier to train." if batch_norm else ""),
        torchvision=name,
        paper="Simonyan, Zisserman: Very deep convolutional networks for large-scale image recognition (2014)",
    )


@_register_vgg(11, batch_norm=False)
def vgg11(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    blocks: Sequence[int] = (1, 1, 2, 2, 2),
    batch_norm: bool = False,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """VGG-11 (configuration A): 8 convolutions and 3 fully-connected layers."""
    return _vgg(in_channels, input_size, num_classes, width, blocks, batch_norm, activation, dropout)


@_register_vgg(11, batch_norm=True)
def vgg11_bn(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    blocks: Sequence[int] = (1, 1, 2, 2, 2),
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """VGG-11 with batch norm after every convolution."""
    return _vgg(in_channels, input_size, num_classes, width, blocks, batch_norm, activation, dropout)


@_register_vgg(13, batch_norm=False)
def vgg13(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    blocks: Sequence[int] = (2, 2, 2, 2, 2),
    batch_norm: bool = False,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """VGG-13 (configuration B): 10 convolutions and 3 fully-connected layers."""
    return _vgg(in_channels, input_size, num_classes, width, blocks, batch_norm, activation, dropout)


@_register_vgg(13, batch_norm=True)
def vgg13_bn(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    blocks: Sequence[int] = (2, 2, 2, 2, 2),
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """VGG-13 with batch norm after every convolution."""
    return _vgg(in_channels, input_size, num_classes, width, blocks, batch_norm, activation, dropout)


@_register_vgg(16, batch_norm=False)
def vgg16(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    blocks: Sequence[int] = (2, 2, 3, 3, 3),
    batch_norm: bool = False,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """VGG-16 (configuration D): 13 convolutions and 3 fully-connected layers."""
    return _vgg(in_channels, input_size, num_classes, width, blocks, batch_norm, activation, dropout)


@_register_vgg(16, batch_norm=True)
def vgg16_bn(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    blocks: Sequence[int] = (2, 2, 3, 3, 3),
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """VGG-16 with batch norm after every convolution."""
    return _vgg(in_channels, input_size, num_classes, width, blocks, batch_norm, activation, dropout)


@_register_vgg(19, batch_norm=False)
def vgg19(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    blocks: Sequence[int] = (2, 2, 4, 4, 4),
    batch_norm: bool = False,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """VGG-19 (configuration E): 16 convolutions and 3 fully-connected layers."""
    return _vgg(in_channels, input_size, num_classes, width, blocks, batch_norm, activation, dropout)


@_register_vgg(19, batch_norm=True)
def vgg19_bn(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    blocks: Sequence[int] = (2, 2, 4, 4, 4),
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.5,
) -> dict:
    """VGG-19 with batch norm after every convolution."""
    return _vgg(in_channels, input_size, num_classes, width, blocks, batch_norm, activation, dropout)
