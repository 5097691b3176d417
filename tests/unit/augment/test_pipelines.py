"""Pipelines: the registry, specs, presets (the article's exactly), validation sentences, seeded previews."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from playground.augment import preview as ap
from playground.augment.pipelines import PIPELINES, build_batch_transform, build_transform, load_pipeline, to_json
from playground.augment.spec import PipelineError, make_step, normalize_spec
from playground.augment.transforms import TRANSFORMS, default_params
from playground.augment.validate import check, validate

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def photo(w: int = 96, h: int = 64, seed: int = 0) -> torch.Tensor:
    """A small uint8 test photo (3, h, w): smooth gradients plus noise, so every transform changes something."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([xx, yy, 1 - xx * yy]) * 200 + torch.rand(3, h, w, generator=g) * 55
    return tv_tensors.Image(base.to(torch.uint8))


def spec_of(*steps) -> dict:
    return {"steps": list(steps)}


# -- the article's pipelines, exactly ---------------------------------------------------------------


def article_train_v2():
    """The article's train_transform typed from its text, ToTensor in its v2 form."""
    return v2.Compose(
        [
            v2.RandomResizedCrop(224, scale=(0.8, 1.0)),
            v2.RandomHorizontalFlip(p=0.5),
            v2.RandomRotation(15),
            v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1),
            v2.RandomAffine(degrees=0, translate=(0.1, 0.1)),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
            v2.RandomErasing(p=0.1),
        ]
    )


