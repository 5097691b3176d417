"""Training benchmarks on this machine, every comparison measured interleaved in one run.

    python bench/bench_train.py                       # all parts
    python bench/bench_train.py --parts throughput --models simplecnn,resnet20

1. throughput: our trainer (dataset preloaded as uint8 tensors, the pipeline
   RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor resolved through
   ``playground.augment`` into one batched on-device call, channels_last) against two loops
   on the same model, data, augmentation, batch size and optimizer:

   - the **best hand-written eager loop** (the baseline): what a careful engineer writes by
     hand without our code: the training set preloaded as one uint8 tensor, padded once, each
     epoch cropped and flipped for the whole set in one batched call, each batch scaled,
     normalised and laid out channels_last, the model channels_last;
   - the **article-style loop**: a DataLoader over a Dataset that makes a PIL image per sample
     and runs RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize (NCHW),
     with 0 and with 2 worker processes (the faster one counts).

   Rounds alternate the contenders; medians and both ratios are printed, with the machine's
   measured GFLOP/s on a large 3x3 convolution and the fraction of it each loop reaches
   (FLOPs of one training step counted by ``torch.utils.flop_counter``, forward + backward).
2. polling: one run process trains while this process alternates windows of polling its
   folder the way the Training page's server side does (new events from a byte offset, the
   status, the smoothed loss curve) every 0.5 s with windows of not polling. This is the
   server's share only; ``bench_launch_to_90.py --watch`` measures a real browser.
3. time90: ``python -m playground train`` with the default preset, from process start to
   the first epoch with >= 90% validation accuracy (and the same for digits).
4. difficulty: a linear model against SimpleCNN on shapes with the same trainer and budget.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as run processes do (playground/__main__.py); same for both sides

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402
from torchvision import transforms  # noqa: E402

from playground.augment.spec import make_step  # noqa: E402
from playground.data.datasets import load_dataset  # noqa: E402
from playground.models.zoo import build_model  # noqa: E402
from playground.runs import store as runs  # noqa: E402
from playground.training.loop import TrainConfig, train  # noqa: E402

# The same augmentation on both sides; ours goes through the real wiring (augment -> batch augmenter),
# normalised by the trainer with the training set's mean/std, as the plain loop's Normalize does.
CROP_FLIP = {
    "steps": [
        make_step("RandomCrop", size=32, padding=4),
        make_step("RandomHorizontalFlip", p=0.5),
        make_step("ToTensor"),
    ]
}


# ---------------------------------------------------------------------------------------------
# 1. Throughput


class PILDataset(Dataset):
    """The article's style: one PIL image per sample through torchvision transforms."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        img = Image.fromarray(self.x[i].permute(1, 2, 0).numpy())  # (H, W, 3) uint8
        return self.transform(img), int(self.y[i])


SGD = dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)  # the same optimizer on every side


