"""What notebook 9's worked solutions compute (notebooks/solutions/09_deployment_solutions.ipynb).

They read the exports notebook 09 wrote (`<runs>/export/<stage>/`) and write only into
`<runs>/exercises/`, never over a course notebook's files.
"""

from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import torch
from PIL import Image

from ..data.prepare import SQUARE_SIZE
from ..deployment.checks import LATENCY_THREADS, latency
from ..deployment.contract import input_size
from ..deployment.export import training_subsets
from ..deployment.inputs import crop_to_input
from ..deployment.predict import classify_photo, prepared_photo, top_classes, top_text
from ..deployment.quantize import agreement, preprocess
from ..deployment.runtime import OnnxClassifier
from ..files import read_json
from ..reporting import gradcam
from ..reporting.comparison import FINAL_STAGES
from ..reporting.conclusion import short_name
from ..reporting.gradcam import rank_correlation
from ..training.stage import load_stage_model

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


def photo_evidence(path, runs_root, stage):
    """A photo through a stage's PyTorch model: (what the model sees, probabilities, Grad-CAM of the top class)."""
    model, config = load_stage_model(runs_root, stage)
    resize, size = input_size(config["model"], config["image_size"])
    square = prepared_photo(path)
    inputs = gradcam.model_inputs(model, torch.from_numpy(square), size)
    with torch.inference_mode():
        probabilities = model.eval()(inputs).softmax(dim=1)[0].numpy()
    heatmap = gradcam.gradcam(model, inputs, [int(probabilities.argmax())])[0]
    return torch.from_numpy(crop_to_input(square, resize, size)[0, 0]), probabilities, heatmap


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


def quantization_inputs(runs_root, stage, data_root=None, seed=0):
    """What exercises 4 and 5 quantize: the exported fp32 file, its pre-processed copy, calibration and held-out images.

    The pre-processed copy goes to `<runs>/exercises/quantization/<stage>/`, where the variants go too.
    """
    config = read_json(Path(runs_root) / stage / "config.json")
    size = input_size(config["model"], config["image_size"])[1]
    calibration, held_out = training_subsets(Path(data_root or config["data_root"]) / "train", config["model"],
                                             size, seed)
    folder = Path(runs_root) / "exercises" / "quantization" / stage
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = Path(runs_root) / "export" / stage / "model.onnx"
    preprocess(fp32, folder / "prepared.onnx")
    return {"fp32": fp32, "prepared": folder / "prepared.onnx", "folder": folder,
            "calibration": calibration, "held_out": held_out}


def classifier_nodes(prepared_path):
    """Names of the classifier's layers (the Gemm nodes) of a pre-processed model."""
    return [node.name for node in onnx.load(str(prepared_path)).graph.node if node.op_type == "Gemm"]


def compared(fp32_path, int8_path, images):
    """An int8 file against its fp32 one: agreement on `images` and file size in MB."""
    return {"agreement": agreement(OnnxClassifier(fp32_path), OnnxClassifier(int8_path), images),
            "MB": Path(int8_path).stat().st_size / 1e6}


def quantization_reading(table):
    """Which variant kept fp32's class most often, in words (table: one row per variant, column agreement)."""
    shares = "; ".join(f"{name}: {row['agreement']:.1%}" for name, row in table.iterrows())
    best = table["agreement"]
    if best.nunique() == 1:
        return f"{shares} of the held-out images keep fp32's class: no difference here."
    return f"{shares} of the held-out images keep fp32's class. Best here: {best.idxmax()}."