def article_val_v2():
    return v2.Compose(
        [
            v2.Resize(256),
            v2.CenterCrop(224),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )


@pytest.mark.parametrize("name,reference", [("article-train", article_train_v2), ("article-val", article_val_v2)])
def test_article_presets_are_exactly_the_printed_pipelines(name, reference):
    ours, ref = build_transform(name), reference()
    assert [type(t).__name__ for t in ours.transforms] == [type(t).__name__ for t in ref.transforms]
    for a, b in zip(ours.transforms, ref.transforms):
        assert a.__dict__.keys() == b.__dict__.keys()
        for k in a.__dict__:
            if not k.startswith("_") or k in ("_fill",):
                assert str(a.__dict__[k]) == str(b.__dict__[k]), (type(a).__name__, k)
    img = photo(240, 230)
    for seed in range(3):  # and they draw the same random numbers: identical outputs
        torch.manual_seed(seed)
        x = ours(img)
        torch.manual_seed(seed)
        assert torch.equal(x, ref(img))


def test_every_preset_builds_validates_and_runs():
    img = photo(300, 260)
    expected = {"cifar": (3, 32, 32), "none": (3, 260, 300)}
    for name, preset in PIPELINES.items():
        spec = preset.spec()
        assert not [p for p in validate(spec, (260, 300)) if p.level == "error"], name
        out = ap.preview_grid(spec, img, n=2, seed=0)
        assert out[0].dtype == torch.float32 and tuple(out[0].shape) == expected.get(name, (3, 224, 224)), name
        assert preset.title and preset.description


def test_unknown_preset_lists_choices_and_registry_refuses_duplicates():
    with pytest.raises(PipelineError, match="neither a pipeline preset .*article-train.*cifar"):
        load_pipeline("imagenet-traim")
    with pytest.raises(ValueError, match="already registered"):
        PIPELINES.register("cifar", PIPELINES.get("cifar"))


# -- the transform registry ---------------------------------------------------------------------------


LISTED_IN_ISSUE = [
    "RandomResizedCrop",
    "RandomHorizontalFlip",
    "RandomRotation",
    "ColorJitter",
    "RandomAffine",
    "ToTensor",
    "Normalize",
    "RandomErasing",
    "Resize",
    "CenterCrop",
    "RandomCrop",
    "RandomVerticalFlip",
    "Grayscale",
    "RandomGrayscale",
    "GaussianBlur",
    "GaussianNoise",
    "RandomPerspective",
    "ElasticTransform",
    "RandomInvert",
    "RandomPosterize",
    "RandomSolarize",
    "RandomAdjustSharpness",
    "RandomAutocontrast",
    "RandomEqualize",
    "AutoAugment",
    "RandAugment",
    "TrivialAugmentWide",
    "AugMix",
    "MixUp",
    "CutMix",
]


def test_registry_offers_everything_the_issue_lists_with_p_where_it_applies():
    assert set(LISTED_IN_ISSUE) <= set(TRANSFORMS.names())
    for name, info in TRANSFORMS.items():
        real = getattr(v2, name, None)
        if real is not None:
            import inspect

            takes_p = "p" in inspect.signature(real).parameters
            assert info.takes_p == takes_p, name  # a p widget exactly where torchvision has p
        for p in info.params:
            if p.kind in ("int", "float"):
                assert p.lo <= (p.default if p.default is not None else p.on_value) <= p.hi, (name, p.name)


def _pipeline_around(name: str) -> dict:
    """A pipeline in which transform ``name`` with its defaults is legal."""
    info = TRANSFORMS.get(name)
    step = make_step(name)
    if info.batch_level:
        return spec_of(make_step("RandomResizedCrop", size=48), make_step("ToTensor"), step)
    if info.needs_float or name in ("GaussianNoise",):
        return spec_of(make_step("ToTensor"), step)
    if name in ("RandomSolarize",):
        return spec_of(step, make_step("ToTensor"))
    return spec_of(step, make_step("ToTensor"))


@pytest.mark.parametrize("name", TRANSFORMS.names())
def test_every_transform_runs_with_its_defaults_on_a_photo(name):
    spec = _pipeline_around(name)
    assert not [p for p in validate(spec, (64, 96)) if p.level == "error"]
    img = photo()
    out = ap.preview_grid(spec, img, n=3, seed=1)
    for x in out:
        assert x.dtype == torch.float32 and not torch.isnan(x).any() and x.shape[0] == 3
    if TRANSFORMS.get(name).batch_level:
        mixed, soft = ap.mix_batch(spec, [img, photo(seed=1), img, photo(seed=1)], [0, 1, 0, 1], 2, seed=0)
        assert mixed.shape == (4, 3, 48, 48) and torch.allclose(soft.sum(1), torch.ones(4))


@pytest.mark.parametrize("name", [n for n, i in TRANSFORMS.items() if i.takes_p])
def test_p_zero_leaves_the_image_alone_and_p_one_changes_it(name):
    img = photo()
    never = ap.preview_grid(spec_of(make_step(name, p=0.0)), img, n=3, seed=0)
    assert all(torch.equal(x, img) for x in never)
    always = ap.preview_grid(spec_of(make_step(name, p=1.0)), img, n=3, seed=0)
    assert any(not torch.equal(x, img) for x in always)


# -- specs ----------------------------------------------------------------------------------------------


def test_spec_json_round_trip_and_defaults_fill_in():
    spec = load_pipeline("article-train")
    assert load_pipeline(to_json(spec)) == spec
    assert load_pipeline(json.loads(to_json(spec))) == spec
    short = normalize_spec([{"name": "RandomCrop", "params": {"size": 32, "padding": 4}}, "RandomHorizontalFlip"])
    assert short["steps"][0]["params"] == {**default_params("RandomCrop"), "size": 32, "padding": 4}
    assert short["steps"][1] == {"name": "RandomHorizontalFlip", "params": {"p": 0.5}, "enabled": True}


def test_load_pipeline_from_a_json_file(tmp_path):
    f = tmp_path / "mine.json"
    f.write_text(to_json("cifar"))
    assert load_pipeline(str(f)) == load_pipeline("cifar")
    (tmp_path / "broken.json").write_text('{"steps": [')
    with pytest.raises(PipelineError, match=r"broken.json is not valid JSON \(.* line 1"):
        load_pipeline(str(tmp_path / "broken.json"))


@pytest.mark.parametrize(
    "bad,says",
    [
        ({"stepz": []}, 'no "steps" list'),
        ({"steps": {}}, "must be a list"),
        ([{"params": {}}], 'must be an object with a "name"'),
        ([{"name": "RandomSpin"}], "Unknown transform 'RandomSpin'. Choose one of: Resize"),
        ([{"name": "RandomCrop", "params": {"paddin": 4}}], "has no parameter 'paddin'; it takes: size, padding"),
        ([{"name": "RandomHorizontalFlip", "params": {"p": 1.5}}], r"'p' = 1.5 is outside 0..1"),
        ([{"name": "RandomHorizontalFlip", "params": {"p": "half"}}], "expected a number"),
        ([{"name": "RandomResizedCrop", "params": {"scale": [1.0, 0.5]}}], "runs backwards; give \\[low, high\\]"),
        ([{"name": "Resize", "params": {"size": [1, 2, 3]}}], "expected a whole number or \\[height, width\\]"),
        ([{"name": "Normalize", "params": {"mean": []}}], "a list of 1 to 4 numbers"),
        ([{"name": "RandomCrop", "enabled": "yes"}], '"enabled" must be true or false'),
        ([{"name": "RandomPerspective", "params": {"distortion_scale": float("nan")}}], "expected a number"),
        ([{"name": "RandomRotation", "params": {"degrees": 7.5}}], "expected a whole number"),
        ([{"name": "AutoAugment", "params": {"policy": "mnist"}}], "is not one of imagenet, cifar10, svhn"),
        ([{"name": "RandomAffine", "params": {"degrees": None}}], "cannot be empty"),
    ],
)
def test_bad_specs_get_a_sentence_naming_the_step(bad, says):
    with pytest.raises(PipelineError, match=says):
        normalize_spec(bad)


# -- validation: a sentence and a fix, never a traceback -----------------------------------------------


def errors(spec, size=(64, 96), channels=3):
    return [p for p in validate(spec, size, channels) if p.level == "error"]


def test_normalize_before_the_image_is_a_tensor_is_explained():
    (e,) = errors(spec_of(make_step("Normalize"), make_step("ToTensor")))
    assert e.step == 0
    assert "Step 1 (Normalize): it comes before the image is a float tensor" in e.message
    assert "Add ToTensor above it, or move it below ToTensor" in e.message
    with pytest.raises(PipelineError, match="before the image is a float tensor"):
        build_transform(spec_of(make_step("Normalize"), make_step("ToTensor")))


def test_crop_larger_than_the_image_is_explained_with_fixes():
    (e,) = errors(spec_of(make_step("RandomCrop", size=128)), size=(64, 96))
    assert "a 128x128 crop is larger than the 96x64 image at this point" in e.message
    assert "add padding or turn on pad_if_needed, or resize the image first" in e.message
    assert not errors(spec_of(make_step("RandomCrop", size=128, pad_if_needed=True), make_step("ToTensor")))
    assert not errors(spec_of(make_step("Resize", size=160), make_step("RandomCrop", size=128), make_step("ToTensor")))
    # and the preview, given the same pipeline, says the same instead of raising torchvision's error
    with pytest.raises(PipelineError, match="crop is larger than"):
        ap.preview_grid(spec_of(make_step("RandomCrop", size=128)), photo(), n=2)


def test_center_crop_larger_than_the_image_is_a_warning_about_black_borders():
    (w,) = [p for p in validate(spec_of(make_step("CenterCrop", size=200), make_step("ToTensor")), (64, 96))]
    assert w.level == "warning" and "pads the missing border with black" in w.message


@pytest.mark.parametrize(
    "mean,std,says",
    [
        ([0.5, 0.5], [0.2, 0.2, 0.2], "mean has 2 values but the image has 3 channels here: give 3 values"),
        ([0.5, 0.5, 0.5], [0.2, 0.2], "std has 2 values"),
        ([0.5], [0.0], "every std must be positive"),
    ],
)
def test_mean_std_of_the_wrong_length_is_explained(mean, std, says):
    (e,) = errors(spec_of(make_step("ToTensor"), make_step("Normalize", mean=mean, std=std)))
    assert says in e.message


def test_grayscale_changes_the_channel_count_normalize_expects():
    one = spec_of(make_step("Grayscale", num_output_channels=1), make_step("ToTensor"), make_step("Normalize"))
    found = errors(one)
    assert len(found) == 2 and all("but the image has 1 channel here" in e.message for e in found)
    ok = spec_of(
        make_step("Grayscale", num_output_channels=1),
        make_step("ToTensor"),
        make_step("Normalize", mean=[0.5], std=[0.25]),
    )
    assert not errors(ok)


def test_other_mistakes_are_explained():
    solar = errors(spec_of(make_step("ToTensor"), make_step("RandomSolarize", threshold=128)))
    assert "threshold 128 is on the 0..255 scale" in solar[0].message
    blur = errors(spec_of(make_step("GaussianBlur", kernel_size=4)))
    assert "kernel_size 4 is even" in blur[0].message and "such as 5" in blur[0].message
    mix_first = errors(spec_of(make_step("ToTensor"), make_step("MixUp")))
    assert "every image must come out the same size" in mix_first[0].message
    after_mix = errors(
        spec_of(
            make_step("CenterCrop", size=32),
            make_step("ToTensor"),
            make_step("CutMix"),
            make_step("RandomHorizontalFlip"),
        )
    )
    assert "comes after CutMix, which works on whole batches" in after_mix[0].message
    jitter_late = validate(spec_of(make_step("ToTensor"), make_step("Normalize"), make_step("ColorJitter")))
    assert any(p.level == "warning" and "runs after Normalize" in p.message for p in jitter_late)
    uint8_out = validate(spec_of(make_step("RandomHorizontalFlip")))
    assert any(p.step is None and "would receive uint8 values" in p.message for p in uint8_out)


def test_switched_off_steps_are_ignored_by_checks_and_the_transform():
    spec = spec_of(make_step("Normalize", enabled=False), make_step("ToTensor"))
    assert not errors(spec)
    assert [type(t).__name__ for t in build_transform(spec).transforms] == ["ToImage", "ToDtype"]


def test_check_reports_how_many_more_problems_follow():
    spec = spec_of(make_step("Normalize", mean=[1, 2]), make_step("GaussianBlur", kernel_size=2))
    with pytest.raises(PipelineError, match=r"\(2 more problems after it\.\)"):
        check(spec)


# -- previews: independent, reproducible draws ----------------------------------------------------------


def test_grid_is_reproducible_and_draws_are_independent():
    spec, img = load_pipeline("article-train"), photo(300, 260)
    a = ap.preview_grid(spec, img, n=6, seed=3)
    b = ap.preview_grid(spec, img, n=6, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert len({x.sum().item() for x in a}) == 6  # six different draws
    shifted = ap.preview_grid(spec, img, n=5, seed=4)  # sample i uses seed + i: seed 4 is seed 3's second sample
    assert all(torch.equal(x, y) for x, y in zip(a[1:], shifted))


def test_seeding_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ap.preview_grid(load_pipeline("article-train"), photo(), n=2, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_a_preview_leaves_other_threads_their_torch_threads():
    """A session whose script run starts while someone else's preview draws keeps the server's thread count."""
    import threading

    before = torch.get_num_threads()
    seen = []
    with ap.seeded(0):
        t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        t.start()
        t.join()
        seen.append(torch.get_num_threads())
    assert seen == [before, before] and torch.get_num_threads() == before


def test_step_through_ends_at_the_grid_cell():
    spec, img = load_pipeline("article-train"), photo(300, 260)
    grid = ap.preview_grid(spec, img, n=4, seed=11)
    views = ap.step_through(spec, img, seed=11, sample=2)
    assert [v.label for v in views] == ["Original"] + [
        f"Step {i + 1} ({s['name']})" for i, s in enumerate(spec["steps"])
    ]
    assert torch.equal(views[0].tensor, img) and torch.equal(views[-1].tensor, grid[2])
    assert views[6].tensor.dtype == torch.float32 and views[5].tensor.dtype == torch.uint8  # ToTensor is step 6


def test_model_input_stats_and_denormalised_display():
    spec, img = load_pipeline("article-val"), photo(300, 260)
    samples = ap.preview_grid(spec, img, n=2, seed=0)
    s = ap.input_stats(samples, spec)
    assert s.shape == (3, 224, 224) and s.dtype == "float32" and s.normalized and s.same_shape
    ref = torch.stack(samples).transpose(0, 1).flatten(1)  # (C, everything)
    assert s.mean == pytest.approx(ref.mean(1).tolist(), abs=1e-5)
    assert s.std == pytest.approx(ref.std(1, unbiased=False).tolist(), abs=1e-5)
    assert s.vmin < 0  # normalized values go below zero ...
    shown = ap.display_array(samples[0], ap.last_normalize(spec))
    plain = ap.preview_grid(spec_of(make_step("Resize", size=256), make_step("CenterCrop", size=224)), img, n=1)[0]
    assert shown.shape == (224, 224, 3)
    assert (
        abs(shown.astype(int) - plain.permute(1, 2, 0).numpy().astype(int))
    ).max() <= 1  # ... but look like the photo


def test_runtime_failure_names_the_step():
    # Padding larger than the image: torchvision's reflect padding fails at run time, not at construction.
    spec = spec_of(make_step("RandomCrop", size=40, padding=50, padding_mode="reflect"), make_step("ToTensor"))
    with pytest.raises(PipelineError, match=r"Step 1 \(RandomCrop\) failed on this 12x10 image"):
        ap.preview_grid(spec, photo(12, 10), n=2)


def test_mix_batch_labels_are_mixed_and_reproducible():
    spec = spec_of(make_step("RandomResizedCrop", size=32), make_step("ToTensor"), make_step("MixUp", alpha=0.4))
    imgs = [photo(seed=i) for i in range(4)]
    x1, y1 = ap.mix_batch(spec, imgs, [0, 1, 2, 3], num_classes=4, seed=5)
    x2, y2 = ap.mix_batch(spec, imgs, [0, 1, 2, 3], num_classes=4, seed=5)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert y1.shape == (4, 4) and torch.allclose(y1.sum(1), torch.ones(4))
    lam = y1[0, 0].item()  # MixUp blends sample i with sample i - 1 (the batch rolled by one)
    assert y1[0, 3].item() == pytest.approx(1 - lam) and 0 < lam < 1
    assert build_batch_transform(load_pipeline("cifar"), 10) is None
    with pytest.raises(PipelineError, match="no MixUp or CutMix step"):
        ap.mix_batch(load_pipeline("cifar"), imgs, [0, 1, 2, 3], 4)


def test_image_tensor_is_uint8_rgb_from_any_pil_mode():
    for mode in ("L", "RGB", "RGBA"):
        t = ap.image_tensor(Image.new(mode, (7, 5)))
        assert t.shape == (3, 5, 7) and t.dtype == torch.uint8 and isinstance(t, tv_tensors.Image)


def test_render_grid_gives_thumbnails_and_histogram_values():
    r = ap.render_grid(load_pipeline("none"), photo(600, 300), n=2, seed=0, side=128, max_values=1000)
    assert [t.shape for t in r.thumbs] == [(64, 128, 3)] * 2
    assert r.values.shape == (3, 1000) and 0 <= r.values.min() and r.values.max() <= 1
    assert not math.isnan(r.stats.mean[0])
