"""Transfer learning, as the article teaches it: a pre-trained backbone, a new head, freezing.

* Backbones: torchvision's CNNs (``BACKBONES``), or a model trained earlier in the app.
* Weights: torchvision's ImageNet weights when they are in the torch cache or can be
  downloaded; a state_dict file the user uploads (``torch.load(..., weights_only=True)``, keys
  checked); a run's checkpoint; or random initialisation. Offline without weights, the message
  says where the file would go and offers the other routes.
* Freezing: feature extraction (everything frozen, the head trains) or fine-tuning (the last
  N stages unfrozen too), with a lower learning rate for the backbone than for the head.
* The head: a list of layers, the article's by default
  (Dropout 0.3, Linear 256, ReLU, Dropout 0.2, Linear classes).

Counting parameters builds the model on the meta device, so the page updates instantly.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn
import torchvision

from playground.common.registry import Registry
from playground.common.weightsfile import check_weights_archive, load_error
from playground.models.bundled import BUNDLED, bundled_state_dict, is_bundled

BACKBONES: Registry = Registry("backbone")
for _name in (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "vgg16",
    "vgg16_bn",
    "vgg11",
    "alexnet",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "densenet121",
    "resnext50_32x4d",
    "convnext_tiny",
    "regnet_y_400mf",
    "shufflenet_v2_x1_0",
):
    BACKBONES.register(_name, _name)
for _name in BUNDLED.names():  # pre-trained here and shipped in assets/ (playground.models.bundled)
    BACKBONES.register(_name, _name)

MODES = ("feature_extraction", "fine_tuning")
# "bundled": a backbone pre-trained here and shipped with the app (the offline choice; see models.bundled).
WEIGHT_SOURCES = ("imagenet", "bundled", "random", "upload", "run")


def article_head() -> list[dict]:
    """The article's classifier: Dropout(0.3), Linear(in, 256), ReLU, Dropout(0.2), Linear(256, classes)."""
    return [
        {"type": "dropout", "p": 0.3},
        {"type": "linear", "out": 256},
        {"type": "relu"},
        {"type": "dropout", "p": 0.2},
        {"type": "linear", "out": "classes"},
    ]


@dataclass
class TransferConfig:
    """One transfer-learning setup (the Transfer page's config object)."""

    backbone: str = "resnet50"
    weights: str = "imagenet"  # imagenet | random | upload | run
    num_classes: int = 5
    head: list = field(default_factory=article_head)
    mode: str = "feature_extraction"  # or fine_tuning
    unfrozen_stages: int = 1  # fine-tuning: how many of the last backbone stages train
    stage_overrides: dict = field(default_factory=dict)  # stage name -> trainable, the per-stage toggles
    backbone_lr_scale: float = 0.1  # backbone lr = head lr x this, in fine-tuning
    keep_frozen_bn_eval: bool = True  # frozen stages keep their BatchNorm statistics


class WeightsUnavailable(ValueError):
    """Weights that cannot be had here; the message says why and what to do instead."""


# --------------------------------------------------------------------------- head and stages


# name -> builder(layer, width, num_classes, where) -> the module; ``width`` is the features arriving,
# ``where`` ("Head layer 2") starts the builder's error sentences.
HEAD_LAYER_REGISTRY: Registry[Callable[[dict, int, int, str], nn.Module]] = Registry("head layer")


@HEAD_LAYER_REGISTRY.register("dropout")
def head_dropout(layer: dict, width: int, num_classes: int, where: str) -> nn.Dropout:
    """``{"type": "dropout", "p": 0.5}``: a Dropout with probability ``p`` (0.5 if unset)."""
    p = float(layer.get("p", 0.5))
    if not 0 <= p < 1:
        raise ValueError(f"{where}: dropout probability must be in [0, 1), got {p}.")
    return nn.Dropout(p)


@HEAD_LAYER_REGISTRY.register("linear")
def head_linear(layer: dict, width: int, num_classes: int, where: str) -> nn.Linear:
    """``{"type": "linear", "out": 256}``: a Linear layer; ``"out": "classes"`` (the default) means the classes."""
    out = layer.get("out", "classes")
    out = num_classes if out == "classes" else int(out)
    if out < 1:
        raise ValueError(f"{where}: a Linear layer needs at least 1 output, got {out}.")
    return nn.Linear(width, out)