def article_images_per_second(data, model_name: str, epochs: int, workers: int, seed: int) -> float:
    """The article-style loop: DataLoader + per-sample PIL transforms, NCHW, SGD (training time only)."""
    mean, std = data.channel_stats()
    tf = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    loader = DataLoader(
        PILDataset(data.train_x, data.train_y, tf),
        batch_size=128,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    torch.manual_seed(seed)
    model = build_model(model_name, num_classes=10, in_channels=3)
    opt = torch.optim.SGD(model.parameters(), **SGD)
    criterion = nn.CrossEntropyLoss()
    seen, t0 = 0, time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            opt.step()
            seen += len(y)
    return seen / (time.perf_counter() - t0)


def hand_images_per_second(data, model_name: str, epochs: int, seed: int) -> float:
    """The best hand-written eager loop (see the module docstring); training time only, as ours is timed.

    Crop offsets are drawn per sample and applied to the whole padded set with one gather per
    epoch (airbench's way), the flip is one ``torch.where``; every batch is one slice, one
    scale-and-normalise and one channels_last copy. Same batch order rule as ours: drop a last
    batch of one.
    """
    torch.manual_seed(seed)
    model = build_model(model_name, num_classes=10, in_channels=3).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), **SGD)
    mean, std = data.channel_stats()
    mean = torch.tensor(mean).view(1, -1, 1, 1) * 255  # normalise uint8 values directly: (x - 255 m) / (255 s)
    std = torch.tensor(std).view(1, -1, 1, 1) * 255
    x_all, y_all = data.train_x, data.train_y  # (N, 3, 32, 32) uint8, preloaded
    padded = F.pad(x_all, (4, 4, 4, 4))  # (N, 3, 40, 40), once
    n, bs = len(y_all), 128
    rows = torch.arange(32).view(1, 1, 32, 1)
    cols = torch.arange(32).view(1, 1, 1, 32)
    seen, t0 = 0, time.perf_counter()
    for _ in range(epochs):
        model.train()
        top = torch.randint(0, 9, (n, 1, 1, 1))
        left = torch.randint(0, 9, (n, 1, 1, 1))
        b_idx = torch.arange(n).view(-1, 1, 1, 1)
        c_idx = torch.arange(3).view(1, -1, 1, 1)
        crops = padded[b_idx, c_idx, top + rows, left + cols]  # (N, 3, 32, 32) one gather for the epoch
        flip = torch.rand(n) < 0.5
        crops = torch.where(flip.view(-1, 1, 1, 1), crops.flip(3), crops)
        perm = torch.randperm(n)
        steps = n // bs + (1 if n % bs > 1 else 0)
        for i in range(steps):
            idx = perm[i * bs : (i + 1) * bs]
            xb = ((crops[idx].float() - mean) / std).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(xb), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(idx)
    return seen / (time.perf_counter() - t0)


def ours_images_per_second(data, model_name: str, epochs: int, seed: int) -> float:
    """Our trainer, the pipeline resolved to a batched crop+flip (training time only, as its epoch events report it)."""
    cfg = TrainConfig(
        model=model_name,
        dataset="shapes",
        epochs=epochs,
        batch_size=128,
        lr=SGD["lr"],
        momentum=SGD["momentum"],
        nesterov=SGD["nesterov"],
        weight_decay=SGD["weight_decay"],
        schedule="constant",
        label_smoothing=0.0,
        device="cpu",
        seed=seed,
        augment=CROP_FLIP,
    )
    result = train(cfg, data=data)
    return result.images_per_second_mean  # over the same epochs as the other loops, first one included


