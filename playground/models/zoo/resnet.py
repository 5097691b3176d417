"""ResNets and their plain twins: torchvision's ResNet-18..152 and He et al.'s CIFAR ResNet-20..56.

Every ResNet has a ``plain`` twin with the same convolutions and no skip connections (He et al.
2015's baseline), so a run can show what the skips buy. The ImageNet ones equal torchvision's
module for module; the CIFAR ones use option A shortcuts (subsample, pad with zero channels).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from playground.models.zoo._api import register_model
from playground.models.zoo._layers import act, bn, conv, linear, pool, scaled, stage
from playground.models.zoo._layers import dropout as dropout_layer  # ``dropout`` is every preset's knob

_IDEA = (
    "ResNet (2015) solved the training of very deep networks with skip connections: instead of learning a "
    "direct transformation, each block learns the residual F(x) and outputs F(x) + x, so the gradient "
    "flows directly through the identity path and 152+ layers become trainable."
)
_HE = "He, Zhang, Ren, Sun: Deep residual learning for image recognition (2015)"


def _head(feats: int, num_classes: int, dropout_p: float) -> list[dict]:
    """Global average pooling, flatten, an optional dropout and the ``fc`` classifier."""
    tail = [dropout_layer(dropout_p, "dropout")] if dropout_p > 0 else []
    return [
        {"type": "adaptive_avgpool", "name": "avgpool", "output": 1},
        {"type": "flatten", "name": "flatten"},
        *tail,
        linear(feats, num_classes, "fc"),
    ]


def _resnet(c, hw, num_classes, width, batch_norm, activation, dropout_p, blocks, block, residual) -> dict:
    """torchvision's ResNet: 7x7 stem, max pool, four stages (64, 128, 256, 512 planes), global pool, fc."""
    stem = [conv(scaled(64, width), 7, 2, 3, bias=not batch_norm, name="conv1")] + ([bn("bn1")] if batch_norm else [])
    stem += [act(activation, activation), pool("maxpool", 3, 2, 1, "maxpool")]  # named "relu" for ReLU, as torchvision
    stages = [
        stage(f"layer{i + 1}", block, n, scaled(p, width), 1 if i == 0 else 2, residual, "conv", batch_norm, activation)
        for i, (n, p) in enumerate(zip(blocks, (64, 128, 256, 512)))
    ]
    feats = scaled(512, width) * (4 if block == "bottleneck" else 1)
    return {"input": [c, *hw], "layers": stem + stages + _head(feats, num_classes, dropout_p)}


def _cifar_resnet(c, hw, num_classes, width, batch_norm, activation, dropout_p, blocks, residual) -> dict:
    """He et al. 2015, sec. 4.2: a 3x3 stem of 16 filters, three stages of basic blocks (16, 32, 64), option A."""
    stem = [conv(scaled(16, width), 3, 1, 1, bias=not batch_norm, name="conv1")] + ([bn("bn1")] if batch_norm else [])
    stem.append(act(activation, activation))
    stages = [
        stage(
            f"layer{i + 1}",
            "basic_block",
            n,
            scaled(p, width),
            1 if i == 0 else 2,
            residual,
            "pad",
            batch_norm,
            activation,
        )
        for i, (n, p) in enumerate(zip(blocks, (16, 32, 64)))
    ]
    return {"input": [c, *hw], "layers": stem + stages + _head(scaled(64, width), num_classes, dropout_p)}


