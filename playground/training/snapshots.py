"""Snapshots of a run while it learns: "Watch it learn" on the Training page, images in TensorBoard.

``SnapshotRecorder`` writes, into a run's ``snapshots/`` folder, one small compressed ``.npz`` per
snapshot: at a few early steps (``EARLY_STEPS``: most change happens there) and after every epoch.
Each holds the first conv's weights, the feature maps of up to ``MAX_LAYERS`` layers and Grad-CAM
with the top-3 predictions for ``N_IMAGES`` fixed validation images, and the confusion matrix (early:
on the first ``EARLY_EVAL`` (128) validation images; after an epoch: the whole validation set, counted
during the loop's own evaluation). ``index.json`` lists them; every file is written atomically (a
temporary file, then ``os.replace``). The folder keeps under ``BUDGET_BYTES``: a snapshot that would
go over it is not written, and recording stops with a sentence in the index.

The model is probed as a plain module (under data parallelism: the unwrapped one, on rank 0 only),
in eval mode and without touching its gradients, so the training it watches is unchanged.
Reading back (``read_index``, ``load``) and the pictures (``filters_picture``, ``maps_picture``,
``cam_picture``) need numpy only: the page and the TensorBoard export use them.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

EARLY_STEPS = (0, 10, 50)
N_IMAGES = 4
MAX_LAYERS = 3
MAX_CHANNELS = 8  # feature maps kept per layer
MAX_MAP_SIDE = 32  # feature maps are pooled down to at most this side
MAX_IMAGE_SIDE = 64  # the fixed images and their Grad-CAM maps, at most this side
MAX_FILTERS = 64
EARLY_EVAL = 128  # the early confusion matrices: a quick look (the full validation set costs a run too much there)
BUDGET_BYTES = 5 * 2**20
SNAPSHOT_SHARE = 0.02  # of a run's time, at most, spent on its snapshots (the budget is under 3%; training/loop.py)
INDEX = "index.json"
IMAGES = "images.npz"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def pick_images(labels, n: int = N_IMAGES) -> list[int]:
    """Indices of ``n`` fixed validation images: the first of each class in turn (different classes first)."""
    labels = [int(v) for v in labels]
    chosen, seen = [], set()
    for i, v in enumerate(labels):
        if v not in seen:
            chosen.append(i)
            seen.add(v)
        if len(chosen) == n:
            return chosen
    rest = [i for i in range(len(labels)) if i not in chosen]
    return (chosen + rest)[:n]


class SnapshotRecorder:
    """Records snapshots of ``model`` into ``directory`` (see the module docstring)."""

    def __init__(self, directory, *, val_x, val_y, val_inputs, class_names, budget: int = BUDGET_BYTES):
        import torch

        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.budget = budget
        self.inputs = val_inputs
        self.classes = list(class_names)
        self.val_x, self.val_y = val_x, val_y
        self.idx = pick_images(val_y.tolist())
        self.x = val_x[self.idx]  # (n, C, H, W) uint8 on the device
        self.y = [int(v) for v in val_y[self.idx]]
        self.layers: list[str] | None = None  # chosen at the first snapshot, from the model's own outputs
        self.entries: list[dict] = []
        self.stopped = ""
        self.thinned = 0  # snapshots the run left out to keep its time share (training/loop.py)
        self.used = 0
        side = min(MAX_IMAGE_SIDE, max(self.x.shape[-2:]))
        shown = torch.nn.functional.interpolate(self.x.float(), size=(side, side), mode="area").round().to(torch.uint8)
        self._put(IMAGES, _npz(images=shown.cpu().numpy(), labels=np.asarray(self.y, dtype=np.int64)))
        self._write_index()

    @property
    def full(self) -> bool:
        return bool(self.stopped)

    def _put(self, name: str, data: bytes) -> None:
        _write_atomic(self.dir / name, data)
        self.used += len(data)

    def _write_index(self) -> None:
        index = {
            "version": 1,
            "classes": self.classes,
            "labels": self.y,
            "layers": self.layers or [],
            "budget_bytes": self.budget,
            "bytes": self.used,
            "stopped": self.stopped,
            "thinned": self.thinned,
            "snapshots": self.entries,
        }
        _write_atomic(self.dir / INDEX, json.dumps(index, indent=1).encode())

    def _choose_layers(self, model) -> list[str]:
        from playground.models.probe import feature_maps, map_layers

        maps = feature_maps(model, self.inputs(self.x[:1]), map_layers(model))  # spatial outputs only
        names = list(maps)
        if len(names) <= MAX_LAYERS:
            return names
        picks = np.linspace(0, len(names) - 1, MAX_LAYERS).round().astype(int)  # first, middle, last
        return [names[i] for i in picks]

    def confusion(self, model, limit: int | None = EARLY_EVAL, batch_size: int = 512):
        """``(K, K)`` counts of ``model`` on the first ``limit`` validation images (None: all; rows true)."""
        import torch

        from playground.models.probe import _eval

        k = len(self.classes)
        x, y = self.val_x[:limit], self.val_y[:limit]
        cm = torch.zeros(k * k, dtype=torch.int64, device=y.device)
        with torch.no_grad(), _eval(model):
            for i in range(0, len(y), batch_size):
                pred = model(self.inputs(x[i : i + batch_size])).argmax(1)
                cm += torch.bincount(y[i : i + batch_size].long() * k + pred.long(), minlength=k * k)
        return cm.view(k, k).cpu()

    def record(self, model, *, step: int, epoch: float, confusion=None) -> dict | None:
        """One snapshot of ``model`` at ``step``; ``confusion``: the epoch's full-set matrix (else the early one).

        Returns the index entry, or None once the budget is spent (recording has stopped).
        """
        import torch
        import torch.nn.functional as F

        from playground.models.probe import _eval, conv_layers, grad_cams

        if self.full:
            return None
        if self.layers is None:
            self.layers = self._choose_layers(model)
        cm = (confusion if confusion is not None else self.confusion(model)).to(torch.int64).cpu()
        arrays: dict[str, np.ndarray] = {"confusion": cm.numpy().astype(np.int32)}
        convs = conv_layers(model)
        if convs:
            arrays["filters"] = convs[0][1].weight.detach()[:MAX_FILTERS].float().cpu().numpy()  # (O, I, kh, kw)
        batch = self.inputs(self.x)  # (n, C, H, W) model-ready
        outputs: dict[str, torch.Tensor] = {}
        modules = dict(model.named_modules())
        keep = lambda n, o: outputs.__setitem__(n, o.detach().clone())  # noqa: E731 - a copy: a later in-place layer
        hooks = [
            modules[n].register_forward_hook(lambda _m, _i, o, n=n: keep(n, o)) for n in self.layers if n in modules
        ]
        cam = None
        try:  # one forward pass (the hooks keep the chosen layers' outputs) and one backward, for all four images
            cam, logits = grad_cams(model, batch)  # Grad-CAM of each image's predicted class
        except ValueError:  # no conv layer: no Grad-CAM, the predictions alone
            with torch.no_grad(), _eval(model):
                logits = model(batch)
        finally:
            for h in hooks:
                h.remove()
        probs = logits.float().softmax(1)  # (n, K)
        top_p, top_i = probs.topk(min(3, probs.shape[1]), dim=1)
        arrays["top_p"], arrays["top_i"] = top_p.cpu().numpy(), top_i.cpu().numpy().astype(np.int32)
        if cam is not None:
            side = min(MAX_IMAGE_SIDE, max(batch.shape[-2:]))
            cam = F.interpolate(cam[:, None].float().cpu(), size=(side, side), mode="bilinear")[:, 0]
            arrays["cam"] = (cam.clamp(0, 1) * 255).round().to(torch.uint8).numpy()  # (n, side, side)
        for j, name in enumerate(self.layers):
            if name not in outputs or outputs[name].ndim != 4:
                continue
            maps = outputs[name][:, :MAX_CHANNELS].float().cpu()  # (n, C', h, w)
            if max(maps.shape[-2:]) > MAX_MAP_SIDE:
                maps = F.adaptive_avg_pool2d(maps, MAX_MAP_SIDE)
            lo = maps.amin(dim=(2, 3), keepdim=True)
            hi = maps.amax(dim=(2, 3), keepdim=True)
            arrays[f"maps{j}"] = ((maps - lo) / (hi - lo).clamp_min(1e-12) * 255).round().to(torch.uint8).numpy()
        data = _npz(**arrays)
        name = f"step_{step:07d}.npz"
        index_room = 4096 + 256 * (len(self.entries) + 1)  # the index grows by an entry per snapshot
        if self.used + len(data) + index_room > self.budget:
            self.stopped = (
                f"Recording stopped at step {step}: the next snapshot would take this run's snapshots past their "
                f"{self.budget / 2**20:.0f} MB budget."
            )
            self._write_index()
            return None
        try:
            self._put(name, data)
        except OSError as exc:  # a full disk: the run goes on (its checkpoint says so if it cannot)
            self.stopped = (
                f"Recording stopped at step {step}: the snapshot could not be written ({exc.strerror or exc})."
            )
            try:
                self._write_index()
            except OSError:
                pass
            return None
        n = int(cm.sum())
        entry = {
            "step": int(step),
            "epoch": round(float(epoch), 4),
            "file": name,
            "bytes": len(data),
            "images": n,
            "accuracy": float(cm.diag().sum()) / max(n, 1),
        }
        self.entries.append(entry)
        self._write_index()
        return entry


# --------------------------------------------------------------------------- reading back (numpy only)


def read_index(directory) -> dict | None:
    """The snapshots' index (None when the folder holds none yet, or its index cannot be read)."""
    try:
        index = json.loads((Path(directory) / INDEX).read_text())
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) and isinstance(index.get("snapshots"), list) else None


