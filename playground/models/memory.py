"""Training memory of one batch, walked the way PyTorch spends it: forward, backward, optimizer step.

A training step's peak is not "weights + gradients + optimizer state + every output": the
forward keeps only what autograd saves for the backward pass (a conv's input, a ReLU's output,
max pooling's int64 indices, dropout's mask; a conv output that only feeds a ReLU is freed), the
backward holds those while it writes gradients (each layer's input gradient next to its output
gradient, weight gradients piling up), and the optimizer's step makes temporaries (Adam's
``sqrt(v) / c`` for the largest parameter, or for all of them at once with ``foreach``).
``training_memory`` follows the table (``Summary.rows``) through those three phases, tensor by
tensor, and reports the composition at the peak. ``tests/unit/models/test_memory.py`` holds the
total to ``torch.profiler``'s memory timeline of a real training step (within 5%).

What each layer keeps is its leaf facets ``saves`` and ``saved_extra``
(``playground.models.layers``); float32 throughout, labels int64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from playground.models.layers import BYTES, LEAVES

# Values kept per trainable parameter, and the step's temporaries: ``largest`` (one parameter's worth at a
# time, the single-tensor loop torch runs on CPU) or ``all`` (foreach, CUDA's default) in parameter sizes.
# (states, single-tensor temporaries in largest-parameter sizes, foreach temporaries in all-parameter sizes),
# read from torch/optim/{sgd,adam}.py with their default settings:
OPTIMIZERS: dict[str, tuple[int, int, int]] = {
    "sgd": (0, 0, 0),  # p.add_(grad, alpha=-lr): nothing new
    "sgd_momentum": (1, 1, 0),  # momentum 0.9 + Nesterov (the training default): grad.add(buf); foreach: in place
    "adam": (2, 2, 1),  # (exp_avg_sq.sqrt() / c).add_(eps): two tensors at once; foreach: one list of them
    "adamw": (2, 2, 1),  # the same; the decoupled weight decay multiplies the parameter in place
}


@dataclass
class TrainingMemory:
    """A float32 training-memory estimate for one batch (bytes), the composition at the step's peak."""

    batch_size: int
    optimizer: str
    weights: int  # parameters and buffers (batch-norm running statistics)
    gradients: int  # parameter gradients alive at the peak
    optimizer_state: int  # momentum / Adam's two moments
    activations: int  # the input batch and what autograd keeps for the backward pass, alive at the peak
    temporaries: int = 0  # gradients of activations in the backward pass, or the optimizer step's scratch
    peak_during: str = "backward"  # "forward", "backward" or "optimizer step"
    saved_for_backward: int = 0  # what the forward leaves for the backward pass (grows with the batch)
    device_bytes: int | None = None
    device_label: str = ""

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations + self.temporaries

    def parts(self) -> list[tuple[str, int]]:
        """(name, bytes) of what makes up the total, in the order people read them."""
        return [
            ("weights", self.weights),
            ("gradients", self.gradients),
            ("optimizer state", self.optimizer_state),
            ("activations", self.activations),
            ("temporaries", self.temporaries),
        ]

    def to_dict(self) -> dict:
        """The CLI's ``training_memory`` object."""
        return {
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
            "total_bytes": self.total,
            "peak_during": self.peak_during,
            **{f"{name.replace(' ', '_')}_bytes": v for name, v in self.parts()},
            "saved_for_backward_bytes": self.saved_for_backward,
        }

    @property
    def fits(self) -> bool | None:
        """False when the estimate passes 90% of the device's memory (None if unknown)."""
        return None if not self.device_bytes else self.total <= 0.9 * self.device_bytes

    def warning(self) -> str | None:
        """A sentence when training would not fit, saying what to change."""
        if self.fits is not False:
            return None
        from playground.models.summary import gib

        where = self.device_label or "the device"
        return (
            f"Training at batch size {self.batch_size} needs about {gib(self.total)} but {where} has "
            f"{gib(self.device_bytes or 0)}: lower the batch size (activations, {gib(self.saved_for_backward)}, "
            "grow with it), use a smaller input or a narrower model."
        )


