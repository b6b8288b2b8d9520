"""`python -m skinkit demo` without a browser: the pinned runtime is checked before it is kept, the
site holds what the page loads, and what cannot be done ends as one line (tests/test_demo_page.py
opens the page in Chromium)."""

import base64
import hashlib
import io
import tarfile

import onnx
import pytest

from skinkit.classes import CLASS_CODES
from skinkit.deployment import demo, web_runtime

from .test_deployment import run_cli


def tiny_model(path, **metadata):
    """An ONNX file with only the metadata the page reads (an Identity graph)."""
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["image"], ["probabilities"])], "tiny",
                                   [onnx.helper.make_tensor_value_info("image", onnx.TensorProto.UINT8, [1])],
                                   [onnx.helper.make_tensor_value_info("probabilities", onnx.TensorProto.UINT8, [1])])
    model = onnx.helper.make_model(graph)
    onnx.helper.set_model_props(model, {"stage": "small_finetune", "architecture": "small", "image_size": "64",
                                        "resize": "73", "classes": ",".join(CLASS_CODES), **metadata})
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def fake_tarball(files):
    """Bytes of an npm-style tarball holding `files` ({name: bytes}) under package/dist/."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def registry(monkeypatch, tmp_path):
    """A stand-in registry serving a fake tarball from a file URL, and an empty cache; (tarball bytes, served)."""
    data = fake_tarball({name: name.encode() for name in web_runtime.FILES} | {"ort.all.js": b"not needed"})
    (tmp_path / "registry.tgz").write_bytes(data)
    monkeypatch.setattr(web_runtime, "TARBALL_URL", (tmp_path / "registry.tgz").as_uri())
    monkeypatch.setenv("SKINKIT_CACHE", str(tmp_path / "cache"))
    return data


def test_the_integrity_string_is_npms_sha512_in_base64():
    data = b"onnxruntime-web"
    assert web_runtime.integrity_of(data) == "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    assert web_runtime.INTEGRITY.startswith("sha512-") and len(base64.b64decode(web_runtime.INTEGRITY[7:])) == 64


def test_a_download_with_the_recorded_hash_is_cached_and_only_the_pages_files_are_copied(registry, monkeypatch):
    monkeypatch.setattr(web_runtime, "INTEGRITY", web_runtime.integrity_of(registry))
    files = web_runtime.runtime_files()
    assert sorted(p.name for p in files.iterdir()) == sorted(web_runtime.FILES)
    assert all((files / name).read_bytes() == name.encode() for name in web_runtime.FILES)
    monkeypatch.setattr(web_runtime, "TARBALL_URL", "http://127.0.0.1:9/gone.tgz")  # the cache is used now
    assert web_runtime.runtime_files() == files


def test_a_download_with_another_hash_is_refused_and_not_kept(registry):
    with pytest.raises(web_runtime.WebRuntimeError, match="sha512"):
        web_runtime.runtime_files()
    assert not any(web_runtime.cache_folder().rglob("*.tgz"))


def test_no_registry_and_no_cache_is_one_line(registry, monkeypatch, tmp_path):
    monkeypatch.setattr(web_runtime, "TARBALL_URL", "http://127.0.0.1:9/gone.tgz")
    tiny_model(tmp_path / "runs" / "export" / "small_finetune" / "model.int8.onnx")
    status, out, err, _ = run_cli("demo", "--runs", tmp_path / "runs")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("demo: ") and "npm registry" in err and "1.30.0" in err


def test_a_stage_without_an_export_is_one_line_naming_the_export_command(tmp_path):
    status, _, err, _ = run_cli("demo", "--stage", "large_finetune", "--runs", tmp_path)
    assert status == 2 and len(err.strip().splitlines()) == 1 and "skinkit export --stage large_finetune" in err


def test_the_site_holds_the_page_the_runtime_and_the_model(registry, monkeypatch, tmp_path):
    monkeypatch.setattr(web_runtime, "INTEGRITY", web_runtime.integrity_of(registry))
    model = tiny_model(tmp_path / "runs" / "export" / "small_finetune" / "model.int8.onnx")
    site = demo.build_site(tmp_path / "runs", "small_finetune")
    assert site == tmp_path / "runs" / "demo" / "small_finetune"
    assert sorted(p.name for p in site.iterdir()) == ["demo.js", "index.html", "model.json", "model.onnx", "ort"]
    assert sorted(p.name for p in (site / "ort").iterdir()) == sorted(web_runtime.FILES)
    assert (site / "model.onnx").read_bytes() == model.read_bytes()
    page = (site / "index.html").read_text()
    assert 'type="file" accept="image/*"' in page and "http" not in page.replace("http-equiv", "")


def test_the_gate_and_conformal_thresholds_reach_the_page_only_when_the_export_has_them(tmp_path):
    older = demo.model_facts(tiny_model(tmp_path / "old" / "model.int8.onnx"))
    assert older["conformal_threshold"] is None and older["ood_threshold"] is None
    newer = demo.model_facts(tiny_model(tmp_path / "new" / "model.int8.onnx", conformal_threshold="0.8125",
                                        ood_threshold="41.5"))
    assert newer["conformal_threshold"] == 0.8125 and newer["ood_threshold"] == 41.5
    assert newer["classes"] == list(CLASS_CODES) and (newer["image_size"], newer["resize"]) == (64, 73)