@HEAD_LAYER_REGISTRY.register("relu")
def head_relu(layer: dict, width: int, num_classes: int, where: str) -> nn.ReLU:
    """``{"type": "relu"}``: a ReLU."""
    return nn.ReLU()


@HEAD_LAYER_REGISTRY.register("gelu")
def head_gelu(layer: dict, width: int, num_classes: int, where: str) -> nn.GELU:
    """``{"type": "gelu"}``: a GELU."""
    return nn.GELU()


@HEAD_LAYER_REGISTRY.register("batchnorm")
def head_batchnorm(layer: dict, width: int, num_classes: int, where: str) -> nn.BatchNorm1d:
    """``{"type": "batchnorm"}``: a BatchNorm1d over the features arriving."""
    return nn.BatchNorm1d(width)


HEAD_LAYERS = tuple(HEAD_LAYER_REGISTRY.names())  # the head editor's menu, in order


def build_head(layers: list[dict], in_features: int, num_classes: int) -> nn.Sequential:
    """The head from its layer list; ``"out": "classes"`` means the number of classes."""
    mods: list[nn.Module] = []
    width = in_features
    if not layers:
        raise ValueError("The head needs at least one layer; end it with a Linear layer to the classes.")
    for i, layer in enumerate(layers):
        kind = layer.get("type")
        if not isinstance(kind, str) or kind not in HEAD_LAYER_REGISTRY:  # a list from a hostile link is unhashable
            raise ValueError(f"Head layer {i + 1}: unknown type {kind!r}; use one of {', '.join(HEAD_LAYERS)}.")
        mod = HEAD_LAYER_REGISTRY.get(kind)(layer, width, num_classes, f"Head layer {i + 1}")
        mods.append(mod)
        if isinstance(mod, nn.Linear):
            width = mod.out_features  # only a Linear layer changes the number of features
    if width != num_classes:
        raise ValueError(
            f"The head ends with {width} outputs but there are {num_classes} classes: "
            "make its last Linear layer output 'classes'."
        )
    return nn.Sequential(*mods)


def head_path(model: nn.Module) -> str:
    """The qualified name of the classifier to replace: the model's last ``nn.Linear``."""
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("This backbone has no Linear classifier to replace.")
    return linears[-1]


def _set_module(model: nn.Module, path: str, new: nn.Module) -> None:
    parent_name, _, child = path.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def stages(model: nn.Module, head: str) -> list[tuple[str, list[str]]]:
    """The backbone as named stages (earliest first), each a list of module paths.

    ResNet-style models: stem (conv1, bn1), layer1..layer4. VGG/AlexNet: the conv blocks between
    max-pools, then the classifier's hidden layers. Others: the children of ``features`` (or the
    top-level children), then what is left of the classifier.
    """
    children = dict(model.named_children())
    head_parent = head.rpartition(".")[0]
    out: list[tuple[str, list[str]]] = []
    if "layer1" in children:  # ResNet, ResNeXt, wide ResNet and our zoo's ResNets
        stem = [
            n for n in children if n not in ("layer1", "layer2", "layer3", "layer4", "fc", "avgpool", "maxpool", "relu")
        ]
        out.append(("stem", stem))
        out += [(n, [n]) for n in ("layer1", "layer2", "layer3", "layer4") if n in children]
    elif "features" in children:
        feats = children["features"]
        if any(isinstance(m, nn.MaxPool2d) for m in feats.children()):  # VGG / AlexNet: blocks end at max-pools
            block: list[str] = []
            for name, m in feats.named_children():
                block.append(f"features.{name}")
                if isinstance(m, nn.MaxPool2d):
                    out.append((f"block{len(out) + 1}", block))
                    block = []
            if block:
                out.append((f"block{len(out) + 1}", block))
        else:
            out += [(f"features.{n}", [f"features.{n}"]) for n, _ in feats.named_children()]
    else:
        out += [
            (n, [n])
            for n, m in children.items()
            if n != head and n != head_parent and any(True for _ in m.parameters())
        ]
    if head_parent and head_parent in children:
        hidden = [
            f"{head_parent}.{n}"
            for n, m in children[head_parent].named_children()
            if f"{head_parent}.{n}" != head and any(True for _ in m.parameters())
        ]
        if hidden:
            out.append((head_parent, hidden))
    return out


