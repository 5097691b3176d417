"""Your own images: a folder or a zip in ImageFolder layout (one sub-folder per class).

Uploads are hostile until proven otherwise. A zip is never extracted to disk: each
member is read into memory, bounded, and decoded with ``images.load_image``, so
nothing can be written anywhere. Still, a zip is refused outright when any entry
name tries to leave its folder (``../``, an absolute path, a drive letter), when it
lists more than ``MAX_FILES`` entries, when it declares more than ``MAX_TOTAL_BYTES``
uncompressed, or when a member compresses more than ``MAX_RATIO`` to 1 (a zip
bomb). Links (in zips and folders) are skipped, never followed; so are files that
are not images, hidden and system files, and images outside a class folder -- each
counted and reported. A single top folder wrapping the class folders (what
"compress folder" makes) is looked through.

Every image is cropped to a centred square and resized to ``image_size`` (default
32). When every image is greyscale the dataset has one channel, else three.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import stat
import struct
import zipfile
import zlib
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator

import numpy as np
import torch
from PIL import Image, ImageOps

from playground.common.images import ImageError, image_types, load_image
from playground.data.base import DataError, DatasetEntry, LoadRequest, RawData

MAX_FILES = 20_000  # entries in a zip / files in a folder
MAX_TOTAL_BYTES = 500 * 2**20  # uncompressed
MAX_RATIO = 100  # uncompressed / compressed: per member over 64 KiB, and for the whole zip
MAX_UPLOAD_BYTES = 200 * 2**20  # the size of an uploaded zip itself (Streamlit's default limit)
DEFAULT_IMAGE_SIZE = 32
MIN_CLASSES, MIN_PER_CLASS = 2, 2
IMAGE_EXTENSIONS = {"." + ext for ext in image_types()}  # what playground.common.images decodes
_SYSTEM = {"__macosx", ".ds_store", "thumbs.db", "desktop.ini"}


class _Tally:
    """What was skipped and why, for the notes the user sees."""

    def __init__(self):
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def skip(self, why: str, name: str) -> None:
        self.counts[why] += 1
        self.examples.setdefault(why, name)

    def notes(self) -> list[str]:
        return [f"Skipped {n} {why} (e.g. {self.examples[why]})." for why, n in self.counts.items()]


def _safe_parts(name: str) -> tuple[str, ...]:
    """Split a zip entry name into path parts; DataError if it tries to leave the archive's folder."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or any(p == ".." for p in norm.split("/")):
        raise DataError(
            f"The zip contains the entry {name!r}, which points outside its own folder "
            "(path traversal). It was refused: make the zip again from the class folders."
        )
    return tuple(p for p in PurePosixPath(norm).parts if p not in ("", "."))


def _is_system(parts: tuple[str, ...]) -> bool:
    return any(p.lower() in _SYSTEM or p.startswith(".") for p in parts)


def _unreadable(path: Path, exc: BaseException, member: str | None = None) -> DataError:
    """One sentence for a zip the zipfile module cannot read (whatever it raises)."""
    if isinstance(exc, NotImplementedError):
        why = "uses a compression method this app cannot read (zip it again with ordinary deflate compression)"
    elif isinstance(exc, UnicodeDecodeError):
        why = "has file names that are not valid UTF-8 although the zip says they are"
    elif isinstance(exc, (zlib.error, EOFError)):
        why = "holds corrupt compressed data"
    elif member is None:  # the archive itself: no zip directory, a broken one
        why = f"is not a readable zip file ({exc})"
    else:  # BadZipFile (a bad CRC, a size that lies), OSError
        why = f"is damaged ({exc})"
    where = f" ({member!r})" if member else ""
    return DataError(f"{path.name}{where} {why}. Zip your class folders again and upload that zip.")


# Everything zipfile raises on a crafted archive: open, directory, names, member data.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    zlib.error,
    NotImplementedError,
    UnicodeDecodeError,
    ValueError,
    struct.error,
)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    try:
        with zf.open(info) as f:
            data = f.read(info.file_size + 1)  # bounded by what the directory declares
    except _ZIP_ERRORS as exc:
        raise _unreadable(path, exc, info.filename) from None
    if len(data) > info.file_size:
        raise DataError(f"{path.name} is refused: {info.filename!r} holds more than it declares.")
    return data


