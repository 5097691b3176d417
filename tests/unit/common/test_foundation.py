"""Registry, device choice, URL state and the explorer config: the foundation every page uses."""

from dataclasses import dataclass, field

import pytest
import torch

from playground.common.device import describe_device, pick_device
from playground.common.registry import Registry
from playground.common.urlstate import from_query, to_query
from playground.labs.conv import ExplorerConfig, article_example, first_conv_and_pool, layer_specs
from playground.models.arithmetic import ConvSpec, PoolSpec


def test_registry_lists_choices_and_refuses_duplicates():
    reg = Registry("widget")
    reg.register("a", 1)

    @reg.register("b")
    def _b():
        return 2

    assert reg.names() == ["a", "b"] and reg.get("b")() == 2 and "a" in reg and len(reg) == 2
    with pytest.raises(ValueError, match=r"Unknown widget 'c'. Choose one of: a, b."):
        reg.get("c")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", 3)


def test_device_auto_is_cpu_here_and_bad_names_explained():
    dev = pick_device("auto")
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu") or dev.type == "mps"
    info = describe_device(torch.device("cpu"))
    assert info.kind == "cpu" and f"{torch.get_num_threads()} thread" in info.label
    assert info.torch_version == torch.__version__
    with pytest.raises(ValueError, match="Choose one of: auto, cpu, cuda, mps"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no NVIDIA GPU"):
            pick_device("cuda")


@dataclass
class _Cfg:
    n: int = 3
    lr: float = 0.1
    name: str = "x"
    on: bool = False
    layers: list = field(default_factory=lambda: [{"k": 3}])


def test_url_round_trip_writes_only_changes():
    assert to_query(_Cfg()) == {}
    cfg = _Cfg(n=5, lr=0.01, on=True, layers=[{"k": 5}, {"k": 1}])
    q = to_query(cfg)
    assert q == {"n": "5", "lr": "0.01", "on": "1", "layers": '[{"k":5},{"k":1}]'}
    back, problems = from_query(_Cfg, q)
    assert back == cfg and problems == []


def test_hostile_links_never_raise():
    back, problems = from_query(
        _Cfg, {"n": "abc", "lr": "nan", "on": "maybe", "layers": "{oops", "evil": "1", "name": "ok"}
    )
    assert back == _Cfg(name="ok")
    assert len(problems) == 4 and all("ignored" in p for p in problems)
    back, problems = from_query(_Cfg, {"layers": "x" * 5000})
    assert back == _Cfg() and "too long" in problems[0]


def test_explorer_config_link_round_trip_and_bad_layers_dropped():
    cfg = article_example(2)
    back, problems = from_query(ExplorerConfig, to_query(cfg))
    assert back == cfg and not problems
    specs, _ = layer_specs(back)
    assert specs == [ConvSpec(16, 3, 2, 1)]
    bad = ExplorerConfig(layers=[{"kind": "conv", "out_channels": 4}, {"kind": "blob"}, "nonsense"])
    specs, problems = layer_specs(bad)
    assert len(specs) == 1 and len(problems) == 2


def test_image_tab_geometry_comes_from_the_chain():
    conv, pool = first_conv_and_pool([PoolSpec("avg", 3), ConvSpec(8, 5, 2, 2), PoolSpec("max", 2)])
    assert conv == ConvSpec(8, 5, 2, 2) and pool == PoolSpec("max", 2)
    conv, pool = first_conv_and_pool([])
    assert conv.kernel == (3, 3) and pool.pool == "max"
