"""Deep JSON from a link or an upload is refused with a sentence, never a RecursionError."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from playground.augment.pipelines import load_pipeline
from playground.augment.spec import PipelineError
from playground.common.jsontext import MAX_DEPTH, loads
from playground.common.urlstate import from_query
from playground.models.vocab import SpecError, load_spec

DEEP = "[" * 3000 + "]" * 3000  # Python's parser raises RecursionError on this


def test_deep_and_merely_deep_json_are_a_value_error():
    for text in (DEEP, "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)):
        with pytest.raises(json.JSONDecodeError, match="nested more than"):
            loads(text)
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


@dataclass
class _Cfg:
    layers: list = field(default_factory=list)


def test_a_deep_link_value_is_ignored_with_a_sentence():
    deep = "[" * 1999 + "]" * 1999  # within the link's 4000 characters
    cfg, problems = from_query(_Cfg, {"layers": deep})
    assert cfg.layers == [] and "nested more than" in problems[0]


def test_deep_spec_and_pipeline_files_are_refused_with_a_sentence():
    with pytest.raises(SpecError):
        load_spec('{"layers": ' + DEEP + "}")
    with pytest.raises(PipelineError):
        load_pipeline('{"steps": ' + DEEP + "}")
