"""Notebook 9's words and pictures: the Large-vs-Small x fp32-vs-int8 table, sentences computed from
it, the exported model's contract, and one photo with its Grad-CAM."""

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import onnx
import pandas as pd
import torch
from PIL import Image

from ..classes import CLASS_CODES
from ..reporting import gradcam
from ..reporting.chance import CHANCE_BALANCED_ACCURACY, chance_clause, chance_reading, not_above_chance
from ..reporting.conclusion import TEXT_WIDTH, latency_reading, latency_sentence, short_name, wrap_paragraphs
from ..reporting.plots import heatmap_panel
from ..training.stage import load_stage_model
from .contract import input_size
from .inputs import crop_to_input
from .predict import prepared_photo, top_text

VARIANTS = ("fp32", "int8")


def megabytes(size):
    """Bytes as megabytes (10^6), one decimal."""
    return f"{size / 1e6:.1f}"


def latency_cell(summary):
    """'4.1 [3.9, 4.6]': median and quartiles of a latency summary, in ms."""
    return f"{summary['cpu_latency_ms']:.1f} [{summary['cpu_latency_q1_ms']:.1f}, {summary['cpu_latency_q3_ms']:.1f}]"


def interval_cell(value, low, high, signed=False):
    """'0.431 [0.392, 0.470]', or with signs for a change."""
    form = "+.3f" if signed else ".3f"
    return f"{value:{form}} [{low:{form}}, {high:{form}}]"


def variant_column(record, variant):
    """One column of the table: one model in fp32 or int8."""
    check, int8 = record["int8_vs_fp32"], variant == "int8"
    level = f"{check['confidence']:.0%} interval"
    score = check[variant]
    return {
        "file size (MB)": megabytes(record["files"][f"{variant}_bytes"]),
        "size vs fp32": f"{record['files']['int8_to_fp32'] if int8 else 1:.2f}x",
        "onnxruntime ms, median [q1, q3]": latency_cell(record["latency_ms"][f"onnxruntime_{variant}"]),
        "PyTorch ms, median [q1, q3]": "-" if int8 else latency_cell(record["latency_ms"]["pytorch_eager"]),
        "same class as fp32": f"{check['same_class_share']:.1%}" if int8 else "(reference)",
        f"balanced accuracy [{level}]": interval_cell(score["balanced_accuracy"], score["low"], score["high"]),
        f"change vs fp32 [{level}]": interval_cell(check["balanced_accuracy_change"], check["change_low"],
                                                   check["change_high"], signed=True) if int8 else "-",
        "ImageNet weights": "yes" if record["pretrained"] else "NO (random init)",
    }


def deployment_table(records):
    """Large vs Small x fp32 vs int8 ({name: export.json record}): size, latency, agreement, scores."""
    frame = pd.DataFrame({f"{short_name(name)} {variant}": variant_column(record, variant)
                          for name, record in records.items() for variant in VARIANTS})
    first = next(iter(records.values()))
    frame.index.name = (f"{first['int8_vs_fp32']['images']} validation images; ms per image "
                        f"on {first['latency_threads']} CPU thread(s)")
    return frame


def size_sentence(records):
    """What int8 does to the file of each model."""
    parts = [f"{megabytes(r['files']['int8_bytes'])} MB instead of {megabytes(r['files']['fp32_bytes'])} MB for "
             f"{short_name(name)} ({r['files']['int8_to_fp32']:.2f}x)" for name, r in records.items()]
    return "int8 stores each weight in one byte instead of four: " + "; ".join(parts) + "."


def goal_clause(record):
    """'meeting the 97% goal' on validation, and where the recipe's own choice on training images disagrees."""
    check, quantization = record["int8_vs_fp32"], record["quantization"]
    target = quantization["target_agreement"]
    met = check["same_class_share"] >= target
    clause = f"{'meeting' if met else 'MISSING'} the {target:.0%} goal"
    chosen_on = [c["agreement"] for c in quantization.get("candidates", []) if c["name"] == quantization["kept"]]
    if chosen_on and (chosen_on[0] >= target) != met:
        clause += (f" here, though on the {quantization['selection_images']} training images the recipe was "
                   f"chosen on it kept {chosen_on[0]:.1%}")
    return clause


