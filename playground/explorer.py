"""The Convolution & Pooling Explorer's one config object, and its presets.

The page keeps everything it shows in ``ExplorerConfig``; it round-trips
through the URL (``playground.urlstate``), so a setup is shared as a link.
Layers are kept as plain dicts (``conv.spec_to_dict``) so the config stays
JSON-friendly; ``layer_specs`` turns them into specs, reporting (not raising)
anything a hand-edited link got wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from playground.conv import ConvSpec, LayerError, LayerSpec, PoolSpec, spec_from_dict, spec_to_dict

MAX_LAYERS = 12


def default_layers() -> list[dict]:
    """Conv 3x3 (padding 1) then 2x2 max pooling: the first stage of the article's SimpleCNN."""
    return [spec_to_dict(ConvSpec(16, 3, 1, 1)), spec_to_dict(PoolSpec("max", 2))]


@dataclass
class ExplorerConfig:
    """Everything the explorer page shows; every field has a default and a URL form."""

    batch: int = 4
    channels: int = 3
    height: int = 32
    width: int = 32
    layers: list = field(default_factory=default_layers)
    window_layer: int = 1  # which layer (1-based) the sliding-window view animates
    window_height: int = 7  # the sliding-window view uses its own small input so cells stay readable
    window_width: int = 7
    image: str = "chelsea.png"
    kernel: str = "sobel_x"
    kernel_seed: int = 0
    max_shift: int = 6

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.channels, self.height, self.width)


def layer_specs(cfg: ExplorerConfig) -> tuple[list[LayerSpec], list[str]]:
    """The config's layers as specs, plus a sentence for each entry that could not be read."""
    specs, problems = [], []
    for i, d in enumerate(cfg.layers[:MAX_LAYERS]):
        try:
            if not isinstance(d, dict):
                raise LayerError("not a layer description")
            specs.append(spec_from_dict(d))
        except (LayerError, TypeError, ValueError) as exc:
            problems.append(f"Layer {i + 1} of the link was dropped: {exc}.")
    if len(cfg.layers) > MAX_LAYERS:
        problems.append(f"Only the first {MAX_LAYERS} layers are shown.")
    return specs, problems


def article_example(stride: int) -> ExplorerConfig:
    """The article's first code sample: ``Conv2d(3, 16, 3, stride, padding=1)`` on ``[4, 3, 32, 32]``."""
    return ExplorerConfig(batch=4, channels=3, height=32, width=32, layers=[spec_to_dict(ConvSpec(16, 3, stride, 1))])


def first_conv_and_pool(specs: list[LayerSpec]) -> tuple[ConvSpec, PoolSpec]:
    """The geometry the image tab uses: the chain's first conv and the first pool after it (defaults if absent)."""
    conv = next((s for s in specs if isinstance(s, ConvSpec)), ConvSpec(1, 3, 1, 1))
    after = specs[specs.index(conv) + 1 :] if conv in specs else specs
    pool = next((s for s in after if isinstance(s, PoolSpec)), PoolSpec("max", 2))
    return conv, pool
