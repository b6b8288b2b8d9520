"""The CPU allocator setting: applied where glibc is, a clean no-op elsewhere, used by the training loop."""

import platform

import pytest
import torch

from skinkit.training import allocator
from skinkit.training.loop import prepare_device


def minor_page_faults_of_filling(n_bytes):
    """Page faults this process takes while creating and filling a tensor of `n_bytes`."""
    import resource  # Unix only

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(n_bytes // 4)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_glibc_linux_reuses_freed_memory_without_page_faults():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("only glibc's malloc has these settings")
    assert allocator.keep_freed_memory() is True
    size = 64 * 1024**2  # glibc's default always maps a block this big afresh: 16,384 faults
    for _ in range(3):  # let the heap grow to its working size
        minor_page_faults_of_filling(size)
    pages = size // 4096
    assert min(minor_page_faults_of_filling(size) for _ in range(3)) < pages // 10


@pytest.mark.parametrize("system, libc", [("Darwin", ""), ("Windows", ""), ("Linux", "musl")])
def test_other_platforms_are_left_alone(monkeypatch, system, libc):
    monkeypatch.setattr(allocator.platform, "system", lambda: system)
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: (libc, ""))
    monkeypatch.setattr(allocator.ctypes, "CDLL", pytest.fail)  # must not touch any C library
    assert allocator.keep_freed_memory.__wrapped__() is False


def test_prepare_device_tunes_the_cpu_only(monkeypatch):
    calls = []
    monkeypatch.setattr("skinkit.training.loop.keep_freed_memory", lambda: calls.append("cpu"))
    prepare_device(torch.device("cuda"))
    prepare_device(torch.device("mps"))
    assert calls == []
    prepare_device(torch.device("cpu"))
    assert calls == ["cpu"]