@dataclass
class _Op:
    """One module call of the walk: values in and out, the storages it keeps for backward."""

    inputs: list[int]
    out: int
    saved: set[int] = field(default_factory=set)  # storage ids
    extra: int = 0  # bytes it keeps besides them (indices, masks)
    param_grads: int = 0  # bytes of the gradients of its trainable parameters
    recorded: bool = True  # autograd records it (some input or parameter needs a gradient)
    passthrough: bool = False  # the add of a skip connection: its gradient goes to both inputs as is
    scratch: tuple[int, int, int] = (0, 0, 0)  # the kernel's temporaries (Leaf.scratch), whole batch


def _graph(summary) -> tuple[list[_Op], dict[int, int], dict[int, int], dict[int, bool], int]:
    """Ops, value -> storage, storage -> bytes, value -> needs a gradient, and the logits' value."""
    n = summary.batch_size
    storage_of: dict[int, int] = {0: 0}
    nbytes: dict[int, int] = {0: prod(summary.input_shape) * BYTES}
    needs_grad: dict[int, bool] = {0: False}
    ops: list[_Op] = []
    cur = skip = 0
    block = None
    for r in summary.rows:
        if r.block != block:
            block, skip = r.block, cur
        inp = skip if r.role == "skip" else cur
        value = len(storage_of)
        if r.role == "add":  # out += identity: in place, nothing saved, the gradient passes through
            ins = [cur, skip]
            storage_of[value] = storage_of[cur]
            op = _Op(ins, value, passthrough=True, recorded=needs_grad[cur] or needs_grad[skip])
        else:
            leaf = LEAVES.get(r.kind)
            ins = [inp]
            if leaf.allocates(r.layer):
                storage_of[value] = len(nbytes)
                nbytes[storage_of[value]] = prod(r.output_shape) * BYTES
            else:
                storage_of[value] = storage_of[inp]
            recorded = needs_grad[inp] or r.trainable_params > 0
            op = _Op(ins, value, param_grads=r.trainable_params * BYTES, recorded=recorded)
            if recorded:
                keep_in, keep_out = leaf.saves(r.layer)
                op.saved = {storage_of[v] for v, keep in ((inp, keep_in), (value, keep_out)) if keep}
                op.extra = n * leaf.saved_extra(r.layer, r.input_shape[1:], r.output_shape[1:])
            op.scratch = tuple(n * v for v in leaf.scratch(r.layer, r.input_shape[1:], r.output_shape[1:]))
        needs_grad[value] = op.recorded
        ops.append(op)
        if r.role == "skip":
            skip = value
        else:
            cur = value
    return ops, storage_of, nbytes, needs_grad, cur


