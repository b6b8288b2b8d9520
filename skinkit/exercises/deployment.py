"""What notebook 9's worked solutions compute (notebooks/solutions/09_deployment_solutions.ipynb).

They read the exports notebook 09 wrote (`<runs>/export/<stage>/`) and write only into
`<runs>/exercises/`, never over a course notebook's files.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..data.prepare import SQUARE_SIZE
from ..deployment.checks import LATENCY_THREADS, latency
from ..deployment.contract import input_size
from ..deployment.export import training_subsets
from ..deployment.predict import classify_photo, top_classes, top_text
from ..deployment.quantize import CANDIDATES, quantize_checked
from ..deployment.report import photo_evidence
from ..deployment.runtime import OnnxClassifier
from ..files import read_json
from ..reporting.comparison import FINAL_STAGES
from ..reporting.conclusion import short_name
from ..reporting.gradcam import rank_correlation

VARIANTS = {"fp32": "model.onnx", "int8": "model.int8.onnx"}


def striped_picture(path, stripe=20):
    """Write a picture that is no skin at all (gray and white stripes) as a PNG at `path`; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = np.arange(SQUARE_SIZE) // stripe % 2
    Image.fromarray(np.tile(np.where(columns, 255, 96).astype(np.uint8), (SQUARE_SIZE, 1))).save(path)
    return path


def top_probabilities(photos, onnx_file):
    """Per photo ({name: path}): the exported model's most probable class and its probability."""
    classifier = OnnxClassifier(onnx_file)
    tops = {name: top_classes(classify_photo(classifier, path), 1)[0] for name, path in photos.items()}
    table = pd.DataFrame(tops, index=["top class", "probability"]).T
    return table.astype({"probability": float}).round({"probability": 3})


def confidence_reading(table):
    """Whether the picture that is no lesion got a lower top probability than the lesion, in words."""
    (lesion, a), (other, b) = table.iterrows()
    lower = "lower" if b["probability"] < a["probability"] else "no lower"
    return (f"The {other} are called {b['top class']} with probability {b['probability']:.2f}, {lower} than "
            f"the {lesion}'s {a['top class']} {a['probability']:.2f}: the model names a lesion class either way.")


def both_models_on(photo, runs_root):
    """Each fine-tuned model's top classes for `photo`, and how alike their Grad-CAM maps rank the pixels."""
    seen = {name: photo_evidence(photo, runs_root, stage) for name, stage in FINAL_STAGES.items()}
    (large, (_, p_large, map_large)), (small, (_, p_small, map_small)) = seen.items()
    same_size = map_large.shape == map_small.shape
    return {"tops": {name: top_text(p) for name, (_, p, _) in seen.items()},
            "same top class": bool(p_large.argmax() == p_small.argmax()),
            "map correlation": rank_correlation(map_large, map_small) if same_size else float("nan")}


def models_reading(result):
    """Both models' answers for one photo and whether their maps agree, in words."""
    tops = "; ".join(f"{short_name(name)}: {text}" for name, text in result["tops"].items())
    agree = "agree on" if result["same top class"] else "disagree about"
    return (f"{tops}. The two models {agree} the top class; their Grad-CAM maps rank the pixels with a "
            f"correlation of {result['map correlation']:+.2f} (1: the same place, 0: unrelated).")


def latency_runs(runs_root, stage, repeat_counts):
    """Median ms per image of the fp32 and int8 files (onnxruntime, one thread), one row per timing run."""
    folder = Path(runs_root) / "export" / stage
    classifiers = {variant: OnnxClassifier(folder / file, LATENCY_THREADS) for variant, file in VARIANTS.items()}
    size = next(iter(classifiers.values())).image_size
    image = np.zeros((1, 1, size, size), np.uint8)
    medians = [{variant: summary["cpu_latency_ms"] for variant, summary in latency(classifiers, image, repeats).items()}
               for repeats in repeat_counts]
    return pd.DataFrame(medians, index=pd.Index(repeat_counts, name="timed runs")).add_suffix(" ms")


def latency_reading(table):
    """How far the medians of equal runs moved, against the fp32-int8 gap of the longest run."""
    first = table.index[0]
    repeated = table.loc[table.index == first]
    moved = (repeated.max() - repeated.min()).max()
    longest = table.iloc[table.index.argmax()]
    gap = abs(longest["fp32 ms"] - longest["int8 ms"])
    verdict = "larger" if gap > moved else "no larger"
    return (f"Between the runs of {first} timings the medians moved by up to {moved:.2f} ms; with "
            f"{table.index.max()} timings fp32 and int8 differ by {gap:.2f} ms, {verdict} than that.")


def per_channel_against_per_tensor(runs_root, stage, data_root=None, seed=0):
    """The guide's recipe and per-tensor weights, each measured against fp32 on held-out training images."""
    config = read_json(Path(runs_root) / stage / "config.json")
    data_root = Path(data_root or config["data_root"])
    size = input_size(config["model"], config["image_size"])[1]
    calibration, selection = training_subsets(data_root / "train", config["model"], size, seed)
    out = Path(runs_root) / "exercises" / "quantization" / stage
    out.mkdir(parents=True, exist_ok=True)
    tried = [CANDIDATES[0], next(c for c in CANDIDATES if not c.per_channel)]
    result = quantize_checked(Path(runs_root) / "export" / stage / "model.onnx", out / "model.int8.onnx",
                              calibration, selection, candidates=tried, try_all=True)
    return pd.DataFrame(result["candidates"]).set_index("name")[["agreement", "bytes"]]


def exported_candidates(runs_root, stage):
    """The int8 candidates notebook 09's export tried for `stage`, with their agreement, from export.json."""
    record = read_json(Path(runs_root) / "export" / stage / "export.json")
    return pd.DataFrame(record["quantization"]["candidates"]).set_index("name")[["agreement"]]


def quantization_reading(table):
    """Which of per-channel and per-tensor kept fp32's class more often, in words."""
    (channel, a), (tensor, b) = table.iterrows()
    if a["agreement"] == b["agreement"]:
        return f"Both kept fp32's class for {a['agreement']:.1%} of the held-out images: no difference here."
    better = channel if a["agreement"] > b["agreement"] else tensor
    return (f"{channel}: {a['agreement']:.1%}; {tensor}: {b['agreement']:.1%} of the held-out images keep "
            f"fp32's class. Better here: {better}.")
