"""The layer-by-layer summary: shapes, parameters, MACs, memory, receptive field, computed from the spec.

Nothing is built and nothing runs: ``summarize`` walks the spec (``playground.models.spec.trace``)
and does the arithmetic, which is why the whole ResNet-50 table takes a few milliseconds
(``bench/bench_summary.py`` times it against ``torchinfo``). The tests hold every figure
to a real forward pass with hooks, to ``torch.utils.flop_counter`` and to torchinfo.

Conventions, stated once:

- Shapes include the batch: ``(N, C, H, W)``, ``(N, F)`` after a flatten.
- MACs are multiply-accumulates **per image** of convolutions and linear layers, biases
  not counted: torchvision's ``_ops`` figures and ``FlopCounterMode`` count the same way
  (they call ``2 x MACs`` FLOPs). torchinfo's "mult-adds" also count biases and batch-norm
  scales; ``Summary.torchinfo_mult_adds`` gives that figure exactly, for comparison.
- Receptive field and jump are per axis ``(h, w)``: the input patch one output value sees,
  and the input distance between neighbouring outputs. Through a residual block they follow
  the main path (the larger one). After a flatten every value sees the whole input: None.
- Memory is float32: 4 bytes a value. ``Summary.memory`` is a training step's peak, walked through the
  forward, backward and optimizer step by ``playground.models.memory``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from math import prod
from typing import Any

from playground.models.layers import BYTES, LEAVES, Leaf
from playground.models.memory import OPTIMIZERS, TrainingMemory, training_memory
from playground.models.spec import Step, trace
from playground.models.vocab import SpecError

OPTIMIZER_STATES = {name: states for name, (states, *_) in OPTIMIZERS.items()}  # values kept per trainable weight
Pair = tuple[int, int]


@dataclass(slots=True)
class Row:
    """One line of the table: a module call, or the ``Add`` where a skip connection joins."""

    name: str
    type: str
    kind: str
    layer: dict
    input_shape: tuple[int, ...]  # with the batch
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    macs: int  # per image
    activation_bytes: int  # the output, for the whole batch
    allocates: bool  # False for in-place layers and views: they add no activation memory
    receptive_field: Pair | None
    jump: Pair | None
    block: str | None = None
    role: str = "main"
    item: tuple[int, ...] = ()

    @property
    def frozen_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def flops(self) -> int:
        """FLOPs = 2 x MACs (a multiply and an add)."""
        return 2 * self.macs


def gib(n: int) -> str:
    """Bytes for people: ``1.5 GiB``, ``340 MiB``, ``12 KiB``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} B"


@dataclass
class Summary:
    """The table (``rows``) and totals for one model on one input."""

    name: str
    spec: dict
    input_shape: tuple[int, int, int, int]  # (N, C, H, W)
    rows: list[Row] = field(default_factory=list)
    error: SpecError | None = None  # set (and rows stop) where the model breaks, with on_error="report"
    blocks: dict[str, str] = field(default_factory=dict)  # residual block name -> "BasicBlock" / "Bottleneck"
    buffers: int = 0  # batch-norm running statistics (values)

    @property
    def batch_size(self) -> int:
        return self.input_shape[0]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.rows[-1].output_shape if self.rows else self.input_shape

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.rows)

    @property
    def frozen_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        """Multiply-accumulates per image (FLOPs = 2 x MACs)."""
        return sum(r.macs for r in self.rows)

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    @property
    def activation_bytes(self) -> int:
        """Input plus every layer output that takes new memory, for the whole batch."""
        return prod(self.input_shape) * BYTES + sum(r.activation_bytes for r in self.rows if r.allocates)

    @property
    def receptive_field(self) -> Pair | None:
        """The receptive field of the last feature map before any global/adaptive pooling (what the head sees)."""
        return next(
            (r.receptive_field for r in reversed(self.rows) if r.receptive_field and not _fixed_output(r.kind)),
            None,
        )

    def torchinfo_mult_adds(self) -> int:
        """torchinfo's "Total mult-adds" for this batch: conv (weights + bias) x output pixels, others their params."""
        total = 0
        for r in self.rows:
            leaf = _leaf(r.kind)
            total += leaf.torchinfo_mult_adds(r.params, r.output_shape[1:]) if leaf else r.params
        return self.batch_size * total

    def memory(
        self,
        batch_size: int | None = None,
        optimizer: str = "adam",
        device_bytes: int | None = None,
        device_label: str = "",
        *,
        foreach: bool | None = None,
    ) -> TrainingMemory:
        """The peak memory of one training step at ``batch_size`` (default: this summary's) with ``optimizer``.

        ``foreach`` (the optimizer updates every tensor at once): None follows torch's default, on when
        training would run on CUDA.
        """
        if foreach is None:
            import torch

            foreach = torch.cuda.is_available()
        m = training_memory(self, batch_size, optimizer, foreach=foreach)
        m.device_bytes, m.device_label = device_bytes, device_label
        return m

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: totals and one object per row."""

        def pair(p):
            return list(p) if p else None

        return {
            "model": self.name,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_macs": self.total_macs,
            "layers": [
                {
                    "name": r.name,
                    "type": r.type,
                    "output_shape": list(r.output_shape),
                    "params": r.params,
                    "macs": r.macs,
                    "receptive_field": pair(r.receptive_field),
                    "jump": pair(r.jump),
                }
                for r in self.rows
            ],
        }


# --------------------------------------------------------------------------- arithmetic


def _leaf(kind: str) -> Leaf | None:
    """The table entry of a step's layer; None for the ``add`` joining a skip connection (not a module)."""
    return None if kind == "add" else LEAVES.get(kind)