def load(directory, entry: dict) -> dict[str, np.ndarray]:
    """The arrays of one snapshot (``entry`` from the index), with the fixed ``images`` and their ``labels``."""
    import zipfile

    d = Path(directory)
    name = Path(str(entry["file"])).name  # a name inside the folder, never a path out of it
    try:
        with np.load(d / name, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        with np.load(d / IMAGES, allow_pickle=False) as z:
            out["images"], out["labels"] = z["images"], z["labels"]
    except (zipfile.BadZipFile, EOFError, KeyError) as exc:  # a damaged or foreign file: a sentence, not a traceback
        raise ValueError(f"snapshot {name} is not readable ({exc.__class__.__name__})") from exc
    return out


# --------------------------------------------------------------------------- pictures (numpy only)


def _rgb(image: np.ndarray) -> np.ndarray:
    """uint8 ``(C, H, W)`` with 1 or 3 (or more: the first 3) channels -> ``(H, W, 3)``."""
    a = np.asarray(image)
    a = np.repeat(a[:1], 3, axis=0) if a.shape[0] < 3 else a[:3]
    return a.transpose(1, 2, 0)


def _enlarge(a: np.ndarray, side: int) -> np.ndarray:
    """Whole-pixel blocks, so the largest side reaches at least ``side`` pixels."""
    k = max(1, -(-side // max(a.shape[0], a.shape[1])))
    return a.repeat(k, axis=0).repeat(k, axis=1) if k > 1 else a


def grid(tiles: list[np.ndarray], columns: int, gap: int = 2) -> np.ndarray:
    """Equal-sized ``(h, w[, 3])`` uint8 tiles -> one image, ``columns`` wide, white gaps between."""
    if not tiles:
        return np.full((8, 8, 3), 255, dtype=np.uint8)
    th, tw = tiles[0].shape[:2]
    extra = tiles[0].shape[2:]
    rows = -(-len(tiles) // columns)
    cols = min(columns, len(tiles))
    out = np.full((rows * th + (rows - 1) * gap, cols * tw + (cols - 1) * gap, *extra), 255, dtype=np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * (th + gap) : r * (th + gap) + th, c * (tw + gap) : c * (tw + gap) + tw] = t
    return out


def filters_picture(filters: np.ndarray, tile: int = 24, columns: int = 8) -> np.ndarray:
    """First-layer weights ``(O, I, kh, kw)`` -> a grid, each filter scaled to [0, 1] (RGB for 3 inputs, else grey)."""
    w = np.asarray(filters, dtype=np.float32)
    flat = w.reshape(len(w), -1)
    lo, hi = flat.min(1, keepdims=True), flat.max(1, keepdims=True)
    w = ((flat - lo) / np.maximum(hi - lo, 1e-12)).reshape(w.shape)
    tiles = [_enlarge(_rgb((f[:3] if f.shape[0] == 3 else f[:1]) * 255).astype(np.uint8), tile) for f in w]
    return grid(tiles, columns)


def maps_picture(maps: np.ndarray, tile: int = 32) -> np.ndarray:
    """Feature maps ``(n images, C, h, w)`` uint8 -> one row of channels per image."""
    tiles = [_enlarge(np.repeat(m[..., None], 3, axis=-1), tile) for img in maps for m in img]
    return grid(tiles, columns=maps.shape[1])


def overlay(image: np.ndarray, cam: np.ndarray, side: int = 96, alpha: float = 0.5) -> np.ndarray:
    """A Grad-CAM map (``(h, w)`` uint8) over its image (uint8 ``(C, H, W)``, 1 or 3 channels): ``(side, side, 3)``."""
    from PIL import Image

    base = np.asarray(Image.fromarray(_rgb(image)).resize((side, side), Image.Resampling.NEAREST), dtype=np.float32)
    heat = np.asarray(Image.fromarray(np.asarray(cam, dtype=np.uint8)).resize((side, side)), dtype=np.float32) / 255
    red = np.stack([heat * 255, heat * 64, np.zeros_like(heat)], axis=-1)  # (side, side, 3): warm where it looks
    mixed = base * (1 - alpha * heat[..., None]) + red * alpha * heat[..., None]
    return mixed.clip(0, 255).astype(np.uint8)


def cam_picture(images: np.ndarray, cams: np.ndarray, side: int = 96) -> np.ndarray:
    """The fixed images with their Grad-CAM overlays, side by side: ``(side, n * side + gaps, 3)``."""
    return grid([overlay(im, c, side) for im, c in zip(images, cams)], columns=len(images))
