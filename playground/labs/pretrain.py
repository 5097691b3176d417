"""Pre-train the bundled backbone: a CIFAR ResNet-8 on 40 generated classes (10 shapes x 4 textures).

``python scripts/pretrain_backbone.py`` (or ``python -m playground.labs.pretrain``) regenerates
``assets/shapes_resnet8.safetensors`` and its model card. Seeded: the data (``generate_shape_textures``),
the initial weights and the batch order all come from ``--seed``, so the same command gives the same
file on the same machine (up to CPU kernels' float order).

Recipe: AdamW (lr 3e-3, weight decay 5e-4), one-cycle schedule, batch 128, random horizontal flips,
inputs standardised with the training set's per-channel mean/std (as the app's runs do,
``TrainConfig.normalize``); held-out accuracy on a separately seeded set.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F

from playground.data.shapes import generate_shape_textures
from playground.models.bundled import BUNDLED, DEFAULT_BUNDLED

HELD_OUT_SEED_OFFSET = 1_000_003  # the held-out set is generated from seed + this: no image shared


def standardise(x: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> float, each image set to its own set's per-channel mean 0, std 1."""
    xf = x.float() / 255
    mean = xf.mean(dim=(0, 2, 3), keepdim=True)
    std = xf.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3)
    return (xf - mean) / std


@torch.no_grad()
def accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    """Top-1 accuracy of ``net`` on standardised images ``x`` (eval mode)."""
    net.eval()
    right = sum(int((net(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum()) for i in range(0, len(x), batch))
    return right / len(x)


def held_out(n: int = 4000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The source task's held-out set (standardised images, labels), never seen in pre-training."""
    x, y = generate_shape_textures(n, seed + HELD_OUT_SEED_OFFSET)
    return standardise(x), y


def pretrain(name: str = DEFAULT_BUNDLED, n: int = 40_000, epochs: int = 4, seed: int = 0, log=print) -> dict:
    """Pre-train bundled backbone ``name``; returns ``{"net", "accuracy", "seconds", ...}``."""
    entry = BUNDLED.get(name)
    t0 = time.perf_counter()
    x, y = generate_shape_textures(n, seed)
    x = standardise(x)
    torch.manual_seed(seed)
    net = entry.build()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=5e-4)
    batch = 128
    steps = epochs * ((n + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(n, generator=g)
        for i in range(0, n, batch):
            idx = order[i : i + batch]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        log(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}, {time.perf_counter() - t0:.0f} s")
    hx, hy = held_out(seed=seed)
    acc = accuracy(net, hx, hy)
    seconds = time.perf_counter() - t0
    log(f"held-out accuracy {acc:.4f} ({len(hy)} images), {seconds:.0f} s in all")
    return {"net": net, "accuracy": acc, "seconds": seconds, "n": n, "epochs": epochs, "seed": seed}


def model_card(name: str, accuracy: float, seconds: float, n: int, epochs: int, seed: int, size: int) -> str:
    """The model card written beside the weights: source task, recipe, held-out accuracy, how to reproduce."""
    entry = BUNDLED.get(name)
    return f"""# {name}: a CIFAR ResNet-8 pre-trained on generated shapes x textures

The backbone the Transfer page uses offline, where torchvision's ImageNet weights cannot be had.

- Architecture: the zoo's CIFAR ResNet (`{entry.preset}` with blocks {list(entry.knobs["blocks"])}): a 3x3 stem
  of 16 filters, three stages of one basic block (16, 32, 64 filters), global average pooling, a Linear
  classifier (replaced by the Transfer page's head). Input: 3 x 32 x 32. File: `{entry.weights_path.name}`,
  {size:,} bytes (safetensors; its metadata repeats the numbers below).
- Source task: `playground.data.shapes.generate_shape_textures`: {n:,} images, 32 px, labelled
  shape x background texture (10 shapes x 4 textures = {entry.source_classes} balanced classes), random colour,
  size, aspect, position and rotation, pixel noise. Not digits: digits are the target.
- Recipe: seed {seed} (data, initial weights, batch order), {epochs} epochs, batch 128, AdamW (lr 3e-3,
  weight decay 5e-4) on a one-cycle schedule, random horizontal flips, inputs standardised with the
  training set's per-channel mean/std. Took {seconds:.0f} s on 2 CPU cores (under `nice -n 5`).
- Source held-out accuracy: **{100 * accuracy:.2f}%** on 4,000 images generated from seed {seed} + {HELD_OUT_SEED_OFFSET:,}
  (chance: 2.5%). `tests/unit/labs/test_bundled_backbone.py` re-measures it.
- Reproduce: `nice -n 5 python scripts/pretrain_backbone.py --n {n} --epochs {epochs} --seed {seed}`
  (rewrites this card and the weights; CPU float order may move the last digit).
"""


def main(argv: list[str] | None = None) -> int:
    """The command line: pre-train, write the safetensors file beside the model card's numbers."""
    from playground.models.export import safetensors_bytes

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", default=DEFAULT_BUNDLED)
    p.add_argument("--n", type=int, default=40_000, help="source images to generate")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    out = pretrain(a.name, a.n, a.epochs, a.seed)
    entry = BUNDLED.get(a.name)
    meta = {"source_accuracy": f"{out['accuracy']:.4f}", "seed": str(a.seed), "epochs": str(a.epochs), "n": str(a.n)}
    entry.weights_path.write_bytes(safetensors_bytes(out["net"].state_dict(), meta))
    size = entry.weights_path.stat().st_size
    card = model_card(a.name, out["accuracy"], out["seconds"], a.n, a.epochs, a.seed, size)
    entry.card_path.write_text(card, encoding="utf-8")
    print(f"wrote {entry.weights_path} ({size:,} bytes); accuracy {out['accuracy']:.2%}; {out['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
