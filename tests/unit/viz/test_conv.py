"""The sliding-window figure: frames, taps and numbers all come from PyTorch's own result."""

import json

import numpy as np
import torch
import torch.nn.functional as F

from playground.models.arithmetic import ConvSpec, PoolSpec
from playground.viz.conv import sliding_window, tap_cells, window_values


def test_window_numbers_are_pytorchs_output():
    spec = ConvSpec(1, 3, 2, 1, (1, 2))
    padded, mask, kernel, out = window_values(spec, (5, 7), seed=4)
    assert padded.shape == (7, 9) and mask.sum() == 7 * 9 - 5 * 7
    x = torch.tensor(padded[1:-1, 1:-1]).reshape(1, 1, 5, 7)
    ref = F.conv2d(x, torch.tensor(kernel).reshape(1, 1, 3, 3), stride=2, padding=1, dilation=(1, 2))
    assert np.allclose(out, ref[0, 0].numpy())


def test_one_frame_per_output_position_with_dilated_taps():
    spec = ConvSpec(1, 3, 1, 0, 2)  # dilation 2: taps two cells apart
    fig = json.loads(sliding_window(spec, (7, 6)).to_json())  # what the browser receives
    frames = fig["frames"]
    assert len(frames) == 3 * 2  # output 3x2
    taps = [s for s in frames[0]["layout"]["shapes"] if s.get("type") == "path"]
    centres = sorted(c for s in taps for c in tap_cells(s))
    assert centres == [(y, x) for y in (0, 2, 4) for x in (0, 2, 4)]
    assert not set("hvlmqcstaz") & set("".join(s["path"] for s in taps))  # absolute commands: plotly draws them
    assert len(fig["layout"]["sliders"][0]["steps"]) == 6
    assert frames[-1]["layout"]["title"]["text"].startswith("output[2, 1]")


def test_pooling_view_marks_padding_as_minus_infinity_and_handles_ceil_mode():
    spec = PoolSpec("max", 3, 2, 1, ceil_mode=True)
    padded, mask, kernel, out = window_values(spec, (6, 5))
    assert kernel is None and np.isneginf(padded[mask]).all()
    fig = sliding_window(spec, (6, 5))
    assert len(json.loads(fig.to_json())["frames"]) == out.size  # serialisable for st.plotly_chart (no inf)


def test_large_inputs_are_sampled_not_dropped():
    frames = sliding_window(ConvSpec(1, 3, 1, 1), (40, 40), max_frames=100).to_dict()["frames"]
    assert len(frames) == 100
    assert frames[-1]["name"] != frames[0]["name"]


def test_the_animation_is_small_to_send_and_survives_the_cache():
    """32x32 used to send 800 KiB (one rect per tap); its build time is bench/bench_ui.py's business."""
    import pickle

    fig = sliding_window(ConvSpec(1, 3, 1, 1), (32, 32))
    text = fig.to_json()
    assert len(text) < 450 * 1024  # 365 KiB: one path shape for a frame's taps
    again = pickle.loads(pickle.dumps(fig))  # st.cache_data pickles what it keeps
    assert again.to_json() == text


def test_big_feature_maps_are_drawn_strided_with_their_true_values_and_coordinates():
    from playground.viz.conv import MAX_MAP_SIDE, feature_map

    fmap = torch.arange(340 * 512, dtype=torch.float32).reshape(340, 512)
    fig = feature_map(fmap, "conv output")
    assert len(fig.to_json()) < 300 * 1024  # what the browser receives on every rerun (was 1.2 MB)
    heat = fig.data[0]
    z, xs, ys = np.asarray(heat.z), np.asarray(heat.x), np.asarray(heat.y)
    assert max(z.shape) <= MAX_MAP_SIDE  # was 512x340 cells: 1 MB of JSON on every rerun
    assert z[1, 2] == fmap[int(ys[1]), int(xs[2])]  # a drawn cell is the output at its labelled row and column
    assert "(340x512, height x width)" in feature_map(fmap, "conv output").layout.title.text


def test_a_big_kernel_gets_fewer_frames_so_the_figure_stays_small():
    # 400 frames of a 64x64 kernel were 1.6 M shapes (now taps of one path each): minutes of CPU and gigabytes.
    from playground.viz.conv import MAX_SHAPES

    frames = sliding_window(ConvSpec(1, 64, 1, 64), (32, 32)).to_dict()["frames"]
    taps = sum(len(tap_cells(s)) for f in frames for s in f["layout"]["shapes"] if s.get("type") == "path")
    per_frame = 64 * 64
    assert len(frames) == MAX_SHAPES // (per_frame + 2)  # 9 frames: the budget, not 400
    assert taps == len(frames) * per_frame <= MAX_SHAPES  # every tap of every frame drawn, within the budget
    small = sliding_window(ConvSpec(1, 3, 1, 1), (7, 7)).to_dict()["frames"]
    assert len(small) == 49  # an ordinary kernel keeps one frame per output position


def test_vgg_chart_draws_parameter_and_mac_bars_side_by_side():
    from playground.viz.conv import params_comparison

    fig = params_comparison([("2 x conv 3x3", 73_728, 75_497_472), ("1 x conv 5x5", 102_400, 104_857_600)])
    params, macs = fig.data
    # On two y axes, bars of one group overlap unless each trace has its own offset group.
    assert params.yaxis != macs.yaxis and params.offsetgroup and macs.offsetgroup != params.offsetgroup


def test_a_blur_is_drawn_on_a_sequential_scale_an_edge_detector_on_a_diverging_one():
    import torch

    from playground.labs.conv import conv_with_kernel, make_kernel
    from playground.models.arithmetic import ConvSpec
    from playground.viz.conv import feature_map

    image = torch.rand(1, 24, 24)
    geometry = ConvSpec(1, (3, 3), 1, 1)
    blurred = conv_with_kernel(image, make_kernel("gaussian", (3, 3), 0), geometry)
    edges = conv_with_kernel(image, make_kernel("sobel_x", (3, 3), 0), geometry)
    blur_scale = feature_map(blurred, "conv output").data[0].colorscale
    edge_scale = feature_map(edges, "conv output").data[0].colorscale
    assert blur_scale != edge_scale
    assert feature_map(edges, "x").data[0].zmid == 0 and feature_map(blurred, "x").data[0].zmid is None
    assert "24x24, height x width" in feature_map(blurred, "conv output").layout.title.text


def test_min_width_keeps_every_numbered_cell_min_cell_px_wide():
    from playground.models.arithmetic import ConvSpec
    from playground.viz.conv import MIN_CELL_PX, min_width_px, sliding_window

    fig = sliding_window(ConvSpec(out_channels=1, kernel=(3, 3), padding=(1, 1)), (7, 7))
    lo, hi = fig.to_dict()["layout"]["xaxis"]["range"]
    # padded 9 + gap + kernel 3 + gap + output 7 columns, each at least MIN_CELL_PX, plus the 20 px margins
    assert min_width_px(fig) >= (hi - lo) * MIN_CELL_PX + 20
    big = sliding_window(ConvSpec(out_channels=1, kernel=(3, 3)), (32, 32))
    assert min_width_px(big) == 0  # no numbers drawn: the chart may shrink to the screen