# --------------------------------------------------------------------------- model


class TransferModel(nn.Module):
    """A backbone whose classifier was replaced by a new head, with freezing applied.

    ``train()`` keeps the BatchNorm layers of frozen stages in eval mode (when asked), so
    feature extraction really leaves the pre-trained network untouched.
    """

    def __init__(self, net: nn.Module, head: str, stage_list, trainable_stages: set[str], keep_frozen_bn_eval: bool):
        super().__init__()
        self.net = net
        self.head_name = head
        self.stage_list = stage_list
        self.trainable_stages = trainable_stages
        self.keep_frozen_bn_eval = keep_frozen_bn_eval

    def forward(self, x):
        return self.net(x)

    def frozen_modules(self):
        for name, paths in self.stage_list:
            if name not in self.trainable_stages:
                for p in paths:
                    yield self.net.get_submodule(p)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.keep_frozen_bn_eval:
            for m in self.frozen_modules():
                for bn in m.modules():
                    if isinstance(bn, nn.modules.batchnorm._BatchNorm):
                        bn.eval()
        return self

    def param_groups(self, lr: float, backbone_lr_scale: float) -> list[dict]:
        """Optimizer groups: the head at ``lr``, unfrozen backbone stages at ``lr x backbone_lr_scale``."""
        head_params = [p for p in self.net.get_submodule(self.head_name).parameters() if p.requires_grad]
        head_ids = {id(p) for p in head_params}
        body = [p for p in self.net.parameters() if p.requires_grad and id(p) not in head_ids]
        groups = [{"params": head_params, "lr": lr, "name": "head"}]
        if body:
            groups.append({"params": body, "lr": lr * backbone_lr_scale, "name": "backbone"})
        return groups


def trainable_stage_names(cfg: TransferConfig, stage_list) -> set[str]:
    """Which stages train: none (feature extraction) or the last N (fine-tuning), then per-stage toggles."""
    names = [n for n, _ in stage_list]
    trainable = (
        set()
        if cfg.mode == "feature_extraction"
        else set(names[max(len(names) - max(cfg.unfrozen_stages, 0), 0) :] if cfg.unfrozen_stages else [])
    )
    for name, on in (cfg.stage_overrides or {}).items():
        if name in names:
            (trainable.add if on else trainable.discard)(name)
    return trainable


def _torchvision_model(name: str) -> nn.Module:
    """Backbone ``name`` without weights: torchvision's model, or a bundled backbone's architecture."""
    BACKBONES.get(name)  # ValueError listing the choices for an unknown name
    if is_bundled(name):
        return BUNDLED.get(name).build()
    return torchvision.models.get_model(name, weights=None)


def backbone_state_dict(cfg: TransferConfig, allow_download: bool = True) -> dict | None:
    """The weights ``cfg.weights`` names for a torchvision or bundled backbone (None: random)."""
    if cfg.weights == "bundled":
        if not is_bundled(cfg.backbone):
            raise ValueError(
                f"{cfg.backbone} has no bundled pre-trained weights; the bundled backbones are "
                f"{', '.join(BUNDLED.names())}."
            )
        return bundled_state_dict(cfg.backbone)
    if cfg.weights == "imagenet":
        if is_bundled(cfg.backbone):
            raise ValueError(f"{cfg.backbone} has no ImageNet weights: use its bundled pre-trained ones.")
        return imagenet_state_dict(cfg.backbone, allow_download=allow_download)
    return None