def agreement_sentence(name, record):
    """How often int8 keeps fp32's class, and whether the change in balanced accuracy is shown to be real."""
    check = record["int8_vs_fp32"]
    low, high = check["change_low"], check["change_high"]
    if low <= 0 <= high:
        reading = "which includes zero: on these images int8 is not shown to score differently"
    else:
        reading = f"which excludes zero: int8 scores measurably {'lower' if high < 0 else 'higher'}"
    sentence = (f"{short_name(name)}: int8 keeps fp32's class for {check['same_class_share']:.1%} of the "
                f"{check['images']} validation images ({goal_clause(record)}); its balanced accuracy changes by "
                f"{check['balanced_accuracy_change']:+.3f}, "
                f"{check['confidence']:.0%} interval [{low:+.3f}, {high:+.3f}], {reading}.")
    if check.get("fp32_classes_predicted") == 1:
        sentence += (" But fp32 gives every image the same class, so this agreement says nothing about how "
                     "int8 would treat a model that tells the classes apart.")
    return sentence + fidelity_sentence(record)


def fidelity_sentence(record):
    """Why the fp32 file's validation score can differ from the run's own (notebook 6's); '' when it does not."""
    file_score = record["int8_vs_fp32"]["fp32"]["balanced_accuracy"]
    run_score = record.get("run_balanced_accuracy")
    if run_score is None or f"{file_score:.3f}" == f"{run_score:.3f}":
        return ""
    return (f" The fp32 file scores {file_score:.3f} on validation, where notebook 06 read {run_score:.3f} "
            f"for the same model (its metrics.json): the file is fed the resized image rounded to 8-bit "
            f"pixels, not the unrounded one, which can move an image near a class boundary to another class.")


def speed_sentence(name, record):
    """int8 against fp32 in onnxruntime, the faster first, hedged like notebook 6's latencies."""
    timed = sorted(((variant, record["latency_ms"][f"onnxruntime_{variant}"]) for variant in VARIANTS),
                   key=lambda pair: pair[1]["cpu_latency_ms"])
    (fast_name, fast), (slow_name, slow) = timed
    sentence = f"{short_name(name)} in onnxruntime: " + latency_sentence(
        fast, slow, rerun="the export cell", subject=f"{fast_name} and {slow_name}")
    if latency_reading(fast, slow) != "clear":
        return sentence
    return sentence + (" int8 is faster here." if fast_name == "int8" else
                       " int8 is slower here: on this CPU it saves space, not time.")


def int8_cost(name, record):
    """'Small takes 1.8 MB and 8.2 ms': one model's int8 file size and median latency."""
    return (f"{short_name(name)} takes {megabytes(record['files']['int8_bytes'])} MB and "
            f"{record['latency_ms']['onnxruntime_int8']['cpu_latency_ms']:.1f} ms")


def at_chance_clause(records):
    """' Large is at chance (1/7 = 0.143).' for the models whose int8 validation score is not above chance, or ''.

    The score is read with its interval, like every notebook's."""
    readings = {short_name(name): chance_reading(score["balanced_accuracy"], score["low"], score["high"])
                for name, record in records.items() for score in [record["int8_vs_fp32"]["int8"]]}
    not_above = not_above_chance(readings)
    if not not_above:
        return ""
    return f" {chance_clause(not_above)} (1/7 = {CHANCE_BALANCED_ACCURACY:.3f})."


def choice_sentence(records):
    """The report's Large-vs-Small question for a device: both in int8, and whether their intervals overlap."""
    (large, a), (small, b) = records.items()
    score_a, score_b = a["int8_vs_fp32"]["int8"], b["int8_vs_fp32"]["int8"]
    opening = (f"As int8 files, ready for a phone: {int8_cost(small, b)} on this CPU, "
               f"{int8_cost(large, a)}; their validation balanced accuracies are "
               f"{interval_cell(score_b['balanced_accuracy'], score_b['low'], score_b['high'])} and "
               f"{interval_cell(score_a['balanced_accuracy'], score_a['low'], score_a['high'])}")
    if score_a["low"] <= score_b["high"] and score_b["low"] <= score_a["high"]:
        reading = ": the intervals overlap, so these images do not show that one model is more accurate."
    else:
        better = short_name(large) if score_a["balanced_accuracy"] > score_b["balanced_accuracy"] else short_name(small)
        reading = f": the intervals do not overlap, so {better} is the more accurate here."
    return opening + reading + at_chance_clause(records)


def recipe_sentence(name, record):
    """Which int8 recipe was kept for one model, and why."""
    quantization = record["quantization"]
    return f"{short_name(name)}'s int8 recipe: {quantization['kept']}, kept because {quantization['why']}."


def deployment_conclusion(records):
    """Every sentence of notebook 9's summary, computed from the export records, in TEXT_WIDTH paragraphs."""
    paragraphs = [size_sentence(records), *(agreement_sentence(n, r) for n, r in records.items()),
                  *(speed_sentence(n, r) for n, r in records.items()), choice_sentence(records),
                  *(recipe_sentence(n, r) for n, r in records.items())]
    random_init = [short_name(name) for name, record in records.items() if not record["pretrained"]]
    if random_init:
        who = "Both models were" if len(random_init) == len(records) > 1 else f"{' and '.join(random_init)} was"
        paragraphs.append(f"Caution: {who} trained WITHOUT ImageNet weights (pretrained: false); these "
                          "scores say little about what transfer learning would reach.")
    return wrap_paragraphs(*paragraphs)