def conv_gflops(repeats: int = 5) -> float:
    """The machine's measured GFLOP/s on a large 3x3 convolution (forward, channels_last, float32)."""
    x = torch.randn(64, 128, 32, 32).contiguous(memory_format=torch.channels_last)
    conv = nn.Conv2d(128, 128, 3, padding=1, bias=False).to(memory_format=torch.channels_last)
    flops = 2 * 64 * 128 * 32 * 32 * 128 * 9
    with torch.no_grad():
        conv(x)  # warm-up
        best = min(_timed(lambda: conv(x)) for _ in range(repeats))
    return flops / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def step_flops_per_image(model_name: str) -> float:
    """FLOPs of one training step per image (forward + backward), counted by torch.utils.flop_counter."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(model_name, num_classes=10, in_channels=3)
    x = torch.randn(8, 3, 32, 32)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), torch.zeros(8, dtype=torch.long)).backward()
    return counter.get_total_flops() / 8


def part_throughput(rounds: int, size: int, epochs: int, models: list[str]) -> None:
    data = load_dataset("shapes", size=size)
    print(
        f"\n## 1. Throughput on shapes ({len(data.train_y)} training images, batch 128, crop 32 pad 4 + "
        f"flip, {epochs} epochs per measurement, {rounds} interleaved rounds, torch threads {torch.get_num_threads()})"
    )
    for model_name in models:
        sides = {
            "ours": lambda r: ours_images_per_second(data, model_name, epochs, r),
            "hand-written eager": lambda r: hand_images_per_second(data, model_name, epochs, r),
            "article, 0 workers": lambda r: article_images_per_second(data, model_name, epochs, 0, r),
            "article, 2 workers": lambda r: article_images_per_second(data, model_name, epochs, 2, r),
        }
        results: dict[str, list[float]] = {k: [] for k in sides}
        gflops: list[float] = []
        print(f"\n### {model_name}")
        for r in range(rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for k in order:
                results[k].append(sides[k](r))
            gflops.append(conv_gflops())
            print(
                f"round {r + 1}: " + "  ".join(f"{k} {v[-1]:,.0f} img/s" for k, v in results.items()),
                flush=True,
            )
        med = {k: statistics.median(v) for k, v in results.items()}
        article = {k: v for k, v in med.items() if k.startswith("article")}
        best_article = max(article.values())
        peak, per_image = statistics.median(gflops), step_flops_per_image(model_name)
        for k, v in med.items():
            print(
                f"median {k:<20} {v:8,.0f} img/s  {v * per_image / 1e9:6.1f} GFLOP/s "
                f"({v * per_image / 1e9 / peak:.0%} of the large conv)"
            )
        print(
            f"machine: {peak:.1f} GFLOP/s on a 64x128x32x32 3x3 conv (forward, channels_last; median of the rounds); "
            f"one training step costs {per_image / 1e6:.1f} MFLOP per image"
        )
        ours, hand = results["ours"], results["hand-written eager"]
        arts = list(zip(*(results[k] for k in article)))
        print(
            f"ratio ours / best hand-written eager loop (the baseline): {med['ours'] / med['hand-written eager']:.2f}x "
            f"(per round: {', '.join(f'{o / h:.2f}' for o, h in zip(ours, hand))})"
        )
        print(
            f"ratio ours / article-style DataLoader loop (faster of 0/2 workers): {med['ours'] / best_article:.2f}x "
            f"(per round: {', '.join(f'{o / max(a):.2f}' for o, a in zip(ours, arts))})"
        )


# ---------------------------------------------------------------------------------------------
# 2. Polling overhead


class PagePoller:
    """What the Training page does every ``run_every``: new events from an offset, the status, the smoothed curve."""

    def __init__(self, run: Path):
        self.run, self.offset, self.losses, self.polls, self.cpu = run, 0, [], 0, 0.0

    def poll(self) -> None:
        c0 = time.process_time()
        events, self.offset = runs.read_events(self.run, self.offset)
        self.losses += [e["loss"] for e in events if e.get("type") == "step" and e.get("loss") is not None]
        smooth, s = [], None
        for v in self.losses[-2000:]:  # the chart keeps at most ~2,000 points, EMA-smoothed
            s = v if s is None else 0.9 * s + 0.1 * v
            smooth.append(s)
        runs.read_status(self.run)
        self.polls += 1
        self.cpu += time.process_time() - c0


def step_rate(events: list[dict], t0: float, t1: float, wall0: float) -> float:
    """Training steps per second between wall times t0 and t1 (from the step events' times)."""
    steps = [(wall0 + e["time"], e["step"]) for e in events if e["type"] == "step"]
    inside = [(t, s) for t, s in steps if t0 <= t <= t1]
    if len(inside) < 2:
        return float("nan")
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def part_polling(windows: int, window_s: float, poll_every: float) -> None:
    print(
        f"\n## 2. Live polling cost: one run process (SimpleCNN on shapes) trains while this process alternates "
        f"{window_s:g}-second windows of polling its folder every {poll_every} s (read new events from the byte offset, "
        f"read the status, smooth the loss curve) and of not polling; {windows} windows"
    )
    with tempfile.TemporaryDirectory() as d:
        run = runs.launch(TrainConfig(dataset="shapes", epochs=100, device="cpu", log_every=1), Path(d))
        try:
            while not any(e["type"] == "epoch" for e in runs.read_events(run)[0]):  # past start-up and epoch 1
                time.sleep(0.2)
            poller, spans = PagePoller(run), []
            for w in range(windows):
                polling = w % 2 == 1
                t0 = time.time()
                while time.time() - t0 < window_s:
                    if polling:
                        poller.poll()
                        time.sleep(poll_every)
                    else:
                        time.sleep(0.05)
                spans.append((polling, t0, time.time()))
        finally:
            runs.stop(run, grace=20)
        events, _ = runs.read_events(run)
    start = next(e for e in events if e["type"] == "start")
    wall0 = start["wall"] - start["time"]
    rates = [(p, step_rate(events, t0, t1, wall0)) for p, t0, t1 in spans]
    pairs = [(rates[i][1], rates[i + 1][1]) for i in range(0, len(rates) - 1, 2)]  # (not polled, polled) neighbours
    slow = sorted(1 - b / a for a, b in pairs if a == a and b == b)
    plain = statistics.median(r for p, r in rates if not p and r == r)
    watched = statistics.median(r for p, r in rates if p and r == r)
    bs = TrainConfig().batch_size
    print(
        f"median steps/s not polled {plain:.2f} ({plain * bs:,.0f} img/s), polled {watched:.2f} ({watched * bs:,.0f} img/s)"
    )
    print(
        f"slowdown from polling: median {100 * statistics.median(slow):+.1f}% over {len(slow)} neighbouring window "
        f"pairs (spread {100 * slow[0]:+.1f}% .. {100 * slow[-1]:+.1f}%; target < 5%)"
    )
    print(
        f"the poller's own CPU time: {1000 * poller.cpu / max(poller.polls, 1):.2f} ms per poll over {poller.polls} polls "
        f"= {100 * poller.cpu / (poller.polls * poll_every):.2f}% of one core (of 2) while polling"
    )


# ---------------------------------------------------------------------------------------------
# 3. Time to 90%


def time_to_90(args: list[str], label: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        t_launch = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "playground", "train", *args, "--runs-dir", d, "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        t_end = time.time()
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        events, _ = runs.read_events(summary["run_dir"])
    start = next(e for e in events if e["type"] == "start")
    t_train0 = start["wall"] - start["time"]  # wall clock of the trainer's t = 0
    hit = next((e for e in events if e["type"] == "epoch" and e["val_accuracy"] >= 0.9), None)
    curve = ", ".join(
        f"{e['val_accuracy']:.1%}@{t_train0 + e['time'] - t_launch:.1f}s" for e in events if e["type"] == "epoch"
    )
    print(
        f"{label}: "
        + (
            f"90% validation accuracy {t_train0 + hit['time'] - t_launch:.1f} s after process start "
            f"(epoch {hit['epoch']})"
            if hit
            else "never reached 90%"
        )
        + f"; final {summary['final_val_accuracy']:.1%} after {t_end - t_launch:.1f} s; training "
        f"{summary['images_per_second']:,.0f} img/s; first event {t_train0 + start['time'] - t_launch:.1f} s after start"
    )
    print(f"  curve (val accuracy @ seconds since process start): {curve}")


def part_time90() -> None:
    print(
        f"\n## 3. Time to 90% validation accuracy from process start (load average before: "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())})"
    )
    time_to_90([], "default preset (SimpleCNN, shapes, python -m playground train)")
    time_to_90(["--dataset", "digits"], "SimpleCNN on digits (--dataset digits)")


