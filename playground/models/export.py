"""Model files other tools open: ONNX, safetensors, a ``torch.export`` program, PyTorch source, the JSON spec.

One function, ``export_module``, turns a built model into the bytes of a file; the CLI
(``python -m playground export``), the Architecture Lab and the Training results all call it (or
``export_spec`` / ``playground.runs.results.export_run`` around it), so the three give the same file.

- ``onnx``: ``torch.onnx.export(dynamo=True)`` at the opset chosen (``OPSETS``), with a dynamic batch
  dimension: the file takes ``(N, C, H, W)`` float images for any N and returns ``(N, classes)`` logits.
  Opens in Netron, runs in onnxruntime. Class names and the input mean/std go in its metadata.
- ``safetensors``: the ``state_dict`` as a safetensors file (no pickle; loads anywhere
  ``safetensors.torch.load_file`` runs, and in this app wherever a ``.pt`` upload is accepted).
- ``pt2``: ``torch.export.export`` saved with ``torch.export.save`` (``torch.export.load(f).module()``).
- ``py`` / ``json``: the spec's PyTorch source (``codegen``) and the spec itself (spec models only).

Exports trace the model, which takes seconds for a large one: ``export_refusal`` says beforehand
when a model is past this server's size budget.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass

import torch
import torch.nn as nn

FORMATS = ("py", "json", "onnx", "safetensors", "pt2")
SUFFIX = {"py": ".py", "json": ".json", "onnx": ".onnx", "safetensors": ".safetensors", "pt2": ".pt2"}
MIME = {
    "py": "text/x-python",
    "json": "application/json",
    "onnx": "application/octet-stream",
    "safetensors": "application/octet-stream",
    "pt2": "application/zip",
}
OPSETS = tuple(range(18, 24))  # the dynamo exporter writes opset 18; newer ones go through onnx's converter
DEFAULT_OPSET = 18
MAX_EXPORT_PARAMS = 150_000_000  # VGG-19 (144 M) fits; tracing anything bigger ties up a shared CPU for minutes
WEIGHT_FORMATS = ("onnx", "safetensors", "pt2")  # the formats that carry weights (py/json are the architecture)


@dataclass(frozen=True)
class ModelFile:
    """A file to save or download: its bytes, a file name and a MIME type."""

    data: bytes
    file_name: str
    mime: str


def check_format(fmt: str, opset: int = DEFAULT_OPSET) -> None:
    """ValueError with a sentence for an unknown format or an opset the exporter cannot write."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if fmt == "onnx" and opset not in OPSETS:
        raise ValueError(f"ONNX opset {opset} is not offered: choose one from {OPSETS[0]} to {OPSETS[-1]}.")


def export_refusal(net: nn.Module | int) -> str | None:
    """A sentence when ``net`` (or a model of that many parameters) is too big to trace on this server,
    else None: checked before any work."""
    n = net if isinstance(net, int) else sum(p.numel() for p in net.parameters())
    if n > MAX_EXPORT_PARAMS:
        return (
            f"This model has {n:,} parameters, more than the {MAX_EXPORT_PARAMS:,} this server exports; "
            "export it on your own machine with `python -m playground export`."
        )
    return None


def _ready(net: nn.Module) -> nn.Module:
    """Evaluation mode (BatchNorm's running statistics, no dropout), plain memory layout, on the CPU."""
    return net.to("cpu", memory_format=torch.contiguous_format).eval()


def _example(input_shape: tuple[int, int, int]) -> torch.Tensor:
    # A batch of 2: torch.export specialises a dimension of size 1, and the batch must stay symbolic.
    return torch.zeros(2, *(int(v) for v in input_shape))


def _batch_dim():
    return {0: torch.export.Dim("batch", min=1, max=65536)}


