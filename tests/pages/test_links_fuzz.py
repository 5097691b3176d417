"""Any link, on any page: hostile query values never raise, they are dropped or pulled in range with a sentence.

A property test through AppTest, kept small (a few examples per page, no deadline: a page run takes
seconds), plus the links that crashed pages before (deep JSON, values at the widgets' maxima).
"""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.labs.architecture import ArchConfig
from playground.labs.augment import StudioConfig
from playground.labs.conv import ExplorerConfig
from playground.labs.gradients import GradFlowConfig
from playground.labs.inside import InsideConfig
from playground.labs.transfer import TransferLabConfig
from playground.training.loop import TrainConfig

PAGES = {
    "pages/conv.py": ExplorerConfig,
    "pages/architecture.py": ArchConfig,
    "pages/augment.py": StudioConfig,
    "pages/train.py": TrainConfig,
    "pages/transfer.py": TransferLabConfig,
    "pages/gradients.py": GradFlowConfig,
    "pages/inside.py": InsideConfig,
}

DEEP = "[" * 1999 + "]" * 1999
HOSTILE = [
    "",
    "-1",
    "0",
    "1e309",
    "nan",
    "9" * 40,
    "-" + "9" * 25,
    DEEP,
    '{"a": ' * 60 + "1" + "}" * 60,
    "[1, 2",
    "{}",
    "[]",
    "null",
    '"text"',
    "../../etc/passwd",
    "[Session expired](https://evil.example)",
    "\x00\ud800",
    "x" * 5000,
]
values = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
    st.lists(st.integers(-5, 70000), max_size=4).map(json.dumps),
)


def _query(cls) -> st.SearchStrategy[dict[str, str]]:
    names = [f.name for f in fields(cls) if f.init] + ["custom", "run", "preset"]
    return st.dictionaries(st.sampled_from(names), values, min_size=1, max_size=4)


def _open(path: str, query: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(path).run()
    return at


@pytest.mark.parametrize("path", list(PAGES))
def test_a_random_hostile_link_never_raises(path):
    @settings(
        max_examples=3,
        deadline=None,
        database=None,
        derandomize=True,  # the same few links every run: a failure is reproducible, the time is bounded
        suppress_health_check=list(HealthCheck),
    )
    @given(query=_query(PAGES[path]))
    def check(query):
        at = _open(path, query)
        assert not at.exception, (query, [e.message for e in at.exception])

    check()


_WIDEST_CONV = {  # a 2048 x 4096 x 4096 input to 4096 x 4096 x 4096: its fully-connected equivalent is 2.4e21
    "out_channels": 4096,
    "kernel": [3, 3],
    "stride": [1, 1],
    "padding": [1, 1],
    "dilation": [1, 1],
    "groups": 1,
    "bias": True,
    "padding_mode": "zeros",
    "kind": "conv",
}


@pytest.mark.parametrize(
    "path, query",
    [
        ("pages/conv.py", {"layers": DEEP}),
        ("pages/architecture.py", {"custom": "1", "layers": DEEP}),
        ("pages/augment.py", {"steps": DEEP}),
        # the widgets at their maxima: counts beyond int64 in the table
        (
            "pages/conv.py",
            {
                "batch": "4096",
                "channels": "2048",
                "height": "4096",
                "width": "4096",
                "layers": json.dumps([_WIDEST_CONV]),
            },
        ),
    ],
    ids=["conv-deep-json", "architecture-deep-json", "augment-deep-json", "conv-widgets-at-maxima"],
)
def test_links_that_crashed_a_page_now_give_a_page(path, query):
    at = _open(path, query)
    assert not at.exception, [e.message for e in at.exception]
    assert at.title  # the page drew itself