def training_memory(summary, batch_size: int | None = None, optimizer: str = "adam", *, foreach: bool = False):
    """The peak of one training step at ``batch_size`` (default: the summary's), and what it is made of.

    ``optimizer``: a key of ``OPTIMIZERS``. ``foreach``: the optimizer updates all parameters at once
    (torch's default on CUDA) instead of one at a time (its default on CPU).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)}.")
    b = batch_size or summary.batch_size
    if b != summary.batch_size:
        from playground.models.summary import Summary

        summary = Summary(
            summary.name,
            summary.spec,
            (b, *summary.input_shape[1:]),
            [_rebatch(r, b) for r in summary.rows],
            summary.error,
            summary.blocks,
            summary.buffers,
        )
    states, single, multi = OPTIMIZERS[optimizer]
    trainable = summary.trainable_params * BYTES
    largest = max((r.trainable_params for r in summary.rows), default=0) * BYTES
    weights = (summary.total_params + summary.buffers) * BYTES
    state = states * trainable
    ops, storage_of, nbytes, needs, logits = _graph(summary)
    classes = prod(summary.output_shape[1:]) if summary.rows else 0
    labels = 8 * b  # int64 targets
    fixed = weights + state  # alive through the whole step
    x = nbytes[0] + labels  # the batch: the caller holds it

    # Forward: a storage lives until its last use in the forward, or until the backward of its last saver.
    last_use = {}
    for i, op in enumerate(ops):
        for v in op.inputs:
            last_use[storage_of[v]] = i
    last_use[storage_of[logits]] = len(ops)
    saved_by: dict[int, int] = {}  # storage -> savers not yet run backward
    for op in ops:
        for s in op.saved:
            saved_by[s] = saved_by.get(s, 0) + 1
    live: set[int] = set()
    best = (0, "forward", 0, 0, 0)  # (total, phase, gradients, activations, temporaries)
    extra = 0
    for i, op in enumerate(ops):
        s_out = storage_of[op.out]
        live.add(s_out)
        extra += op.extra
        acts = x + sum(nbytes[s] for s in live if s) + extra
        best = max(best, (fixed + acts + op.scratch[0], "forward", 0, acts, op.scratch[0]))
        for s in list(live):  # done with: neither needed later nor saved
            if last_use.get(s, -1) <= i and not saved_by.get(s):
                live.discard(s)
    # The loss: log_softmax keeps its (B, K) output; its backward writes two (B, K) gradients.
    loss = b * classes * BYTES
    kept = {s for s in live if s}
    saved_total = x + sum(nbytes[s] for s in kept) + extra + loss
    best = max(best, (fixed + saved_total + 2 * loss, "backward", 0, saved_total, 2 * loss))

    # Backward, last op first: each recorded op holds its output's gradient while it writes its inputs'.
    grads: dict[int, int] = {logits: 1}  # value -> gradient tensor id
    gbytes: dict[int, int] = {1: loss}
    grad_refs: dict[int, int] = {1: 1}
    value_bytes = {v: nbytes[s] for v, s in storage_of.items()}
    param_grads = 0
    acts = saved_total - loss

    def release(g: int) -> None:
        grad_refs[g] -= 1
        if not grad_refs[g]:
            del gbytes[g]

    for op in reversed(ops):
        g_out = grads.pop(op.out, None)
        if not op.recorded or g_out is None:
            continue
        param_grads += op.param_grads
        scratch = op.scratch[1]
        for v in op.inputs:
            if not needs[v]:
                continue
            scratch = op.scratch[2]
            if op.passthrough:
                gid = g_out
                grad_refs[gid] += 1
            else:
                gid = len(grad_refs) + 1
                gbytes[gid], grad_refs[gid] = value_bytes[v], 1
            if v in grads:  # a second gradient for the same value (a skip connection): summed into a new one
                old = grads.pop(v)
                acc = len(grad_refs) + 1
                gbytes[acc], grad_refs[acc] = value_bytes[v], 1
                release(old)
                release(gid)
                gid = acc
            grads[v] = gid
        temporaries = sum(gbytes.values()) + scratch
        best = max(best, (fixed + param_grads + acts + temporaries, "backward", param_grads, acts, temporaries))
        release(g_out)
        acts -= op.extra
        for s in op.saved:
            saved_by[s] -= 1
            if not saved_by[s] and s in kept:
                kept.discard(s)
                acts -= nbytes[s]

    # The step: every gradient, the state, the update's temporaries.
    scratch = trainable * multi if foreach else largest * single
    best = max(best, (fixed + trainable + x + scratch, "optimizer step", trainable, x, scratch))
    total, phase, g, a, t = best
    return TrainingMemory(b, optimizer, weights, g, state, a, t, phase, saved_total)


def _rebatch(r, b: int):
    """A row at batch size ``b`` (activation bytes scale with it)."""
    from dataclasses import replace

    return replace(
        r,
        input_shape=(b, *r.input_shape[1:]),
        output_shape=(b, *r.output_shape[1:]),
        activation_bytes=r.activation_bytes // r.output_shape[0] * b,
    )