def _register_resnet(depth: int, residual: bool):
    """``register_model`` for torchvision's ResNet-``depth`` (``residual=False``: its plain twin).

    The blurb counts the blocks of the decorated function's own ``blocks`` default.
    """

    def decorate(fn):
        blocks = inspect.signature(fn).parameters["blocks"].default
        kind = (
            "bottleneck blocks (1x1 reduce, 3x3, 1x1 expand to 4x)" if depth >= 50 else "basic blocks (two 3x3 convs)"
        )
        return register_model(
            f"{'resnet' if residual else 'plain'}{depth}",
            title=f"ResNet-{depth} (2015)" if residual else f"Plain-{depth} (ResNet-{depth} without skips)",
            year=2015,
            family="ResNet" if residual else "Plain",
            blurb=(
                f"{_IDEA} ResNet-{depth} stacks {sum(blocks)} {kind} in four stages. This is torchvision's "
                "version (stride in the 3x3 conv)."
                if residual
                else f"ResNet-{depth}'s plain twin: the same convolutions without the skip connections (He et al.'s "
                "'plain' baseline). Deeper plain networks train worse, not better: gradients fade on their way back "
                "through many layers, the vanishing-gradient problem skip connections solve. Train both and compare."
            ),
            torchvision=f"resnet{depth}" if residual else None,
            paper=_HE,
        )(fn)

    return decorate


def _register_cifar_resnet(depth: int, residual: bool):
    """``register_model`` for He et al.'s CIFAR ResNet-``depth`` (6n+2 layers; ``residual=False``: its plain twin)."""
    n = (depth - 2) // 6
    return register_model(
        f"{'resnet' if residual else 'plain'}{depth}",
        title=f"ResNet-{depth} (CIFAR, 2015)" if residual else f"Plain-{depth} (CIFAR, no skips)",
        year=2015,
        family="CIFAR ResNet" if residual else "Plain",
        blurb=(
            f"{_IDEA} The CIFAR-10 ResNets of He et al. (section 4.2) have 6n+2 layers: a 3x3 conv, three "
            f"stages of n={n} basic blocks with 16, 32 and 64 filters on 32x32 images, global average pooling and "
            "a 10-way fc. Where the shape changes the shortcut subsamples and pads with zero channels (option A), "
            "so the skips add no parameters."
            if residual
            else f"ResNet-{depth}'s plain twin (He et al. section 4.2): the same {depth} layers and exactly the same "
            "parameters, without the skip connections. In the paper plain-56 trains worse than plain-20: the "
            "degradation problem that skip connections fix."
        ),
        paper=_HE,
    )


# torchvision's ResNets ----------------------------------------------------------


@_register_resnet(18, residual=True)
def resnet18(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (2, 2, 2, 2),
) -> dict:
    """torchvision's ResNet-18: 8 basic blocks in four stages [2, 2, 2, 2]."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "basic_block",
        residual=True,
    )


@_register_resnet(18, residual=False)
def plain18(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (2, 2, 2, 2),
) -> dict:
    """ResNet-18 without its skip connections (He et al.'s plain-18 baseline)."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "basic_block",
        residual=False,
    )


@_register_resnet(34, residual=True)
def resnet34(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 4, 6, 3),
) -> dict:
    """torchvision's ResNet-34: 16 basic blocks in four stages [3, 4, 6, 3]."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "basic_block",
        residual=True,
    )


@_register_resnet(34, residual=False)
def plain34(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 4, 6, 3),
) -> dict:
    """ResNet-34 without its skip connections (He et al.'s plain-34 baseline)."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "basic_block",
        residual=False,
    )


@_register_resnet(50, residual=True)
def resnet50(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 4, 6, 3),
) -> dict:
    """torchvision's ResNet-50: 16 bottleneck blocks in four stages [3, 4, 6, 3]."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "bottleneck",
        residual=True,
    )


@_register_resnet(50, residual=False)
def plain50(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 4, 6, 3),
) -> dict:
    """ResNet-50 without its skip connections (He et al.'s plain-50 baseline)."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "bottleneck",
        residual=False,
    )


@_register_resnet(101, residual=True)
def resnet101(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 4, 23, 3),
) -> dict:
    """torchvision's ResNet-101: 33 bottleneck blocks in four stages [3, 4, 23, 3]."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "bottleneck",
        residual=True,
    )


@_register_resnet(101, residual=False)
def plain101(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 4, 23, 3),
) -> dict:
    """ResNet-101 without its skip connections (He et al.'s plain-101 baseline)."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "bottleneck",
        residual=False,
    )


