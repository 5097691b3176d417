"""A preview's work is estimated before any draw; too much is a sentence saying what to lower, at once."""

from __future__ import annotations

import time

import pytest
import torch
from torchvision import tv_tensors

from playground.augment.budget import MAX_PREVIEW_SECONDS, estimate
from playground.augment.pipelines import PIPELINES, load_pipeline
from playground.augment.preview import preview_grid, step_through
from playground.augment.spec import PipelineError, normalize_spec

HEAVY = {"steps": [{"name": "Resize", "params": {"size": 4096}}, {"name": "ElasticTransform"}, "ToTensor"]}


def test_the_widgets_maxima_are_refused_before_any_work():
    # 32 samples of a 2048-pixel photo, resized to 4096 and warped: 89 s and 1.5 GB per sample before.
    photo = tv_tensors.Image(torch.zeros(3, 1536, 2048, dtype=torch.uint8))
    t = time.perf_counter()
    with pytest.raises(PipelineError, match="lower the number of samples, the photo's max side or the Resize size"):
        preview_grid(HEAVY, photo, n=32)
    with pytest.raises(PipelineError, match="ElasticTransform is the costliest"):
        step_through(HEAVY, photo)
    assert time.perf_counter() - t < 1.0


def test_a_huge_intermediate_image_is_refused_even_for_one_sample():
    spec = {
        "steps": [{"name": "Resize", "params": {"size": [4096, 4096]}}, {"name": "Resize", "params": {"size": 4096}}]
    }
    photo = tv_tensors.Image(torch.zeros(3, 4, 4096, dtype=torch.uint8))  # the second Resize makes it 4096 x 4M
    with pytest.raises(PipelineError, match="MP\\) out of each sample"):
        preview_grid({"steps": [{"name": "Resize", "params": {"size": 4096}}]}, photo, n=1)
    assert estimate(normalize_spec(spec), (4, 4096), 1)[1] == (4096, 4096)


@pytest.mark.parametrize("preset", PIPELINES.names())
def test_every_preset_fits_a_full_grid_of_the_default_photo(preset):
    seconds, _, _ = estimate(normalize_spec(load_pipeline(preset)), (768, 1024), 16)
    assert seconds < MAX_PREVIEW_SECONDS / 5
