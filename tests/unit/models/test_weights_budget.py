"""A weights file declaring more tensor bytes than the budget is refused from its zip directory, before torch.load."""

from __future__ import annotations

import io
import zipfile

import pytest
import torch

import playground.common.weightsfile as wf
from playground.models.transfer import read_weights_file
from playground.training.checkpoints import load_checkpoint


def _deflated(state: dict) -> bytes:
    """torch.save's archive with every member deflated: a small file that loads into big tensors."""
    raw = io.BytesIO()
    torch.save(state, raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    return out.getvalue()


def test_a_small_deflated_file_of_big_tensors_is_refused_before_loading(monkeypatch, tmp_path):
    data = _deflated({"w": torch.zeros(2**20)})  # 4 MiB of tensor in a few KiB
    assert len(data) < 2**16
    monkeypatch.setattr(wf, "MAX_WEIGHTS_BYTES", 2**20)

    def never(*a, **k):
        raise AssertionError("torch.load ran before the size check")

    monkeypatch.setattr(torch, "load", never)
    with pytest.raises(ValueError, match=r"big\.pt holds 4 MiB of tensors, over this server's 1 MiB"):
        read_weights_file(data, "big.pt")
    path = tmp_path / "big.pt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="holds 4 MiB of tensors"):
        load_checkpoint(path)


def test_weights_within_the_budget_load_and_a_wrong_file_is_a_clean_sentence():
    sd = read_weights_file(_deflated({"w": torch.ones(3)}), "ok.pt")
    assert torch.equal(sd["w"], torch.ones(3))
    with pytest.raises(ValueError) as info:
        read_weights_file(b"\x1b[31mnot a weights file\x1b[0m" * 20, "cat.pth")
    message = str(info.value)
    assert message.startswith("cat.pth is not a PyTorch weights file") and "\x1b" not in message
    assert len(message) < 300
