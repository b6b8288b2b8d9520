"""Apple's MPS path, tested without a Mac: device choice, layout, loader workers, checkpoint loading.

What needs real MPS hardware (the ops themselves, their speed) is not tested here.
"""

import re
import zipfile

import pytest
import torch

from skinkit.data.loaders import default_num_workers
from skinkit.files import write_json
from skinkit.training.loop import memory_format, pick_device
from skinkit.training.models import build_model
from skinkit.training.run_folders import save_checkpoint
from skinkit.training.stage import load_stage_model

MPS = torch.device("mps")  # a device object only: nothing is allocated on it
CPU_TAG = b"X\x03\x00\x00\x00cpu"  # the pickled string 'cpu' (BINUNICODE: X, 4-byte length, text)


def test_pick_device_prefers_mps_when_there_is_no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device().type == "mps"


def test_mps_keeps_the_default_layout_and_loads_in_the_main_process():
    assert memory_format(MPS) == torch.contiguous_format
    assert memory_format(torch.device("cpu")) == memory_format(torch.device("cuda")) == torch.channels_last
    assert default_num_workers(MPS) == 0
    assert default_num_workers(torch.device("cpu")) == 0 and default_num_workers(torch.device("cuda")) == 2


def relocate(path, location):
    """Rewrite a CPU checkpoint as if torch.save had written it from `location` (e.g. mps)."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    tag = location.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as target:
        for info, data in entries:
            if info.filename.endswith("/data.pkl"):  # storage locations are pickled as strings
                data = data.replace(CPU_TAG, b"X" + len(tag).to_bytes(4, "little") + tag)
            target.writestr(info, data)


def pickled_locations(path):
    """The storage locations named in a checkpoint's data.pkl (where torch.save records the device)."""
    with zipfile.ZipFile(path) as archive:
        [pickle] = [name for name in archive.namelist() if name.endswith("/data.pkl")]
        return set(re.findall(rb"X\x03\x00\x00\x00cpu|X\x03\x00\x00\x00mps|X\x06\x00\x00\x00cuda:0",
                              archive.read(pickle)))


@pytest.mark.parametrize("location", ["mps", "cuda:0"])
def test_a_model_trained_on_a_mac_or_gpu_opens_on_any_machine(tmp_path, location):
    run_dir = tmp_path / "small_frozen"
    model = build_model("small", pretrained=False)
    save_checkpoint(run_dir / "best.pt", {"state_dict": model.state_dict(), "architecture": "small"})
    assert pickled_locations(run_dir / "best.pt") == {CPU_TAG}
    relocate(run_dir / "best.pt", location)
    tag = location.encode()
    assert pickled_locations(run_dir / "best.pt") == {b"X" + len(tag).to_bytes(4, "little") + tag}
    write_json(run_dir / "metrics.json", {})
    write_json(run_dir / "config.json", {"pretrained": False})
    loaded, _ = load_stage_model(tmp_path, "small_frozen")
    for name, value in loaded.state_dict().items():
        assert value.device.type == "cpu" and torch.equal(value, model.state_dict()[name]), name
