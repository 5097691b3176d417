"""The Augmentation Studio through AppTest: what a person sees after each thing they do."""

from __future__ import annotations

import io
import json

import pytest
import torch
from PIL import Image

from playground.augment.pipelines import PIPELINES, to_json
from playground.labs.augment import compact_steps

PAGE = "pages/augment.py"


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one torch thread is as fast, and much faster on a busy shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def png(w=200, h=150, colour=(10, 200, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


def captions(at) -> list[str]:
    """The caption under every picture on the page, in order."""
    return [i.caption for el in at.get("image") for i in el.proto.imgs]


def grid_captions(at) -> list[str]:
    return [c for c in captions(at) if c.startswith("#")]


def step_labels(at) -> list[str]:
    return [
        cb.label
        for cb in at.checkbox
        if cb.key and cb.key.startswith("augment_s") and cb.key.endswith("_on") and cb.key.count("_") == 2
    ]


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_opens_with_the_article_pipeline_and_a_grid_of_16(app_page):
    at = app_page(PAGE)
    assert not at.exception
    assert at.title[0].value == "Augmentation Studio"
    assert step_labels(at) == [s["name"] for s in PIPELINES.get("article-train").spec()["steps"]]
    assert grid_captions(at) == [f"#{i + 1} · seed {i}" for i in range(16)]
    assert any(c.startswith("Original · chelsea.png · 451x300") for c in captions(at))
    assert not errors(at)
    assert any("shown denormalized" in c.value for c in at.caption)
    # What the model receives: a float32 3x224x224 normalized tensor
    assert [m.value for m in at.metric][:2] == ["3x224x224", "float32"]
    code = [c.value for c in at.code if "v2.Compose" in c.value][0]
    assert "v2.RandomResizedCrop(224, scale=(0.8, 1.0))" in code and "v2.RandomErasing(p=0.1)" in code


def test_upload_a_photo_then_a_corrupt_file(app_page):
    at = app_page(PAGE)
    at.file_uploader(key="augment_upload").upload("green.png", png(), "image/png").run()
    assert not at.exception and not errors(at)
    assert any(c.startswith("Original · green.png · 200x150") for c in captions(at))
    assert len(grid_captions(at)) == 16
    at.file_uploader(key="augment_upload").upload("report.jpg", b"%PDF-1.4\n1 0 obj << >> endobj\n", "image/jpeg").run()
    assert not at.exception
    assert errors(at) == [
        "report.jpg is not an image this app can read. Choose a JPEG, PNG, WebP, BMP, GIF or TIFF file."
    ]
    assert len(grid_captions(at)) == 16  # the app carries on (with the bundled sample)


def test_huge_upload_is_downscaled_once_and_says_so(app_page):
    at = app_page(PAGE)
    at.file_uploader(key="augment_upload").upload("wide.png", png(3000, 1000), "image/png").run()
    assert any(c.startswith("Original · wide.png · 1024x341") for c in captions(at))
    notes = " ".join(c.value for c in at.caption)
    assert "downscaled once from 3000x1000 to 1024x341" in notes and "exactly what the pipeline produces" in notes


def test_seed_and_new_draw_change_the_grid_and_the_link(app_page):
    at = app_page(PAGE)
    at.number_input(key="augment_seed").set_value(40).run()
    assert grid_captions(at)[0] == "#1 · seed 40" and at.query_params["seed"] == "40"
    at.button(key="augment_new_draw").click().run()
    assert at.number_input(key="augment_seed").value != 40
    assert grid_captions(at)[0] == f"#1 · seed {at.number_input(key='augment_seed').value}"


def test_add_move_toggle_and_remove_steps(app_page):
    at = app_page(PAGE)
    at.selectbox(key="augment_preset").set_value("cifar").run()
    assert step_labels(at) == ["RandomCrop", "RandomHorizontalFlip", "ToTensor", "Normalize"]
    assert at.selectbox(key="augment_max_side").value == 48  # CIFAR works on photos shrunk to about its scale
    assert [m.value for m in at.metric][0] == "3x32x32"
    at.selectbox(key="augment_add_choice").set_value("GaussianBlur").run()
    at.button(key="augment_add").click().run()
    assert step_labels(at)[-1] == "GaussianBlur"
    at.button(key="augment_up_4").click().run()
    at.button(key="augment_up_3").click().run()
    assert step_labels(at) == ["RandomCrop", "RandomHorizontalFlip", "GaussianBlur", "ToTensor", "Normalize"]
    at.checkbox(key="augment_s1_on").uncheck().run()
    assert any("~~`RandomHorizontalFlip()`~~ (off)" in c.value for c in at.caption)
    assert json.loads(at.query_params["steps"])[1]["enabled"] is False
    at.button(key="augment_remove_2").click().run()
    assert step_labels(at) == ["RandomCrop", "RandomHorizontalFlip", "ToTensor", "Normalize"]
    assert not at.exception and not errors(at)


def test_parameter_widgets_change_the_pipeline(app_page):
    at = app_page(PAGE)
    at.number_input(key="augment_s0_size_h").set_value(96).run()  # RandomResizedCrop size
    assert [m.value for m in at.metric][0] == "3x96x96"
    at.slider(key="augment_s7_p").set_value(1.0).run()  # RandomErasing always
    assert any("RandomErasing(p=1.0)" in c.value for c in at.caption)
    at.text_input(key="augment_s6_mean").input("0.5, 0.5").run()  # Normalize mean of the wrong length
    assert not at.exception
    assert any("mean has 2 values but the image has 3 channels here" in e for e in errors(at))
    assert not grid_captions(at)  # no grid until it is fixed, and a sentence saying so
    assert any("Fix the pipeline" in i.value for i in at.info)
    at.text_input(key="augment_s6_mean").input("0.5, 0.5, zero").run()
    assert any("is not a list of numbers" in e for e in errors(at))


def test_normalize_before_to_tensor_is_explained_not_a_traceback(app_page):
    at = app_page(PAGE)
    at.button(key="augment_up_6").click().run()  # Normalize above ToTensor
    assert not at.exception
    assert any("Step 6 (Normalize): it comes before the image is a float tensor" in e for e in errors(at))
    assert not grid_captions(at)


def test_step_through_ends_at_the_followed_sample(app_page):
    at = app_page(PAGE)
    at.number_input(key="augment_inspect").set_value(3).run()
    labels = [m.value for m in at.markdown if m.value.startswith("**Step") or m.value == "**Original**"]
    assert labels[0] == "**Original**" and labels[-1] == "**Step 8 (RandomErasing)**" and len(labels) == 9
    shapes = [c for c in captions(at) if c.startswith("[")]
    assert shapes[0].startswith("[3, 300, 451] uint8") and shapes[-1].startswith("[3, 224, 224] float32")
    assert shapes[-1].endswith("(shown denormalized)")


def test_mixup_on_a_batch_shows_mixed_labels(app_page):
    at = app_page(PAGE)
    at.button(key="augment_add_mixup").click().run()
    assert step_labels(at)[-1] == "MixUp" and not at.exception and not errors(at)
    mixed = [c for c in captions(at) if " + " in c]
    assert len(mixed) == 16 and all(any(s in c for s in ("chelsea", "coffee", "astronaut", "rocket")) for c in mixed)
    weights = [sum(float(part.split()[0]) for part in c.split(" + ")) for c in mixed]
    assert all(abs(w - 1) < 0.02 for w in weights)  # each soft label sums to one


def test_link_round_trip_and_a_hostile_link(app_page):
    steps = compact_steps(PIPELINES.get("imagenet-val").spec())
    at = app_page(PAGE, query={"steps": json.dumps(steps), "seed": "3", "n": "4", "preset": "imagenet-val"})
    assert step_labels(at) == ["Resize", "CenterCrop", "ToTensor", "Normalize"]
    assert grid_captions(at) == [f"#{i + 1} · seed {3 + i}" for i in range(4)]
    bad = app_page(PAGE, query={"steps": '[{"name": "Teleport"}]', "n": "5", "seed": "x"})
    assert not bad.exception
    warnings = " ".join(w.value for w in bad.warning)
    assert "Unknown transform 'Teleport'" in warnings and "'seed' was ignored" in warnings and "n = 5" in warnings
    assert step_labels(bad) == [s["name"] for s in PIPELINES.get("article-train").spec()["steps"]]


def test_json_upload_replaces_the_pipeline_and_bad_json_is_explained(app_page):
    at = app_page(PAGE)
    at.file_uploader(key="augment_json_upload").upload("p.json", to_json("cifar").encode(), "application/json").run()
    assert step_labels(at) == ["RandomCrop", "RandomHorizontalFlip", "ToTensor", "Normalize"]
    at.file_uploader(key="augment_json_upload").upload(
        "q.json", b'{"steps": [{"name": "Warp"}]}', "application/json"
    ).run()
    assert any("q.json is not a usable pipeline" in e and "Unknown transform 'Warp'" in e for e in errors(at))
    assert step_labels(at)[0] == "RandomCrop"  # the previous pipeline stays


def test_mixup_counts_each_photo_once_even_when_a_bundled_one_is_uploaded(app_page):
    from playground.common.images import SAMPLE_DIR

    at = app_page(PAGE)
    rocket = (SAMPLE_DIR / "rocket.jpg").read_bytes()
    at.file_uploader(key="augment_upload").upload("rocket.jpg", rocket, "image/jpeg").run()
    at.button(key="augment_add_mixup").click().run()
    assert not at.exception and not errors(at)
    assert any("each photo is its own class (4 classes)" in c.value for c in at.caption)
    for c in (c for c in captions(at) if " + " in c):
        names = [part.split(" ", 1)[1] for part in c.split(" + ")]
        assert len(names) == len(set(names)), c  # never "0.90 rocket.jpg + 0.10 rocket.jpg"


def test_the_preset_caption_and_the_normalisation_sentence_follow_what_is_shown(app_page):
    at = app_page(PAGE)
    assert any("exactly as printed" in c.value for c in at.caption)
    at.number_input(key="augment_s0_size_h").set_value(96).run()  # an edit: no longer the article's pipeline
    assert not any("exactly as printed" in c.value for c in at.caption)
    assert any("Edited from the preset" in c.value for c in at.caption)
    # The sentence beside the statistics quotes them and says "near 0" only when they are.
    table = next(d.value for d in at.dataframe if "Mean" in d.value.columns)
    info = " ".join(i.value for i in at.info)
    means = [float(v) for v in table["Mean"]]
    assert "normalized values the model receives" in info
    near = all(abs(m) <= 0.5 for m in means)
    assert ("near 0, and" in info) == near and ("not near 0 and 1" in info) == (not near)


def test_normalized_sentence_follows_the_numbers():
    from playground.labs.augment import normalized_sentence

    assert "near 0" in normalized_sentence([0.1, -0.2, 0.05], [0.9, 1.1, 1.0])
    off = normalized_sentence([-1.3, -1.1, -0.9], [0.4, 0.5, 0.5])
    assert "-1.30" in off and "not near 0 and 1" in off and "near 0, and" not in off