@contextlib.contextmanager
def _zip_members(path: Path, tally: _Tally) -> Iterator[list[tuple[tuple[str, ...], Callable[[], bytes]]]]:
    """``(parts, read)`` of every candidate image in the zip, after all the safety checks; ``read()`` gives its bytes.

    Members are read one at a time while the zip is open (the caller decodes each and drops its
    bytes), so a zip costs the memory of one image, not the sum of its members.
    """
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise _unreadable(path, exc) from None
    with zf:
        out = []
        infos = zf.infolist()
        if len(infos) > MAX_FILES:
            raise DataError(f"{path.name} lists {len(infos)} entries, over the limit of {MAX_FILES}. Use fewer images.")
        parts_of = {info.filename: _safe_parts(info.filename) for info in infos}  # raises on traversal first
        total = sum(info.file_size for info in infos)
        if total > MAX_TOTAL_BYTES:
            raise DataError(
                f"{path.name} unpacks to {total / 2**20:.0f} MiB, over the limit of "
                f"{MAX_TOTAL_BYTES >> 20} MiB. Use fewer or smaller images."
            )
        packed = sum(info.compress_size for info in infos)
        if total > 2**20 and total > MAX_RATIO * max(packed, 1):  # many small members that each pass the check below
            raise DataError(
                f"{path.name} is refused: it expands {total // max(packed, 1)} times (a zip bomb?). "
                "Images hardly compress; zip real image files."
            )
        for info in infos:
            if info.file_size > 2**16 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise DataError(
                    f"{path.name} is refused: {info.filename!r} expands {info.file_size // max(info.compress_size, 1)}"
                    f" times (a zip bomb?). Images hardly compress; zip real image files."
                )
        for info in infos:
            parts = parts_of[info.filename]
            if info.is_dir() or not parts:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                tally.skip("links (never followed)", info.filename)
            elif _is_system(parts):
                tally.skip("hidden or system files", info.filename)
            elif info.flag_bits & 0x1:
                tally.skip("encrypted files", info.filename)
            elif PurePosixPath(parts[-1]).suffix.lower() not in IMAGE_EXTENSIONS:
                tally.skip("files that are not images", info.filename)
            else:
                out.append((parts, functools.partial(_read_member, zf, info, path)))
        yield out


def check_zip(path: str | Path) -> None:
    """Read every member of an image zip once (bounded, CRC-checked, nothing decoded); DataError if unusable.

    For the CLI, before a run folder is made: a damaged zip is one line and exit status 2, not a failed run.
    """
    with _zip_members(Path(path), _Tally()) as members:
        for _, read in members:
            read()


def _folder_members(root: Path, tally: _Tally) -> list[tuple[tuple[str, ...], Callable[[], bytes]]]:
    """The same for a folder on disk: links skipped, never followed; the same limits."""
    out, seen, total = [], 0, 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                tally.skip("links (never followed)", d)
                dirnames.remove(d)
        for fname in sorted(filenames):
            full = Path(dirpath) / fname
            parts = full.relative_to(root).parts
            seen += 1
            if seen > MAX_FILES:
                raise DataError(f"{root} holds over {MAX_FILES} files, the limit. Use fewer images.")
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                tally.skip("links (never followed)", "/".join(parts))
            elif not stat.S_ISREG(st.st_mode):
                tally.skip("special files", "/".join(parts))
            elif _is_system(parts):
                tally.skip("hidden or system files", "/".join(parts))
            elif full.suffix.lower() not in IMAGE_EXTENSIONS:
                tally.skip("files that are not images", "/".join(parts))
            else:
                total += st.st_size
                if total > MAX_TOTAL_BYTES:
                    raise DataError(f"{root} holds over {MAX_TOTAL_BYTES >> 20} MiB of images, the limit. Use fewer.")
                out.append((parts, full.read_bytes))
    return out


