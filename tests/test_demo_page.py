"""The demo page in a real Chromium: photos classified in the browser as `predict --onnx` classifies
them, with no request leaving the page's own origin.

Needs Debian's `chromium` and the `playwright` package. Without them the test is skipped, except
with SKINKIT_BROWSER_REQUIRED=1 (`make browser-check`, and CI's `make test`): there it must run.
"""

import json
import os
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from skinkit.classes import CLASS_CODES
from skinkit.deployment.demo import build_site, server
from skinkit.deployment.inputs import crop_to_input
from skinkit.deployment.predict import answer_photo, classify_photo, prepared_photo
from skinkit.deployment.runtime import OnnxClassifier

from .helpers import SAMPLE, copied_export
from .test_deployment import STAGE

CHROMIUM = os.environ.get("CHROMIUM", "chromium")
TOLERANCE = 0.02  # the bound on a probability; the page's arithmetic is Pillow's and NumPy's


def browser_or_skip():
    """The playwright module and Chromium's path, or a skip (a failure under make browser-check)."""
    playwright = pytest.importorskip("playwright.sync_api") if not os.environ.get("SKINKIT_BROWSER_REQUIRED") \
        else __import__("playwright.sync_api", fromlist=["sync_playwright"])
    executable = shutil.which(CHROMIUM)
    if executable is None:
        if os.environ.get("SKINKIT_BROWSER_REQUIRED"):
            pytest.fail(f"{CHROMIUM} not found: install it with `apt-get install -y chromium`")
        pytest.skip(f"{CHROMIUM} not found")
    return playwright, executable


@pytest.fixture(scope="module")
def site(cli_export, tmp_path_factory):
    """A demo site of a responsive random Small, exported through the command line, served on localhost."""
    runs, _ = copied_export(cli_export, tmp_path_factory)
    folder = build_site(runs, STAGE)
    httpd = server(folder, host="127.0.0.1", port=0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def photos(folder):
    """Course images and photos unlike them: colour, not square, JPEG, larger and smaller than 300 px."""
    chosen = [SAMPLE / "val" / name for name in sorted(p.name for p in (SAMPLE / "val").iterdir())[:3]]
    rng = np.random.default_rng(0)
    gray = np.asarray(Image.open(chosen[0]).convert("L"), dtype=float)
    colour = np.stack([gray, gray * 0.7 + 40, gray * 0.5], axis=-1) + rng.normal(0, 6, (*gray.shape, 3))
    wide = Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8)).resize((480, 360))
    wide.save(folder / "wide.jpg", quality=90)
    wide.resize((220, 170)).save(folder / "small.png")
    return [*chosen, folder / "wide.jpg", folder / "small.png"]


def seen_pixels(page):
    """The model input the page drew on its canvas, as an (S, S) array of gray levels."""
    size, values = page.evaluate("""() => { const canvas = document.getElementById("seen");
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        return [canvas.width, Array.from(data).filter((_, i) => i % 4 === 0)]; }""")
    return np.array(values).reshape(size, size)


def assert_same_trust(page, thresholds, answer, in_browser):
    """The page gives predict's gate verdict and prediction set, except where a score is near its cut."""
    inside = json.loads(page.get_attribute("#result", "data-in-distribution"))
    shown = json.loads(page.get_attribute("#result", "data-prediction-set"))
    if abs(answer["ood_score"] - thresholds["ood_threshold"]) > TOLERANCE * thresholds["ood_threshold"]:
        assert inside == answer["in_distribution"], answer["file"]
    if inside and answer["in_distribution"]:
        clear = [code for code, p in zip(CLASS_CODES, in_browser)
                 if abs(1 - p - thresholds["conformal_threshold"]) > TOLERANCE]
        assert [c for c in clear if c in shown] == [c for c in clear if c in answer["prediction_set"]], answer["file"]
    elif inside is False:
        assert shown == [], answer["file"]


def test_the_page_classifies_photos_like_predict_onnx_with_no_request_leaving_its_origin(site, tmp_path):
    sync, executable = browser_or_skip()
    folder, origin = site
    expected = OnnxClassifier(folder / "model.onnx")
    outside, errors = [], []
    with sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        page = browser.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin + "/")
                   else (outside.append(route.request.url), route.abort()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(origin + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        for photo in photos(tmp_path):
            page.set_input_files("#photo", str(photo))
            page.wait_for_selector(f"#result[data-file='{photo.name}']", state="attached", timeout=60_000)
            shown = json.loads(page.get_attribute("#result", "data-probabilities"))
            computed = classify_photo(expected, photo)
            in_browser = np.array([shown[code] for code in CLASS_CODES])
            np.testing.assert_allclose(in_browser, computed, atol=TOLERANCE, err_msg=photo.name)
            second, first = np.sort(computed)[-2:]
            if first - second > TOLERANCE:  # a random model can tie two classes closer than the runtimes agree
                assert in_browser.argmax() == computed.argmax(), photo.name
            fed = crop_to_input(prepared_photo(photo), expected.resize, expected.image_size)[0, 0].astype(int)
            assert np.abs(seen_pixels(page) - fed).max() <= 1, photo.name  # float rounding: one gray level
            answer = answer_photo(expected, photo)  # what predict --onnx answers
            assert_same_trust(page, expected.thresholds, answer, in_browser)
        browser.close()
    assert errors == [] and outside == []
