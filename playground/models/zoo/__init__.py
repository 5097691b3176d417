"""The model zoo: a registry of preset specs, from the article's SimpleCNN to ResNet-152.

A preset is a public function decorated with ``@register_model`` (``_api.py``), from keyword-only
knobs to a spec (``playground.models.spec``): the same kind of thing a user builds on the
Architecture Lab page, so the summary, the code export and training work on both. Where
torchvision has the model (AlexNet, VGG, ResNet-18..152) the preset equals it exactly: same module
names and parameter count, and torchvision's ``state_dict`` loads with ``strict=True``
(``tests/unit/models/test_zoo.py`` checks all of it). The families live in ``small.py``
(SimpleCNN, LeNet), ``classic.py`` (AlexNet, VGG) and ``resnet.py``; importing them registers
them, in the order menus list them.

    >>> from playground.models.zoo import build_model, model_spec, preset_info, resnet18
    >>> model = build_model("resnet18", num_classes=5)      # model.layer4, model.fc as in torchvision
    >>> spec = model_spec("vgg11", batch_norm=True, width=0.5, input_size=64)
    >>> resnet18(num_classes=5) == model_spec("resnet18", num_classes=5)
    True
"""

from playground.models.zoo._api import (
    COMMON_KNOBS,
    MODELS,
    Preset,
    build_model,
    model_spec,
    preset_info,
    register_model,
)

# Importing a family registers its presets, so this order is the order menus list them in.
# isort: off
from playground.models.zoo.small import lenet5, lenet5_modern, simplecnn
from playground.models.zoo.classic import (
    alexnet,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)
from playground.models.zoo.resnet import (
    plain18,
    plain20,
    plain32,
    plain34,
    plain44,
    plain50,
    plain56,
    plain101,
    plain152,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet56,
    resnet101,
    resnet152,
)
# isort: on

# The API, then every preset function by its registered name (in registration order).
__all__ = [
    "COMMON_KNOBS",
    "MODELS",
    "Preset",
    "build_model",
    "model_spec",
    "preset_info",
    "register_model",
    "simplecnn",
    "lenet5",
    "lenet5_modern",
    "alexnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "resnet18",
    "plain18",
    "resnet34",
    "plain34",
    "resnet50",
    "plain50",
    "resnet101",
    "plain101",
    "resnet152",
    "plain152",
    "resnet20",
    "plain20",
    "resnet32",
    "plain32",
    "resnet44",
    "plain44",
    "resnet56",
    "plain56",
]