def export_summary(record):
    """What `python -m skinkit export` prints: the files and every check, a paragraph each."""
    files, onnx_check, check = record["files"], record["onnx_vs_pytorch"], record["int8_vs_fp32"]
    fp32, int8, written = (Path(p) for p in record["files_written"])
    same = ("the same class for every image" if onnx_check["same_predicted_class"]
            else f"a different class for {onnx_check['different_classes']} images")
    latency = record["latency_ms"]
    paragraphs = [
        f"{record['stage']}: wrote {fp32} ({megabytes(files['fp32_bytes'])} MB), {int8.name} "
        f"({megabytes(files['int8_bytes'])} MB, {files['int8_to_fp32']:.2f}x) and {written.name}",
        f"  onnxruntime fp32 vs PyTorch, {onnx_check['images']} validation images: largest probability "
        f"difference {onnx_check['max_probability_difference']:.1e}, {same}",
        f"  int8 vs fp32: same class for {check['same_class_share']:.1%}; balanced accuracy "
        f"{check['fp32']['balanced_accuracy']:.3f} -> {check['int8']['balanced_accuracy']:.3f}, change "
        + interval_cell(check["balanced_accuracy_change"], check["change_low"], check["change_high"], signed=True),
        f"  ms per image on {record['latency_threads']} CPU thread(s), median [q1, q3]: PyTorch "
        f"{latency_cell(latency['pytorch_eager'])}, onnxruntime fp32 {latency_cell(latency['onnxruntime_fp32'])}, "
        f"int8 {latency_cell(latency['onnxruntime_int8'])}",
        f"  int8 recipe: {record['quantization']['kept']}, kept because {record['quantization']['why']}",
    ]
    return [textwrap.fill(text, TEXT_WIDTH, subsequent_indent="    ", break_long_words=False,
                          break_on_hyphens=False) for text in paragraphs]


def shape_text(value_info):
    """'uint8 [batch, 1, 64, 64]': the element type and shape of a graph input or output."""
    tensor = value_info.type.tensor_type
    dims = [dim.dim_param or str(dim.dim_value) for dim in tensor.shape.dim]
    return f"{onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)} [{', '.join(dims)}]"


def contract_lines(path):
    """The exported model's contract as read back from the file: inputs, outputs, metadata keys, classes."""
    model = onnx.load(str(path), load_external_data=False)
    meta = {prop.key: prop.value for prop in model.metadata_props}
    return [*(f"input  {v.name}: {shape_text(v)}" for v in model.graph.input),
            *(f"output {v.name}: {shape_text(v)}" for v in model.graph.output),
            f"opset {max(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx'))}",
            f"metadata: {', '.join(sorted(meta))}", f"classes: {meta['classes']}"]


def files_written(records):
    """Per export folder, the files now in it (nothing else should be left there)."""
    folders = sorted({Path(record["files_written"][0]).parent for record in records.values()})
    return [f"{folder.name}: {', '.join(sorted(p.name for p in folder.iterdir()))}" for folder in folders]


def photo_evidence(path, runs_root, stage):
    """A photo through a finished stage's PyTorch model: (what the model sees, probabilities, Grad-CAM of the top class)."""
    model, config = load_stage_model(runs_root, stage)
    resize, size = input_size(config["model"], config["image_size"])
    square = prepared_photo(path)
    inputs = gradcam.model_inputs(model, torch.from_numpy(square), size)
    with torch.inference_mode():
        probabilities = model.eval()(inputs).softmax(dim=1)[0].numpy()
    heatmap = gradcam.gradcam(model, inputs, [int(probabilities.argmax())])[0]
    return torch.from_numpy(crop_to_input(square, resize, size)[0, 0]), probabilities, heatmap


def explain_photo(path, runs_root, stage="small_finetune"):
    """The photo as given, and as the model sees it with the Grad-CAM of its top class (PyTorch model)."""
    seen, probabilities, heatmap = photo_evidence(path, runs_root, stage)
    figure, (left, right) = plt.subplots(1, 2, figsize=(6.4, 3.4))
    with Image.open(path) as photo:
        left.imshow(photo.convert("RGB"))
    left.set_title(f"{Path(path).name} as given", fontsize=8)
    left.axis("off")
    heatmap_panel(right, seen, heatmap, f"as {stage} sees it ({seen.shape[-1]} px), evidence for "
                                        f"{CLASS_CODES[int(probabilities.argmax())]}\n{top_text(probabilities)}")
    figure.tight_layout()
    plt.close(figure)
    return figure
