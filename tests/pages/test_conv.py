"""The Convolution & Pooling Explorer through AppTest: what a user sees after each action."""

import io
import json

from PIL import Image

PAGE = "pages/conv.py"


def _texts(at):
    return " ".join([m.value for m in at.markdown] + [s.value for s in at.success] + [e.value for e in at.error])


def test_default_chain_shows_shapes_costs_and_weight_sharing(app_page):
    at = app_page(PAGE)
    assert not at.exception
    assert "Output shape: **[4, 16, 16, 16]**" in at.success[0].value
    assert "448 parameters" in at.success[0].value
    assert "about **7,022x** more" not in _texts(at)  # sanity: numbers come from the chain, not a template
    table = at.dataframe[0].value
    assert list(table["Output shape"]) == ["[4, 3, 32, 32]", "[4, 16, 32, 32]", "[4, 16, 16, 16]"]
    assert list(table["Receptive field"]) == ["1", "3", "4"]
    assert "Weight sharing" in _texts(at)


def test_article_buttons_give_the_printed_shapes(app_page):
    at = app_page(PAGE)
    at.button(key="conv_article_s2").click().run()
    assert "Output shape: **[4, 16, 16, 16]**" in at.success[0].value
    assert at.dataframe[0].value["Layer"].iloc[1] == "1. Conv2d(3, 16, kernel_size=3, stride=2, padding=1)"
    at.button(key="conv_article_s1").click().run()
    assert "Output shape: **[4, 16, 32, 32]**" in at.success[0].value
    assert at.query_params.get("layers")  # the URL now describes this setup


def test_impossible_layer_is_explained_not_raised(app_page):
    at = app_page(PAGE)
    at.number_input(key="conv_l0_groups").set_value(2).run()
    assert not at.exception
    assert any("groups=2 does not divide the 3 input channels" in e.value for e in at.error)
    at.selectbox(key="conv_l0_pad_kind").set_value("same").run()
    at.number_input(key="conv_l0_groups").set_value(1).run()
    at.number_input(key="conv_l0_stride_h").set_value(2).run()
    assert any("padding='same' only works with stride 1" in e.value for e in at.error)


def test_layers_can_be_added_moved_and_removed(app_page):
    at = app_page(PAGE)
    at.button(key="conv_add_conv").click().run()
    table = at.dataframe[0].value
    assert len(table) == 4 and table["Layer"].iloc[3].startswith("3. Conv2d(16, 32")
    at.button(key="conv_up_2").click().run()  # the new conv before the pooling
    assert at.dataframe[0].value["Layer"].iloc[2].startswith("2. Conv2d(16, 32")
    at.button(key="conv_remove_0").click().run()
    table = at.dataframe[0].value
    assert len(table) == 3 and table["Layer"].iloc[1].startswith("1. Conv2d(3, 32")


def test_state_comes_back_from_the_url(app_page):
    layers = '[{"kind":"conv","out_channels":8,"kernel":[5,5],"stride":[2,2],"padding":[2,2]},{"kind":"pool","pool":"avg","kernel":[2,2]}]'
    at = app_page(PAGE, query={"batch": "2", "height": "64", "width": "48", "layers": layers})
    assert not at.exception
    assert at.number_input(key="conv_batch").value == 2
    assert "Output shape: **[2, 8, 16, 12]**" in at.success[0].value
    assert at.number_input(key="conv_l0_kernel_h").value == 5


def test_a_hostile_link_gets_a_warning_and_defaults(app_page):
    at = app_page(PAGE, query={"batch": "lots", "layers": '[{"kind":"laser"}]'})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "'batch' was ignored" in warnings and "Layer 1 of the link was dropped" in warnings


def test_image_tab_filters_a_photo_and_survives_a_corrupt_upload(app_page):
    at = app_page(PAGE)
    charts = {c.proto.id for c in at.get("plotly_chart")}
    assert len(charts) >= 4  # sliding window, conv map, pooled map, shift chart
    at.file_uploader(key="conv_upload").upload("notes.png", b"%PDF-1.4 definitely not a png", "image/png").run()
    assert not at.exception
    assert any("notes.png is not an image this app can read" in e.value for e in at.error)
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 30, 30)).save(buf, "PNG")
    at.file_uploader(key="conv_upload").upload("red.png", buf.getvalue(), "image/png").run()
    assert not at.exception and not at.error


def test_a_link_beyond_a_widgets_range_is_pulled_into_it_and_said(app_page):
    at = app_page(PAGE, query={"batch": "99999", "kernel": "nope", "max_shift": "0"})
    assert not at.exception
    assert at.number_input(key="conv_batch").value == 4096 and at.number_input(key="conv_max_shift").value == 1
    assert at.selectbox(key="conv_kernel").value == "sobel_x"
    warnings = " ".join(w.value for w in at.warning)
    assert (
        "batch = 99999 is not available (between 1 and 4096); using 4096" in warnings and "kernel = 'nope'" in warnings
    )


def test_hand_typed_kernel_cells_are_kept_in_the_link(app_page):
    import torch

    from playground.labs.conv import conv_with_kernel, kernel_cells, make_kernel, typed_kernel
    from playground.models.arithmetic import ConvSpec

    cells = [[0, 0, 0], [0, 2.5, 0], [0, -1, 0]]
    at = app_page(PAGE, query={"kernel_cells": json.dumps(cells)})
    assert not at.exception
    assert json.loads(at.query_params["kernel_cells"]) == cells  # the link keeps them across reruns
    import base64

    import numpy as np

    fmap = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "conv output" in c.proto.spec)
    zs = fmap["data"][0]["z"]  # plotly's typed array: {"dtype", "bdata" (base64), "shape"}
    z = np.frombuffer(base64.b64decode(zs["bdata"]), dtype=zs["dtype"]).reshape(
        [int(v) for v in zs["shape"].split(",")]
    )
    z = torch.tensor(z, dtype=torch.float32)
    # The map is the photo filtered with the typed kernel, not with the preset (Sobel x).
    from playground.common.images import load_sample, to_tensor

    image = to_tensor(load_sample("chelsea.png", max_side=512).image, gray=True)
    expected = conv_with_kernel(image, torch.tensor(cells, dtype=torch.float32), ConvSpec(1, (3, 3), 1, 1))
    xs, ys = fmap["data"][0]["x"], fmap["data"][0]["y"]  # the cells drawn: every step-th row and column
    rows, cols = (
        np.frombuffer(base64.b64decode(a["bdata"]), dtype=a["dtype"]) if isinstance(a, dict) else a for a in (ys, xs)
    )
    expected = expected[torch.as_tensor(np.asarray(rows, dtype=np.int64))][
        :, torch.as_tensor(np.asarray(cols, dtype=np.int64))
    ]
    assert torch.allclose(z, expected, atol=1e-4)
    # What goes into the link: nothing for the preset itself, the rows for anything typed over it.
    preset = make_kernel("sobel_x", (3, 3))
    assert kernel_cells(preset.clone(), preset) == [] and kernel_cells(torch.tensor(cells), preset) == cells
    assert typed_kernel(cells, (5, 5)) is None and typed_kernel([["x"]], (1, 1)) is None  # another size, not numbers