def _strip_wrapper(items: list[tuple[tuple[str, ...], Any]]) -> list[tuple[tuple[str, ...], Any]]:
    """Look through single top folders that wrap every class folder (``photos/cats/1.jpg``)."""
    while items and all(len(p) >= 3 for p, _ in items) and len({p[0] for p, _ in items}) == 1:
        items = [(p[1:], d) for p, d in items]
    return items


def _to_array(im: Image.Image, size: int) -> np.ndarray:
    """Centre-crop to a square and resize: ``(size, size)`` or ``(size, size, 3)`` uint8."""
    return np.asarray(ImageOps.fit(im, (size, size), Image.Resampling.BILINEAR))


def read_image_folder(path: str | Path, image_size: int | None = None) -> RawData:
    """Read a folder or zip of class folders into uint8 tensors, safely (see the module docstring)."""
    path = Path(path)
    size = image_size or DEFAULT_IMAGE_SIZE
    tally = _Tally()
    if path.is_dir():
        opened = contextlib.nullcontext(_folder_members(path, tally))
    elif path.is_file():
        opened = _zip_members(path, tally)
    else:
        raise DataError(f"{path} does not exist: give a folder of class folders or a .zip of them.")
    by_class: dict[str, list[np.ndarray]] = {}
    gray = True
    with opened as members:
        for parts, read in _strip_wrapper(members):
            if len(parts) < 2:
                tally.skip("images outside a class folder", "/".join(parts))
                continue
            try:  # one member's bytes at a time: decoded, cropped to size x size, dropped
                im = load_image(read(), name="/".join(parts), max_side=max(4 * size, 256)).image
            except ImageError:
                tally.skip("files that could not be decoded as images", "/".join(parts))
                continue
            gray &= im.mode == "L"
            by_class.setdefault(parts[0], []).append(_to_array(im, size))  # (S, S) for "L", (S, S, 3) for "RGB"
    names = sorted(by_class)
    how = "Put one folder per class, each holding JPEG or PNG images (e.g. cats/001.jpg, dogs/001.jpg), and zip them."
    if not names:
        raise DataError(f"Found no usable images in {path.name}. {how} " + " ".join(tally.notes()))
    if len(names) < MIN_CLASSES:
        raise DataError(
            f"Found images for only one class ({names[0]!r}): a classifier needs at least "
            f"{MIN_CLASSES} class folders. {how}"
        )
    small = [n for n in names if len(by_class[n]) < MIN_PER_CLASS]
    if small:
        raise DataError(
            f"Class {small[0]!r} has only {len(by_class[small[0]])} image(s); each class needs at least "
            f"{MIN_PER_CLASS} (some to train on, some to validate), and 20 or more work far better."
        )
    xs, ys = [], []
    for c, name in enumerate(names):
        for arr in by_class[name]:
            if gray:
                xs.append(arr[None])  # (1, S, S)
            else:
                arr = np.repeat(arr[..., None], 3, axis=2) if arr.ndim == 2 else arr
                xs.append(arr.transpose(2, 0, 1))
            ys.append(c)
    x = torch.from_numpy(np.stack(xs)).contiguous()  # (N, C, size, size) uint8
    y = torch.tensor(ys, dtype=torch.int64)
    counts = ", ".join(f"{n} ({len(by_class[n])})" for n in names)
    return RawData(
        x,
        y,
        names,
        f"Your images from {path.name}: {len(ys)} images in {len(names)} classes: {counts}.",
        notes=tally.notes(),
    )


def save_upload(data: bytes, folder: str | Path, filename: str = "upload.zip") -> Path:
    """Store an uploaded zip by content hash under ``folder`` (so runs can refer to it); returns its path."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataError(f"{filename} is {len(data) / 2**20:.0f} MiB; the limit is {MAX_UPLOAD_BYTES >> 20} MiB.")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DataError(f"{filename} is not a zip file. Zip your class folders (one folder per class) and upload that.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.zip"
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def _load(req: LoadRequest) -> RawData:
    if not req.path:
        raise DataError("The images dataset needs a folder or a .zip of class folders (one folder per class).")
    return read_image_folder(req.path, req.image_size)


ENTRIES = {
    "images": DatasetEntry("Your images", "A folder or zip with one sub-folder of images per class.", _load, True),
}