def build_transfer_model(
    cfg: TransferConfig, net: nn.Module | None = None, state_dict: dict | None = None
) -> TransferModel:
    """Backbone (``net`` or torchvision's ``cfg.backbone``) + weights + new head + freezing.

    ``state_dict`` holds the backbone's weights (ImageNet, uploaded or a run's); its classifier
    entries are ignored because the head is replaced.
    """
    if cfg.mode not in MODES:
        raise ValueError(f"Unknown mode {cfg.mode!r}; use one of {', '.join(MODES)}.")
    net = net if net is not None else _torchvision_model(cfg.backbone)
    head = head_path(net)
    if state_dict is not None:
        load_backbone_weights(net, state_dict, head)
    old = net.get_submodule(head)
    _set_module(net, head, build_head(cfg.head, old.in_features, cfg.num_classes))
    stage_list = stages(net, head)
    trainable = trainable_stage_names(cfg, stage_list)
    for p in net.parameters():
        p.requires_grad = False
    for p in net.get_submodule(head).parameters():
        p.requires_grad = True
    for name, paths in stage_list:
        if name in trainable:
            for path in paths:
                for p in net.get_submodule(path).parameters():
                    p.requires_grad = True
    return TransferModel(net, head, stage_list, trainable, cfg.keep_frozen_bn_eval)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total), as the article prints them."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total


def describe(cfg: TransferConfig, net_factory=None) -> dict:
    """Counts and stages for the page, computed on the meta device (no memory, no waiting).

    Returns ``{"trainable", "total", "frozen", "stages": [(name, params, trainable)], "head": str,
    "head_module": str}`` (the head as PyTorch prints it).
    """
    try:
        with torch.device("meta"):
            model = build_transfer_model(cfg, net=net_factory() if net_factory else None)
    except NotImplementedError:  # a few constructors (RegNet) compute with tensor values: build for real
        model = build_transfer_model(cfg, net=net_factory() if net_factory else None)
    trainable, total = count_parameters(model)
    rows = []
    for name, paths in model.stage_list:
        n = sum(p.numel() for path in paths for p in model.net.get_submodule(path).parameters())
        rows.append((name, n, name in model.trainable_stages))
    head_n = sum(p.numel() for p in model.net.get_submodule(model.head_name).parameters())
    rows.append(("head (new)", head_n, True))
    return {
        "trainable": trainable,
        "total": total,
        "frozen": total - trainable,
        "stages": rows,
        "head": model.head_name,
        "head_module": repr(model.net.get_submodule(model.head_name)),
    }


def article_line(trainable: int, total: int) -> str:
    """The article's print statement: ``Trainable: 525,829 / 24,033,861 parameters``."""
    return f"Trainable: {trainable:,} / {total:,} parameters"


# --------------------------------------------------------------------------- weights


def _unwrap(obj) -> dict:
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    for key in ("state_dict", "model", "model_state_dict", "weights"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            return _unwrap(obj[key])
    raise ValueError(
        "The file holds no state_dict (a mapping of parameter names to tensors). Save one with "
        "torch.save(model.state_dict(), path)."
    )


def read_weights_file(data: bytes, name: str = "weights file") -> dict:
    """An uploaded weights file -> state_dict: a safetensors file, or a ``torch.save`` file read with
    ``weights_only=True``; in neither can code run."""
    if not data:
        raise ValueError(f"{name} is empty.")
    from playground.models.export import is_safetensors, read_safetensors

    check_weights_archive(data, name)  # the tensors' bytes from the archive's directory, before anything loads
    try:
        if is_safetensors(data):  # told apart by content: the file name may say .pt
            obj = read_safetensors(data)
        else:
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, refused globals: all mean "not a weights file"
        raise ValueError(
            f"{name} is not a PyTorch weights file (torch.save or safetensors) this app can read safely "
            f"({load_error(exc)})."
        ) from None
    sd = _unwrap(obj)
    # Strip the prefixes DataParallel/our own wrapper add, so any of them loads.
    for prefix in ("module.", "net."):
        if all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix) :]: v for k, v in sd.items()}
    return sd


def load_backbone_weights(net: nn.Module, state_dict: dict, head: str) -> None:
    """Load everything but the classifier; a mismatch gets a sentence naming the keys."""
    check_backbone_weights(net, state_dict, head)
    own = net.state_dict()
    given = {k: v for k, v in state_dict.items() if not k.startswith(head + ".")}
    net.load_state_dict({**own, **given}, strict=True)


