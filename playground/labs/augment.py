"""The Augmentation Studio's one config object (design principle 4).

``StudioConfig`` holds everything the page shows; it round-trips through the
URL (``playground.common.urlstate``), so a pipeline with its seed and photo is a
shareable link. Steps are stored compactly (only parameters that differ from
their schema defaults) to keep links short; ``studio_spec`` expands them and
reports, rather than raises, anything a hand-edited link got wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from playground.augment.pipelines import PIPELINES
from playground.augment.preview import PREVIEW_MAX_SIDE
from playground.augment.spec import PipelineError, normalize_spec
from playground.augment.transforms import TRANSFORMS

GRID_SIZES = (4, 8, 16, 32)
MAX_SIDES = (32, 48, 64, 128, 256, 512, 1024, 2048)
DEFAULT_PRESET = "article-train"


def compact_steps(spec: dict) -> list[dict]:
    """Steps with only their non-default parameters (``enabled`` only when off): short, readable JSON."""
    out = []
    for step in normalize_spec(spec)["steps"]:
        info = TRANSFORMS.get(step["name"])
        params = {p.name: step["params"][p.name] for p in info.params if step["params"][p.name] != p.default}
        d: dict = {"name": step["name"]}
        if params:
            d["params"] = params
        if not step["enabled"]:
            d["enabled"] = False
        out.append(d)
    return out


def preset_steps(name: str) -> list[dict]:
    """The compact steps of preset ``name``."""
    return compact_steps(PIPELINES.get(name).spec())


@dataclass
class StudioConfig:
    """Everything the studio page shows; every field has a default and a URL form."""

    preset: str = DEFAULT_PRESET  # the preset the steps started from (shown, not enforced)
    steps: list = field(default_factory=lambda: preset_steps(DEFAULT_PRESET))
    sample: str = "chelsea.png"  # bundled photo used when nothing is uploaded
    n: int = 16  # grid size
    seed: int = 0
    max_side: int = PREVIEW_MAX_SIDE  # photos are downscaled once on arrival so neither side exceeds this
    inspect: int = 1  # which grid sample (1-based) the step-through follows


def studio_spec(cfg: StudioConfig) -> tuple[dict, list[str]]:
    """The config's pipeline as a full spec, plus sentences for whatever could not be used.

    A broken pipeline (say, from an edited link) falls back to the config's preset.
    """
    problems = []
    try:
        return normalize_spec({"steps": cfg.steps}), problems
    except PipelineError as exc:
        problems.append(
            f"The pipeline in the link could not be used ({exc}) The {cfg.preset!r} preset is shown instead."
        )
    name = cfg.preset if cfg.preset in PIPELINES else DEFAULT_PRESET
    return PIPELINES.get(name).spec(), problems


def clamp_config(cfg: StudioConfig) -> tuple[StudioConfig, list[str]]:
    """Pull out-of-range numbers from a link back into what the widgets offer, saying so."""
    from dataclasses import replace

    from playground.common.images import sample_images

    problems, changes = [], {}
    if cfg.n not in GRID_SIZES:
        changes["n"] = min(GRID_SIZES, key=lambda g: abs(g - cfg.n))
    if cfg.max_side not in MAX_SIDES:
        changes["max_side"] = min(MAX_SIDES, key=lambda g: abs(g - cfg.max_side))
    if not 0 <= cfg.seed <= 2**31 - 1:
        changes["seed"] = 0
    if not 1 <= cfg.inspect <= max(GRID_SIZES):
        changes["inspect"] = 1
    if cfg.sample not in sample_images():
        changes["sample"] = StudioConfig.sample
    if cfg.preset not in PIPELINES:
        changes["preset"] = DEFAULT_PRESET
    for k, v in changes.items():
        problems.append(f"The link's {k} = {getattr(cfg, k)!r} is not available; using {v!r}.")
    return replace(cfg, **changes), problems
