"""The CPU allocator setting: in effect while training on glibc, gone afterwards, a clean no-op elsewhere.

Whether glibc then reuses freed memory (fewer page faults) depends on the process's heap, so it is
measured by `python -m skinkit bench`, not asserted here.
"""

import pytest
import torch

from skinkit.training import allocator
from skinkit.training.loop import speed_settings


class RecordingLibc:
    """A stand-in for glibc that records each mallopt and malloc_trim call."""

    def __init__(self):
        self.calls = []

    def mallopt(self, option, value):
        self.calls.append(("mallopt", option, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def libc(monkeypatch):
    fake = RecordingLibc()
    monkeypatch.setattr(allocator, "glibc", lambda: fake)
    return fake


# glibc's <malloc.h> and mallopt(3): M_TRIM_THRESHOLD is -1, M_MMAP_MAX is -4; the defaults are
# 128 KiB and 65,536 mappings. Written out here, not read from the module under test.
def test_the_block_turns_mmap_off_and_restores_glibcs_defaults_after_it(libc):
    with allocator.freed_memory_kept() as kept:
        assert kept is True
        assert libc.calls == [("mallopt", -4, 0), ("mallopt", -1, 512 * 1024**2)]
    assert libc.calls[2:] == [("mallopt", -4, 65536), ("mallopt", -1, 128 * 1024), ("malloc_trim", 0)]


def test_only_the_outermost_block_restores(libc):
    with allocator.freed_memory_kept():
        with allocator.freed_memory_kept():
            pass
        assert not any(call[0] == "malloc_trim" for call in libc.calls)
    assert libc.calls[-1] == ("malloc_trim", 0)


def test_glibc_takes_the_settings_here():
    if allocator.glibc() is None:
        pytest.skip("only glibc's malloc has these settings")
    with allocator.freed_memory_kept() as kept:
        assert kept is True  # mallopt accepted both values


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
