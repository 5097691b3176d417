"""Crafted zips: every way zipfile can fail is one sentence (DataError), never a traceback; bombs are refused."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile

import pytest

from playground.data.base import DataError
from playground.data.upload import read_image_folder
from tests.unit.data.test_upload import class_entries


def _zip(entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _patch_first(data: bytes, signature: bytes, offset: int, fmt: str, value) -> bytes:
    """Overwrite a field in every header with ``signature`` (local headers and central directory)."""
    out = bytearray(data)
    start = 0
    while (i := out.find(signature, start)) >= 0:
        struct.pack_into(fmt, out, i + offset, value)
        start = i + 4
    return bytes(out)


def _good() -> bytes:
    return _zip(class_entries(n=3))


def _corrupt_data() -> bytes:  # deflate stream garbage: zlib.error
    data = bytearray(_good())
    first = data.find(b"PK\x03\x04")
    name_len, extra_len = struct.unpack_from("<HH", data, first + 26)
    body = first + 30 + name_len + extra_len
    data[body : body + 12] = b"\xff" * 12
    return bytes(data)


def _bad_crc() -> bytes:  # BadZipFile: Bad CRC-32
    data = _patch_first(_good(), b"PK\x01\x02", 16, "<I", 0x12345678)
    return _patch_first(data, b"PK\x03\x04", 14, "<I", 0x12345678)


def _unknown_method() -> bytes:  # NotImplementedError: compression type 99
    data = _patch_first(_good(), b"PK\x01\x02", 10, "<H", 99)
    return _patch_first(data, b"PK\x03\x04", 8, "<H", 99)


def _bad_utf8_names() -> bytes:  # the UTF-8 flag on names that are not UTF-8: UnicodeDecodeError
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in class_entries(n=3).items():
            zf.writestr(name.replace("cats", "cat\u00e9"), data)
    raw = buf.getvalue().replace("cat\u00e9".encode("utf-8"), b"cat\xff\xfe")  # same length, invalid UTF-8
    return _patch_first(raw, b"PK\x01\x02", 8, "<H", 0x800)


CRAFTED = {
    "corrupt-data": (_corrupt_data, "corrupt compressed data|damaged"),
    "bad-crc": (_bad_crc, "damaged"),
    "unknown-method": (_unknown_method, "compression method"),
    "bad-utf8-names": (_bad_utf8_names, "not valid UTF-8"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_zip_is_one_sentence(tmp_path, case):
    make, says = CRAFTED[case]
    path = tmp_path / "crafted.zip"
    path.write_bytes(make())
    with pytest.raises(DataError, match=says) as info:
        read_image_folder(path)
    assert "\n" not in str(info.value) and "Zip your class folders again" in str(info.value)


def test_many_small_members_of_zeros_are_a_zip_bomb(tmp_path):
    # Each 1 MiB member passed the per-member check (only members over 1 MiB were checked) and was read into memory.
    path = tmp_path / "zeros.zip"
    path.write_bytes(_zip({f"cats/{i}.png": bytes(2**20) for i in range(8)}))
    assert path.stat().st_size < 2**16
    with pytest.raises(DataError, match="zip bomb"):
        read_image_folder(path)


def test_the_cli_says_one_line_and_exits_2_for_a_crafted_zip(tmp_path):
    path = tmp_path / "crafted.zip"
    path.write_bytes(_unknown_method())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "playground",
            "train",
            "--dataset",
            str(path),
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "compression method" in lines[0]