def _fixed_output(kind: str) -> bool:
    """Whether the layer pools any input to a fixed size (adaptive pooling): the head's view stops before it."""
    leaf = _leaf(kind)
    return leaf is not None and leaf.fixed_output


def _macs(st: Step) -> int:
    leaf = _leaf(st.kind)
    return leaf.macs(st.layer, st.in_shape, st.out_shape) if leaf else 0


def _grow(st: Step, rf: Pair | None, jump: Pair | None) -> tuple[Pair | None, Pair | None]:
    """Receptive field and jump after ``st``: rf += (effective kernel - 1) x jump; jump *= stride."""
    if rf is None or jump is None:
        return None, None
    window = LEAVES.get(st.kind).window(st.layer, st.in_shape, st.out_shape)
    if window is None:  # flatten, linear: every value sees the whole input
        return None, None
    k, s, d = window
    rf = (rf[0] + d[0] * (k[0] - 1) * jump[0], rf[1] + d[1] * (k[1] - 1) * jump[1])
    return rf, (jump[0] * s[0], jump[1] * s[1])


def _allocates(st: Step) -> bool:
    leaf = _leaf(st.kind)
    return leaf.allocates(st.layer) if leaf else False  # the add: ``out += identity`` writes in place


def summarize(
    spec_or_model_name: Any, input_shape=None, batch_size: int = 1, *, on_error: str = "raise", **spec_args
) -> Summary:
    """The per-layer table and totals of a preset name, spec dict or spec file, on a per-sample ``input_shape``.

    ``input_shape`` is ``(C, H, W)`` (default: the model's own); presets adapt to it as ``model_spec``
    does (LeNet's first Linear follows the image size). ``spec_args`` go to ``model_spec``
    (num_classes, knobs). ``on_error="report"`` returns the rows up to a layer that cannot work
    with the SpecError in ``.error`` instead of raising it.
    """
    from playground.models.zoo import model_spec  # the zoo imports the spec; import it late to keep layers apart

    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise SpecError(f"The batch size must be a whole number of at least 1, not {batch_size!r}.")
    if input_shape is not None:
        c, h, w = (int(v) for v in input_shape)
        spec_args = {"in_channels": c, "input_size": (h, w), **spec_args}
    spec = model_spec(spec_or_model_name, **spec_args)
    tr = trace(spec, raise_errors=on_error == "raise", normalized=True)
    return summary_from_trace(tr, batch_size)


def summary_from_trace(tr, batch_size: int = 1) -> Summary:
    """Rows and totals from a ``spec.trace`` result (shared by ``summarize`` and the page)."""
    n = batch_size
    s = Summary(tr.spec["name"], tr.spec, (n, *tr.input_shape), error=tr.error, blocks=dict(tr.blocks))
    state: tuple[Pair | None, Pair | None] = ((1, 1), (1, 1))
    block, skip = None, state
    rows, buffers = s.rows, 0
    for st in tr.steps:
        if st.block != block:  # a block starts: its skip path starts from the block's input
            block, skip = st.block, state
        if st.role == "skip":
            skip = _grow(st, *skip)
            rf, jump = skip
        elif st.role == "add":
            (m_rf, m_j), (s_rf, _) = state, skip
            if m_rf and s_rf:
                m_rf = (max(m_rf[0], s_rf[0]), max(m_rf[1], s_rf[1]))
            state = (m_rf, m_j)
            rf, jump = state
        else:
            state = _grow(st, *state)
            rf, jump = state
        leaf = _leaf(st.kind)
        buffers += leaf.buffers(st.layer, st.in_shape) if leaf else 0
        out = (n, *st.out_shape)
        rows.append(
            Row(
                st.name,
                st.type,
                st.kind,
                st.layer,
                (n, *st.in_shape),
                out,
                st.params,
                st.params if st.trainable else 0,
                _macs(st),
                prod(out) * BYTES,
                _allocates(st),
                rf,
                jump,
                st.block,
                st.role,
                st.item,
            )
        )
    s.buffers = buffers
    return s


def group_rows(summary: Summary, level: str = "layers") -> list[Row]:
    """Rows at a coarser level: ``layers`` (every call), ``blocks`` (a residual block is one row) or ``top``
    (one row per top-level layer or group). Figures add up; shape, receptive field and jump are the group's last."""
    if level == "layers":
        return list(summary.rows)
    out: list[Row] = []
    key_of = (lambda r: r.block or r.name) if level == "blocks" else (lambda r: r.name.split(".")[0])
    for r in summary.rows:
        key = key_of(r)
        if out and out[-1].name == key and key != r.name:
            g = out[-1]
            g.params += r.params
            g.trainable_params += r.trainable_params
            g.macs += r.macs
            g.activation_bytes += r.activation_bytes if r.allocates else 0
            g.output_shape = r.output_shape
            if r.role != "skip":
                g.receptive_field, g.jump = r.receptive_field, r.jump
            continue
        if key == r.name:
            out.append(Row(**{f: getattr(r, f) for f in Row.__slots__}))
        else:
            typ = summary.blocks.get(key, "Sequential")
            out.append(
                Row(
                    key,
                    typ,
                    "group",
                    {},
                    r.input_shape,
                    r.output_shape,
                    r.params,
                    r.trainable_params,
                    r.macs,
                    r.activation_bytes if r.allocates else 0,
                    True,
                    r.receptive_field,
                    r.jump,
                    r.block,
                    "main",
                    r.item[:1],
                )
            )
    return out


def available_memory() -> tuple[int | None, str]:
    """(bytes, label) of the memory training would use here: the CUDA device's, else the machine's RAM."""
    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(torch.cuda.current_device())
            return int(props.total_memory), props.name
    except Exception:  # no usable CUDA: fall back to RAM
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's RAM"
    except (ValueError, OSError, AttributeError):
        return None, "this machine"
