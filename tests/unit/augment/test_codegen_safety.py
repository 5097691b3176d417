"""Hostile pipeline JSON cannot put code into the exported augmentation file: strings are refused or quoted."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.augment.codegen import pipeline_source
from playground.augment.spec import PipelineError
from playground.augment.transforms import TRANSFORMS

EVIL = '__import__("os").system("touch pwned")'


def _names_called(source: str) -> set[str]:
    return {ast.unparse(n.func) for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)}


@pytest.mark.parametrize(
    "steps",
    [
        [{"name": EVIL}],
        [{"name": "Normalize", "params": {"mean": EVIL, "std": [1.0]}}],
        [{"name": "Normalize", "params": {"mean": [EVIL], "std": [1.0]}}],
        [{"name": "RandomCrop", "params": {"size": EVIL}}],
        [{"name": "RandomCrop", "params": {"size": 8, "padding_mode": EVIL}}],
        [{"name": "Resize", "params": {"size": 8, "interpolation": EVIL}}],
        [{"name": "ToTensor", "enabled": EVIL}],
    ],
)
def test_a_string_where_code_would_go_is_refused_with_a_sentence(steps):
    with pytest.raises(PipelineError):
        pipeline_source({"steps": steps})


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(TRANSFORMS.names()),
    value=st.one_of(st.text(max_size=20), st.floats(allow_nan=True), st.lists(st.text(max_size=5), max_size=3)),
)
def test_any_value_for_any_parameter_gives_code_that_only_calls_torchvision(name, value):
    params = [p.name for p in TRANSFORMS.get(name).params]
    for p in params or [None]:
        try:
            source = pipeline_source({"steps": [{"name": name, "params": {p: value} if p else {}}]})
        except PipelineError:
            continue
        odd = {c for c in _names_called(source) if not c.startswith(("v2.", "torch."))} - _template_calls()
        assert not odd, odd


def _template_calls() -> set[str]:
    """What the file's fixed parts call (loader, MixUp helper, main), from a pipeline that uses all of them."""
    steps = [{"name": "Normalize", "params": {"mean": [0.5], "std": [0.5]}}, {"name": "MixUp"}]
    return _names_called(pipeline_source({"steps": steps}))
