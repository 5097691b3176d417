"""The bundled pre-trained backbone (assets/shapes_resnet8.safetensors): it loads, its card tells the truth,
and fine-tuning it on the bundled digits beats the same network from scratch."""

import re

import torch

from playground.labs import transfer as tl
from playground.labs.pretrain import accuracy, held_out
from playground.models.bundled import BUNDLED, DEFAULT_BUNDLED, bundled_state_dict
from playground.training.loop import train


def test_the_asset_loads_strictly_into_the_registered_model():
    entry = BUNDLED.get(DEFAULT_BUNDLED)
    net = entry.build()
    net.load_state_dict(bundled_state_dict(DEFAULT_BUNDLED), strict=True)
    assert entry.weights_path.stat().st_size < 5 * 2**20  # a few MB at most
    assert "layer1" in dict(net.named_children())


def test_the_model_cards_source_accuracy_is_what_the_asset_scores():
    entry = BUNDLED.get(DEFAULT_BUNDLED)
    card = entry.card_path.read_text()
    stated = float(re.search(r"Source held-out accuracy: \*\*([\d.]+)%\*\*", card).group(1)) / 100
    net = entry.build()
    net.load_state_dict(bundled_state_dict(DEFAULT_BUNDLED), strict=True)
    torch.manual_seed(0)
    measured = accuracy(net, *held_out(seed=0))
    assert abs(measured - stated) <= 0.01, (measured, stated)
    assert measured > 5 / 40  # far above chance (1/40): it really was pre-trained


def test_fine_tuning_the_bundled_backbone_beats_scratch_on_digits(capsys):
    cfg = tl.TransferLabConfig(**tl.BUNDLED_EXPERIMENT, seed=0)
    info = tl.lab_describe(cfg, num_classes=10)
    configs = tl.run_configs(cfg, num_classes=10, n_stages=len(info["stages"]) - 1, data_channels=1)
    torch.set_num_threads(2)
    pre, scratch = (train(c, device=torch.device("cpu")) for c in configs)
    series = [{"epochs": [(h["epoch"], h["val_accuracy"]) for h in r.history]} for r in (pre, scratch)]
    sentence = tl.gap_sentence(*series)
    with capsys.disabled():
        print(f"\nbundled backbone on digits, {cfg.epochs} epochs: {sentence}")
    a, b = pre.final("val_accuracy"), scratch.final("val_accuracy")
    assert pre.epochs == scratch.epochs == cfg.epochs
    assert a - b >= 0.10, sentence
    assert f"{round(100 * a) - round(100 * b)} points ahead" in sentence


def test_the_gap_sentence_comes_from_the_runs():
    pre = {"epochs": [(1, 0.80), (2, 0.91), (3, 0.93)]}
    scratch = {"epochs": [(1, 0.30), (2, 0.62)]}
    s = tl.gap_sentence(pre, scratch)
    assert s.startswith("Pre-trained: 91% after 2 epochs; from scratch: 62% after 2 epochs — 29 points ahead.")
    assert "reached scratch's best (62%) after 1 epoch." in s
    assert tl.gap_sentence(pre, {"epochs": []}) is None


def test_unfreezing_more_stages_than_a_backbone_has_trains_them_all():
    # The bundled default unfreezes 4 stages; a run's SimpleCNN has 3: all 3 train, not just the last.
    from playground.models.transfer import TransferConfig, trainable_stage_names

    stage_list = [("block1", []), ("block2", []), ("block3", [])]
    cfg = TransferConfig(mode="fine_tuning", unfrozen_stages=4)
    assert trainable_stage_names(cfg, stage_list) == {"block1", "block2", "block3"}


def test_the_source_task_is_seeded_and_balanced_over_shape_x_texture():
    from playground.data.shapes import generate_shape_textures, shape_texture_classes

    x, y = generate_shape_textures(400, seed=3)
    x2, y2 = generate_shape_textures(400, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2) and x.shape == (400, 3, 32, 32)
    assert torch.bincount(y, minlength=40).tolist() == [10] * 40
    assert len(shape_texture_classes()) == 40 and shape_texture_classes()[1] == "circle/checks"
