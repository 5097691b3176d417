"""Weights files from users, looked at before ``torch.load`` allocates anything.

``torch.load(..., weights_only=True)`` runs no code, but it allocates whatever the file declares:
a 1 MB deflated file can hold a 1 GiB tensor. The archive's own directory says how big its
tensors are, so that is checked first; and PyTorch's error text is cleaned before a user reads it.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

# What reading one weights file may allocate: its tensors' bytes, from the archive's own directory, checked
# before torch.load runs. VGG-16's 528 MB fits; a 1 MB deflated file declaring a 1 GiB tensor does not.
MAX_WEIGHTS_BYTES = 640 * 2**20
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def check_weights_archive(source: "bytes | str | Path", name: str = "weights file") -> None:
    """ValueError with a sentence if the file's tensors would take more than MAX_WEIGHTS_BYTES to load.

    ``torch.save`` writes a zip whose members ``<archive>/data/<n>`` are the tensors' storages, so
    their declared sizes are the memory ``torch.load`` allocates. A legacy (non-zip) file is as big
    as its tensors, so the upload limit already bounds it.
    """
    f = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, UnicodeDecodeError):
        return  # not a zip: a legacy file, or not a weights file at all (torch.load says which)
    total = sum(i.file_size for i in infos)  # the storages (data/<n>) and the pickle that describes them
    if total > MAX_WEIGHTS_BYTES:
        raise ValueError(
            f"{name} holds {total / 2**20:,.0f} MiB of tensors, over this server's {MAX_WEIGHTS_BYTES >> 20} MiB "
            "for one weights file: upload the weights of a smaller model."
        )


def load_error(exc: BaseException) -> str:
    """PyTorch's reason a file did not load, as a short clean clause: first line, no terminal colour codes."""
    text = _ANSI.sub("", str(exc)).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    line = "".join(ch for ch in line if ch.isprintable())
    return line if len(line) <= 160 else line[:157].rsplit(" ", 1)[0] + "..."