def onnx_bytes(
    net: nn.Module, input_shape: tuple[int, int, int], *, opset: int = DEFAULT_OPSET, metadata: dict | None = None
) -> bytes:
    """The ONNX file of ``net`` for per-image ``input_shape`` (C, H, W): input ``images`` (N, C, H, W), output ``logits``."""
    check_format("onnx", opset)
    net = _ready(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress notes are not the user's concern
        program = torch.onnx.export(
            net,
            (_example(input_shape),),
            dynamo=True,
            opset_version=opset,
            input_names=["images"],
            output_names=["logits"],
            dynamic_shapes=(_batch_dim(),),
            verbose=False,
            optimize=True,
        )
    proto = program.model_proto
    for key, value in (metadata or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = str(key), value if isinstance(value, str) else json.dumps(value)
    return proto.SerializeToString()


def pt2_bytes(net: nn.Module, input_shape: tuple[int, int, int]) -> bytes:
    """``torch.export`` of ``net`` with a dynamic batch, as ``torch.export.save`` writes it (a ``.pt2`` archive)."""
    net = _ready(net)
    program = torch.export.export(net, (_example(input_shape),), dynamic_shapes=(_batch_dim(),))
    buf = io.BytesIO()
    torch.export.save(program, buf)
    return buf.getvalue()


def safetensors_bytes(state_dict: dict, metadata: dict | None = None) -> bytes:
    """The ``state_dict`` as a safetensors file (tensors only; shared storage is copied apart)."""
    from safetensors.torch import save

    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items() if torch.is_tensor(v)}
    meta = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}
    return save(tensors, metadata=meta or None)


def is_safetensors(data: bytes) -> bool:
    """Does ``data`` look like a safetensors file (an 8-byte header length, then a JSON header)?"""
    if len(data) < 10 or data[8:9] != b"{":
        return False
    return int.from_bytes(data[:8], "little") <= len(data) - 8


def read_safetensors(data: bytes) -> dict:
    """A safetensors file -> state_dict (the format holds only tensors: nothing in it can run)."""
    from safetensors.torch import load

    return dict(load(data))


def export_module(
    net: nn.Module,
    input_shape: tuple[int, int, int],
    fmt: str,
    *,
    opset: int = DEFAULT_OPSET,
    metadata: dict | None = None,
) -> bytes:
    """The bytes of ``net`` as an ``onnx``, ``safetensors`` or ``pt2`` file (ValueError for anything else)."""
    check_format(fmt, opset)
    if fmt not in WEIGHT_FORMATS:
        raise ValueError(f"A {fmt} file is written from a model spec, not from a built model.")
    refusal = export_refusal(net)
    if refusal:
        raise ValueError(refusal)
    if fmt == "onnx":
        return onnx_bytes(net, input_shape, opset=opset, metadata=metadata)
    if fmt == "pt2":
        return pt2_bytes(net, input_shape)
    return safetensors_bytes(net.state_dict(), metadata)


def export_spec(
    spec: dict, fmt: str, *, state_dict: dict | None = None, opset: int = DEFAULT_OPSET, seed: int = 0
) -> ModelFile:
    """A model spec (as ``model_spec`` returns it) as a file of format ``fmt``.

    The weights are ``state_dict`` when given, else the spec's fresh initial weights for ``seed``
    (what a training run with that seed starts from).
    """
    from playground.models.codegen import class_name, pytorch_source
    from playground.models.spec import build

    check_format(fmt, opset)
    stem = class_name(spec).lower()
    if fmt == "py":
        return ModelFile(pytorch_source(spec).encode(), stem + ".py", MIME["py"])
    if fmt == "json":
        return ModelFile((json.dumps(spec, indent=2) + "\n").encode(), stem + ".json", MIME["json"])
    torch.manual_seed(seed)
    net = build(spec)
    if state_dict is not None:
        net.load_state_dict(state_dict)
    data = export_module(net, tuple(spec["input"]), fmt, opset=opset, metadata={"spec_name": spec.get("name", "")})
    return ModelFile(data, stem + SUFFIX[fmt], MIME[fmt])
