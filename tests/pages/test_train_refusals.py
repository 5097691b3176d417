"""Launch stays off when the data cannot be loaded: a zip the page refused, a dataset not on disk offline.
The refusal names the file the user uploaded, not its stored copy."""

from __future__ import annotations

import io
import struct
import zipfile

from tests.pages.test_train import page, png, store, texts  # noqa: F401 - the Training page's fixtures


def _zip_with_a_bad_crc() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("red", "blue"):
            for i in range(3):
                z.writestr(f"{name}/{i}.png", png())
    data = bytearray(buf.getvalue())
    for sig, offset in ((b"PK\x01\x02", 16), (b"PK\x03\x04", 14)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            struct.pack_into("<I", data, i + offset, 0x12345678)
            start = i + 4
    return bytes(data)


def test_a_refused_zip_keeps_launch_off_and_names_the_users_file(page):  # noqa: F811
    at = page()
    at.selectbox(key="train_dataset").set_value("images").run()
    at.file_uploader(key="train_zip_upload").upload("holiday.zip", _zip_with_a_bad_crc(), "application/zip").run()
    assert not at.exception
    errors = texts(at, "error")
    assert "holiday" in errors and "damaged" in errors
    assert at.button(key="train_launch").disabled and "could not be loaded" in errors


def test_an_offline_dataset_that_is_not_on_disk_keeps_launch_off(page, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("PLAYGROUND_OFFLINE", "1")
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "nodata"))
    at = page({"dataset": "cifar10"})
    assert not at.exception and at.button(key="train_launch").disabled
    assert "could not be loaded" in texts(at, "error")


def test_delete_asks_first(page, store):  # noqa: F811
    from tests.pages.test_train import finished_run

    run = finished_run(store)
    at = page({"run": run.name})
    assert "This cannot be undone" in texts(at, "markdown") and run.exists()  # the first click only asks
    assert at.button(key="train_delete").proto.label == "Delete it for good"
