"""onnxruntime-web for the demo page: one pinned release from the npm registry, its hash checked, cached.

The page loads the runtime from its own origin, never from a CDN, so it works with no network once
the site is written. Only the WebAssembly build is copied: `ort.wasm.min.js` and the module and
`.wasm` file it loads (one thread, so the page needs no cross-origin isolation).
"""

import base64
import hashlib
import os
import tarfile
import urllib.request
from pathlib import Path

from ..errors import KitError
from ..files import atomic_path

VERSION = "1.30.0"
# `npm view onnxruntime-web@1.30.0 dist.integrity`: the registry's own hash of the package tarball
INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
TARBALL_URL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{VERSION}.tgz"
FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
FETCH_TIMEOUT_S = 120


class WebRuntimeError(KitError, RuntimeError):
    """onnxruntime-web could not be fetched from the npm registry, or its download was not the pinned file."""

    title = "onnxruntime-web unavailable"


def cache_folder():
    """Where the tarball and its files are kept: $SKINKIT_CACHE or ~/.cache/skinkit."""
    root = os.environ.get("SKINKIT_CACHE") or Path.home() / ".cache" / "skinkit"
    return Path(root) / f"onnxruntime-web-{VERSION}"


def integrity_of(data):
    """The npm integrity string (sha512, base64) of `data`."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_tarball(path):
    """Download the pinned tarball into `path`, refusing anything whose hash is not the recorded one."""
    try:
        with urllib.request.urlopen(TARBALL_URL, timeout=FETCH_TIMEOUT_S) as response:
            data = response.read()
    except OSError as error:
        raise WebRuntimeError(f"could not fetch onnxruntime-web {VERSION} from the npm registry ({error}) and no "
                              f"copy is cached in {path.parent}; connect to the internet once and run the "
                              f"command again.") from None
    if integrity_of(data) != INTEGRITY:
        raise WebRuntimeError(f"{TARBALL_URL}: the download is not the pinned onnxruntime-web {VERSION} (its "
                              f"sha512 differs from the recorded one); nothing was kept, try again later.")
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def runtime_files():
    """The folder holding the runtime files the page needs (FILES), fetched and unpacked on first use."""
    folder = cache_folder()
    files = folder / "dist"
    if all((files / name).is_file() for name in FILES):
        return files
    tarball = folder / f"onnxruntime-web-{VERSION}.tgz"
    if not tarball.is_file() or integrity_of(tarball.read_bytes()) != INTEGRITY:
        folder.mkdir(parents=True, exist_ok=True)
        fetch_tarball(tarball)
    files.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for name in FILES:  # read by name, never extracted wholesale
            with atomic_path(files / name) as tmp:
                Path(tmp).write_bytes(archive.extractfile(f"package/dist/{name}").read())
    return files
