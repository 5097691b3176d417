"""The Augmentation Studio's one config object.

``StudioConfig`` holds everything the page shows; it round-trips through the
URL (``playground.common.urlstate``), so a pipeline with its seed and photo is a
shareable link, and each field's ``setting`` says what the page offers (a link's
values are pulled into it as they are read). Steps are stored compactly (only parameters that differ from
their schema defaults) to keep links short; ``studio_spec`` expands them and
reports, rather than raises, anything a hand-edited link got wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.augment.pipelines import PIPELINES
from playground.augment.preview import PREVIEW_MAX_SIDE
from playground.augment.spec import PipelineError, normalize_spec
from playground.augment.transforms import TRANSFORMS
from playground.common.images import sample_images
from playground.common.settings import setting

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
    """Everything the studio page shows; every field has a default, a URL form and what it may be (``setting``)."""

    preset: str = setting(
        DEFAULT_PRESET,
        choices=lambda: PIPELINES.names(),
        help="the preset the steps started from (shown, not enforced)",
    )
    steps: list = setting(factory=lambda: preset_steps(DEFAULT_PRESET))  # read by ``studio_spec``
    sample: str = setting(
        "chelsea.png", choices=lambda: sample_images(), help="bundled photo used when nothing is uploaded"
    )
    n: int = setting(16, choices=GRID_SIZES, help="grid size")
    seed: int = setting(0, lo=0, hi=2**31 - 1, reset=True)
    max_side: int = setting(
        PREVIEW_MAX_SIDE, choices=MAX_SIDES, help="photos are downscaled once on arrival so neither side exceeds this"
    )
    inspect: int = setting(
        1, lo=1, hi=max(GRID_SIZES), reset=True, help="which grid sample (1-based) the step-through follows"
    )


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


def preset_caption(preset: str, steps: list[dict]) -> str:
    """The sentence under the preset menu: the preset's description while the steps are its own, else that they
    were edited (an edited pipeline is no longer "exactly as printed")."""
    p = PIPELINES.get(preset) if preset in PIPELINES else None
    if p is None:
        return "A pipeline of your own."
    if compact_steps({"steps": steps}) == compact_steps(p.spec()):
        return p.description
    return f"Edited from the preset “{p.title}”, so its description no longer applies. Pick the preset again to get it back."


def normalized_sentence(mean: list[float], std: list[float]) -> str:
    """What the normalized statistics say, following the numbers (not "near 0" beside a mean of -1.3)."""
    means = ", ".join(f"{m:+.2f}" for m in mean)
    if all(abs(m) <= 0.5 for m in mean) and all(0.5 <= s <= 2 for s in std):
        return (
            f"These are the normalized values the model receives: channel means {means}, near 0, and standard "
            "deviations near 1, as Normalize intends."
        )
    return (
        f"These are the normalized values the model receives: channel means {means} and standard deviations "
        f"{', '.join(f'{s:.2f}' for s in std)}, not near 0 and 1. Normalize's mean and std describe a whole dataset "
        "(ImageNet's, say), so one photo that is darker, brighter or more colourful than that data lands off "
        "centre; if your data differs, compute its own mean and std."
    )
