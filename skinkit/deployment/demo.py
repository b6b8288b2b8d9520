"""`python -m skinkit demo`: an exported model as a static web page that classifies photos in the browser.

The site is plain files: the page and the kit's script (`static/`), onnxruntime-web (`web_runtime`),
the int8 model and `model.json` (what the page shows beside the bars). Any static server can serve
it; `--serve` starts Python's own on the local network so a phone on the same Wi-Fi can open it.
The page prepares a photo as `predict` does (gray, centre square, SQUARE_SIZE px with PIL's
Lanczos filter, validation's resize and crop, 8-bit), so both give the same probabilities.
"""

import functools
import http.server
import shutil
import socket
from pathlib import Path

import onnx

from ..classes import CLASS_CODES, LESION_CLASSES
from ..data.prepare import SQUARE_SIZE
from ..errors import KitError
from ..files import read_json, write_json
from . import web_runtime

STATIC = Path(__file__).parent / "static"
PAGE_FILES = ("index.html", "demo.js")
MODEL_FILE = "model.int8.onnx"


class DemoError(KitError, FileNotFoundError):
    """The stage has no exported model to put on the page."""

    title = "Nothing to demonstrate"


def model_facts(model_path):
    """What the page shows and needs beside the model: its metadata, the data it was trained on, the gate."""
    metadata = {p.key: p.value for p in onnx.load(str(model_path), load_external_data=False).metadata_props}
    record_path = Path(model_path).with_name("export.json")
    record = read_json(record_path) if record_path.is_file() else {}
    number = lambda key: float(metadata[key]) if key in metadata else None  # noqa: E731
    return {"stage": metadata.get("stage", "?"), "architecture": metadata.get("architecture", "?"),
            "classes": metadata.get("classes", ",".join(CLASS_CODES)).split(","),
            "class_names": dict(zip(CLASS_CODES, LESION_CLASSES["name"])),
            "image_size": int(metadata["image_size"]), "resize": int(metadata["resize"]), "square_size": SQUARE_SIZE,
            "pretrained": metadata.get("pretrained") == "true",
            "trained_on": "/".join(Path(record["data_root"]).parts[-2:]) if "data_root" in record else "?",
            "conformal_threshold": number("conformal_threshold"), "ood_threshold": number("ood_threshold"),
            "onnxruntime_web": web_runtime.VERSION}


def build_site(runs_root, stage, out_dir=None):
    """Write the demo site of `stage`'s exported int8 model into `out_dir` (default <runs>/demo/<stage>)."""
    model = Path(runs_root) / "export" / stage / MODEL_FILE
    if not model.is_file():
        raise DemoError(f"{model}: no exported model; run `python -m skinkit export --stage {stage} --runs "
                        f"{runs_root}` first.")
    runtime = web_runtime.runtime_files()
    out_dir = Path(out_dir) if out_dir else Path(runs_root) / "demo" / stage
    (out_dir / "ort").mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        shutil.copyfile(STATIC / name, out_dir / name)
    for name in web_runtime.FILES:
        shutil.copyfile(runtime / name, out_dir / "ort" / name)
    shutil.copyfile(model, out_dir / "model.onnx")
    write_json(out_dir / "model.json", model_facts(model))
    return out_dir


def network_address():
    """This machine's address on the local network (the route to a private address; nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Python's static file handler without a log line per request, and with the wasm type set."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".onnx": "application/octet-stream"}

    def log_message(self, *args):
        """Say nothing per request."""


def server(folder, host="0.0.0.0", port=8000):
    """A threading HTTP server for the static files of `folder` (port 0: any free port)."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer((host, port), handler)
