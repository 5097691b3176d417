"""The app's pages, in one list: the router builds navigation from it and the
home page draws a card for each. Add a page here and it appears in both."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    path: str  # file under pages/
    title: str
    icon: str  # a Material icon name, as st.Page accepts
    url_path: str
    blurb: str  # what you can do there, one or two sentences for the home page card
    section: str = "Learn"


PAGES: list[PageEntry] = [
    PageEntry(
        "pages/conv.py",
        "Convolution & Pooling",
        ":material/grid_on:",
        "conv",
        "Set kernel, stride, padding, dilation and groups and watch the output shape, formula, parameters, "
        "MACs and receptive field. See the kernel slide over the input, filter your own photo, and test "
        "how pooling buys translation invariance.",
    ),
    PageEntry(
        "pages/architecture.py",
        "Architecture Lab",
        ":material/account_tree:",
        "architecture",
        "Start from SimpleCNN, LeNet-5, AlexNet, VGG or ResNet (or nothing), add and edit layers and blocks, and "
        "read the exact table: shapes, parameters, MACs, memory and receptive field, with the network drawn and "
        "skip connections as arcs. Export the PyTorch code or share a link.",
        section="Build",
    ),
    PageEntry(
        "pages/augment.py",
        "Augmentation Studio",
        ":material/auto_fix_high:",
        "augment",
        "Build a torchvision augmentation pipeline (the article's, a standard recipe or your own), see 16 random "
        "draws on your own photos, step through each transform, mix a batch with MixUp/CutMix, and export the code.",
        section="Build",
    ),
    PageEntry(
        "pages/train.py",
        "Training Runs",
        ":material/monitoring:",
        "train",
        "Train SimpleCNN, a ResNet or your own model on handwritten digits, generated shapes, CIFAR-10 or your own "
        "images: watch the live loss and accuracy, stop, compare runs side by side, and see the confusion matrix, "
        "the mistakes and predictions on your own picture.",
        section="Train",
    ),
    PageEntry(
        "pages/transfer.py",
        "Transfer Learning",
        ":material/move_down:",
        "transfer",
        "Take ResNet-50 (or another torchvision backbone, or a model you trained here), freeze it stage by stage, "
        "design the new head and watch the trainable and frozen counts change; then fine-tune it on a dataset and "
        "compare it with the same network trained from scratch.",
        section="Labs",
    ),
    PageEntry(
        "pages/gradients.py",
        "Skip Connections & Gradients",
        ":material/trending_down:",
        "gradients",
        "Train a deep plain network and its residual twin side by side and measure the gradient reaching every "
        "layer: see it vanish without skip connections and flow through F(x) + x with them.",
        section="Labs",
    ),
    PageEntry(
        "pages/inside.py",
        "Inside a Trained Network",
        ":material/visibility:",
        "inside",
        "Open a model you trained (or any zoo model with a weights file): its first-layer filters, the feature maps of "
        "every layer for a picture, Grad-CAM heatmaps of where it looks for each class, and its top predictions.",
        section="Labs",
    ),
]