@_register_resnet(152, residual=True)
def resnet152(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 8, 36, 3),
) -> dict:
    """torchvision's ResNet-152: 50 bottleneck blocks in four stages [3, 8, 36, 3]."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "bottleneck",
        residual=True,
    )


@_register_resnet(152, residual=False)
def plain152(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (224, 224),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 8, 36, 3),
) -> dict:
    """ResNet-152 without its skip connections (He et al.'s plain-152 baseline)."""
    return _resnet(
        in_channels,
        input_size,
        num_classes,
        width,
        batch_norm,
        activation,
        dropout,
        blocks,
        "bottleneck",
        residual=False,
    )


# He et al.'s CIFAR ResNets ------------------------------------------------------


@_register_cifar_resnet(20, residual=True)
def resnet20(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 3, 3),
) -> dict:
    """He et al.'s CIFAR ResNet-20: three stages of 3 basic blocks (16, 32, 64 filters), option A."""
    return _cifar_resnet(
        in_channels, input_size, num_classes, width, batch_norm, activation, dropout, blocks, residual=True
    )


@_register_cifar_resnet(20, residual=False)
def plain20(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (3, 3, 3),
) -> dict:
    """CIFAR ResNet-20 without its skip connections (He et al.'s plain-20), same parameters."""
    return _cifar_resnet(
        in_channels, input_size, num_classes, width, batch_norm, activation, dropout, blocks, residual=False
    )


@_register_cifar_resnet(32, residual=True)
def resnet32(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (5, 5, 5),
) -> dict:
    """He et al.'s CIFAR ResNet-32: three stages of 5 basic blocks (16, 32, 64 filters), option A."""
    return _cifar_resnet(
        in_channels, input_size, num_classes, width, batch_norm, activation, dropout, blocks, residual=True
    )


@_register_cifar_resnet(32, residual=False)
def plain32(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (5, 5, 5),
) -> dict:
    """CIFAR ResNet-32 without its skip connections (He et al.'s plain-32), same parameters."""
    return _cifar_resnet(
        in_channels, input_size, num_classes, width, batch_norm, activation, dropout, blocks, residual=False
    )


@_register_cifar_resnet(44, residual=True)
def resnet44(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (7, 7, 7),
) -> dict:
    """He et al.'s CIFAR ResNet-44: three stages of 7 basic blocks (16, 32, 64 filters), option A."""
    return _cifar_resnet(
        in_channels, input_size, num_classes, width, batch_norm, activation, dropout, blocks, residual=True
    )


@_register_cifar_resnet(44, residual=False)
def plain44(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (7, 7, 7),
) -> dict:
    """CIFAR ResNet-44 without its skip connections (He et al.'s plain-44), same parameters."""
    return _cifar_resnet(
        in_channels, input_size, num_classes, width, batch_norm, activation, dropout, blocks, residual=False
    )


@_register_cifar_resnet(56, residual=True)
def resnet56(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (9, 9, 9),
) -> dict:
    """He et al.'s CIFAR ResNet-56: three stages of 9 basic blocks (16, 32, 64 filters), option A."""
    return _cifar_resnet(
        in_channels, input_size, num_classes, width, batch_norm, activation, dropout, blocks, residual=True
    )


@_register_cifar_resnet(56, residual=False)
def plain56(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = (32, 32),
    width: float = 1.0,
    batch_norm: bool = True,
    activation: str = "relu",
    dropout: float = 0.0,
    blocks: Sequence[int] = (9, 9, 9),
) -> dict:
    """CIFAR ResNet-56 without its skip connections (He et al.'s plain-56), same parameters."""
    return _cifar_resnet(
        in_channels, input_size, num_classes, width, batch_norm, activation, dropout, blocks, residual=False
    )