# ---------------------------------------------------------------------------------------------
# 4. Difficulty


def part_difficulty() -> None:
    data = load_dataset("shapes")
    cfg = TrainConfig()
    print(
        f"\n## 4. Is shapes hard enough? Same trainer, same data ({len(data.train_y)} train / {len(data.val_y)} val), "
        f"same {cfg.epochs} epochs"
    )
    linear = train(
        TrainConfig(optimizer="adam", lr=1e-3, schedule="onecycle", channels_last=False),
        data=data,
        model=lambda: nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)),
    )
    cnn = train(cfg, data=data)
    print(f"linear model on pixels (Adam 1e-3): {linear.final('val_accuracy'):.1%} validation accuracy")
    print(f"SimpleCNN (default preset):          {cnn.final('val_accuracy'):.1%} validation accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="throughput,polling,time90,difficulty")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="simplecnn,resnet20", help="zoo presets for the throughput part")
    parser.add_argument("--size", type=int, default=6000, help="shapes samples for the throughput part")
    parser.add_argument("--windows", type=int, default=20, help="alternating windows for the polling part")
    args = parser.parse_args()
    parts = args.parts.split(",")
    print(
        f"# bench_train: torch {torch.__version__}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    if "throughput" in parts:
        part_throughput(args.rounds, args.size, epochs=2, models=args.models.split(","))
    if "polling" in parts:
        part_polling(windows=args.windows, window_s=4.0, poll_every=0.5)
    if "time90" in parts:
        part_time90()
    if "difficulty" in parts:
        part_difficulty()


if __name__ == "__main__":
    main()