def check_backbone_weights(net: nn.Module, state_dict: dict, head: str | None) -> int:
    """Do these weights fit ``net`` (classifier ``head`` aside; ``None``: the whole model)?

    Returns how many tensors will load. Only names and shapes are compared, so ``net`` may live
    on the meta device (instant, no memory). A mismatch raises ValueError with a sentence naming the keys.
    """
    own = net.state_dict()
    skip = (head + ".") if head else None
    body_keys = {k for k in own if not (skip and k.startswith(skip))}
    given = {k: v for k, v in state_dict.items() if not (skip and k.startswith(skip))}
    missing = sorted(body_keys - set(given))
    unexpected = sorted(set(given) - body_keys)
    wrong = sorted(k for k in body_keys & set(given) if tuple(own[k].shape) != tuple(given[k].shape))
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        if wrong:
            k = wrong[0]
            parts.append(
                f"{len(wrong)} with other shapes (e.g. {k}: file {tuple(given[k].shape)}, model {tuple(own[k].shape)})"
            )
        raise ValueError(
            f"These weights do not fit this {'backbone' if head else 'model'}: "
            + "; ".join(parts)
            + f". Pick the {'backbone' if head else 'model'} they were saved from."
        )
    return len(given)


def imagenet_weights(name: str):
    """torchvision's ImageNet weights enum entry for backbone ``name`` (its ``DEFAULT``): the one place
    its preprocessing (``transforms()``) and class names (``meta["categories"]``) are read from."""
    return torchvision.models.get_model_weights(BACKBONES.get(name)).DEFAULT


def imagenet_preprocessing(name: str) -> dict:
    """What ``weights.transforms()`` does for backbone ``name``, as plain values: ``resize`` (shorter side),
    ``crop`` (square side), ``interpolation`` (its name), ``mean`` and ``std`` (per RGB channel)."""
    t = imagenet_weights(name).transforms()
    return {
        "resize": int(t.resize_size[0]),
        "crop": int(t.crop_size[0]),
        "interpolation": t.interpolation.value,
        "antialias": bool(t.antialias),
        "mean": [float(v) for v in t.mean],
        "std": [float(v) for v in t.std],
    }


def imagenet_categories() -> list[str]:
    """ImageNet's 1,000 class names, shipped inside torchvision (no download), in the classifiers' order."""
    return list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_weights_file(name: str) -> str:
    """Where torch keeps torchvision's ImageNet weights for backbone ``name`` once downloaded."""
    if is_bundled(name):
        raise WeightsUnavailable(f"{name} has no ImageNet weights: it is bundled with its own pre-trained ones.")
    weights = torchvision.models.get_model_weights(name).DEFAULT
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))


def download_weights(url: str, path: str | os.PathLike, *, timeout: float = 10.0) -> None:
    """Fetch a weights file to ``path`` with its own connect/read ``timeout`` (this request's alone, never
    the process's socket default, which would slow or break every other connection of the app server).

    Written to a temporary file beside ``path`` and renamed, so a cut download leaves nothing behind;
    torchvision's file names end in the first hex digits of their SHA-256, which are checked
    (ValueError on a mismatch), as ``torch.hub`` does.
    """
    import hashlib
    import re
    import urllib.request

    dest = os.fspath(path)
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    tmp = f"{dest}.{os.getpid()}.part"
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        prefix = re.search(r"-([a-f0-9]{6,})\.", os.path.basename(dest))
        if prefix and not digest.hexdigest().startswith(prefix.group(1)):
            raise ValueError(f"The download of {os.path.basename(dest)} is corrupt (its SHA-256 does not match).")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def imagenet_state_dict(name: str, allow_download: bool = True, timeout: float = 10.0) -> dict:
    """torchvision's ImageNet weights from the torch cache, or downloaded when the machine is online."""
    path = imagenet_weights_file(name)
    if os.path.exists(path):
        return torch.load(path, map_location="cpu", weights_only=True)
    if allow_download:
        try:
            download_weights(imagenet_weights(name).url, path, timeout=timeout)
            return torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, ValueError):  # offline: URLError (an OSError), timeouts, DNS failures, a bad file
            pass
    raise WeightsUnavailable(
        f"torchvision's ImageNet weights for {name} are not in the torch cache and cannot be downloaded "
        f"(this machine is offline). Put the file at {path}, upload a weights file, pick a model trained "
        "in the app, or start from random initialisation."
    )
