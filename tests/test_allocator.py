"""The CPU allocator setting: in effect while training on glibc, gone afterwards, a clean no-op elsewhere."""

import pytest
import torch

from skinkit.training import allocator
from skinkit.training.loop import speed_settings

SIZE = 64 * 1024**2  # glibc's default always maps a block this big afresh: 16,384 page faults
PAGES = SIZE // 4096

def minor_page_faults_of_filling(n_bytes):
    """Page faults this process takes while creating and filling a tensor of `n_bytes`."""
    import resource  # Unix only

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(n_bytes // 4)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def fewest_faults(rounds=3):
    for _ in range(rounds):  # let the heap grow to its working size
        minor_page_faults_of_filling(SIZE)
    return min(minor_page_faults_of_filling(SIZE) for _ in range(rounds))

@pytest.fixture
def glibc_only():
    if allocator.glibc() is None:
        pytest.skip("only glibc's malloc has these settings")

def test_freed_memory_is_reused_inside_the_block(glibc_only):
    with allocator.freed_memory_kept() as kept:
        assert kept is True
        assert fewest_faults() < PAGES // 10


def test_only_the_outermost_block_restores(glibc_only):
    with allocator.freed_memory_kept():
        with allocator.freed_memory_kept():
            pass
        assert fewest_faults() < PAGES // 10

def test_cpu_training_keeps_freed_memory_and_gpus_do_not(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append("kept") or True)
    monkeypatch.setattr(allocator, "release_freed_memory", lambda: calls.append("released"))
    monkeypatch.setattr("skinkit.training.loop.allow_tf32", lambda: None)
    for device in ("cuda", "mps"):
        with speed_settings(torch.device(device)) as kept:
            assert kept is False
    assert calls == []
    with speed_settings(torch.device("cpu")) as kept:
        assert kept is True and calls == ["kept"]
    assert calls == ["kept", "released"]

@pytest.mark.parametrize("system, libc", [("Darwin", ""), ("Windows", ""), ("Linux", "musl")])
def test_other_platforms_are_left_alone(monkeypatch, system, libc):
    monkeypatch.setattr(allocator.platform, "system", lambda: system)
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: (libc, ""))
    monkeypatch.setattr(allocator.ctypes, "CDLL", pytest.fail)  # must not touch any C library
    allocator.glibc.cache_clear()
    try:
        with allocator.freed_memory_kept() as kept:
            assert kept is False
    finally:
        allocator.glibc.cache_clear()
