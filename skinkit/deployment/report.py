"""Notebook 9's Large-vs-Small table, the cautions a run can call for, and `export`'s printed summary."""

import textwrap
from pathlib import Path

import pandas as pd

from ..reporting.chance import ABOVE_CHANCE, CHANCE_BALANCED_ACCURACY, chance_reading
from ..reporting.conclusion import TEXT_WIDTH, latency_reading, short_name, wrap_paragraphs
from ..reporting.intervals import with_interval

VARIANTS = ("fp32", "int8")
CAUTIONS = {  # in the order they are printed; each is a decision in `cautions_of`
    "random init": "{name} was trained WITHOUT ImageNet weights (pretrained: false): read its scores as a "
                   "from-scratch result, far from what transfer learning reaches.",
    "at chance": "{name}'s int8 file is {chance} on validation (1/7 = {chance_level:.3f}): its scores and its "
                 "agreement with fp32 say little until the model has learned.",
    "one class": "{name}'s fp32 file gives every validation image the same class, so int8's agreement with it "
                 "says nothing.",
    "goal missed": "{name}'s int8 file keeps fp32's class for only {share:.1%} of the validation images, short "
                   "of the {target:.0%} goal (its recipe: {kept}).",
    "fp32 unsteady": "{name}'s fp32 file itself keeps its class for only {steady:.1%} of the validation images "
                     "when each pixel moves by at most one gray level, a change the size of 8-bit rounding: no "
                     "int8 copy can be expected to keep its class {target:.0%} of the time.",
    "int8 slower": "{name}'s int8 file was slower than fp32 here ({int8:.1f} ms against {fp32:.1f} ms per "
                   "image, one thread): on this CPU it saves space, not time.",
}


def megabytes(size):
    """Bytes as megabytes (10^6), one decimal."""
    return f"{size / 1e6:.1f}"


def latency_cell(summary):
    """'4.1 [3.9, 4.6]': median and quartiles of a latency summary, in ms."""
    return f"{summary['cpu_latency_ms']:.1f} [{summary['cpu_latency_q1_ms']:.1f}, {summary['cpu_latency_q3_ms']:.1f}]"


def variant_column(record, variant):
    """One column of the table: one model in fp32 or int8."""
    check, int8, score = record["int8_vs_fp32"], variant == "int8", record["int8_vs_fp32"][variant]
    level = f"{check['confidence']:.0%} interval"
    return {
        "file size (MB)": megabytes(record["files"][f"{variant}_bytes"]),
        "size vs fp32": f"{record['files']['int8_to_fp32'] if int8 else 1:.2f}x",
        "onnxruntime ms, median [q1, q3]": latency_cell(record["latency_ms"][f"onnxruntime_{variant}"]),
        "PyTorch ms, median [q1, q3]": "-" if int8 else latency_cell(record["latency_ms"]["pytorch_eager"]),
        "same class as fp32": f"{check['same_class_share']:.1%}" if int8 else "(reference)",
        "same class, pixels ±1 gray": "-" if int8 else f"{record['fp32_one_level_steadiness']:.1%}",
        f"balanced accuracy [{level}]": with_interval(score["balanced_accuracy"], score["low"], score["high"]),
        f"change vs fp32 [{level}]": with_interval(check["balanced_accuracy_change"], check["change_low"],
                                                   check["change_high"], signed=True) if int8 else "-",
        "ImageNet weights": "yes" if record["pretrained"] else "NO (random init)",
    }


def deployment_table(records):
    """Large vs Small x fp32 vs int8 ({name: measured record}): size, latency, agreement, scores."""
    frame = pd.DataFrame({f"{short_name(name)} {variant}": variant_column(record, variant)
                          for name, record in records.items() for variant in VARIANTS})
    first = next(iter(records.values()))
    frame.index.name = (f"{first['int8_vs_fp32']['images']} validation images; ms per image "
                        f"on {first['latency_threads']} CPU thread(s)")
    return frame


def cautions_of(record, target):
    """{caution: its numbers} for what in one model's record could mislead a reader (keys of CAUTIONS)."""
    check, latency = record["int8_vs_fp32"], record["latency_ms"]
    int8, fp32 = latency["onnxruntime_int8"], latency["onnxruntime_fp32"]
    chance = chance_reading(check["int8"]["balanced_accuracy"], check["int8"]["low"], check["int8"]["high"])
    found = {"random init": not record["pretrained"], "at chance": chance != ABOVE_CHANCE,
             "one class": check.get("fp32_classes_predicted") == 1,
             "goal missed": check["same_class_share"] < target,
             "fp32 unsteady": check["same_class_share"] < target  # why the goal was missed
                              and record.get("fp32_one_level_steadiness", 1.0) < target,
             "int8 slower": int8["cpu_latency_ms"] > fp32["cpu_latency_ms"] and latency_reading(fp32, int8) == "clear"}
    numbers = {"chance": chance, "chance_level": CHANCE_BALANCED_ACCURACY, "share": check["same_class_share"],
               "target": target, "steady": record.get("fp32_one_level_steadiness"),
               "kept": record.get("quantization", {}).get("kept", "-"),
               "int8": int8["cpu_latency_ms"], "fp32": fp32["cpu_latency_ms"]}
    return {key: numbers for key in CAUTIONS if found[key]}


def cautions(records, target):
    """The cautions of every model ({name: record}) as wrapped paragraphs; '' when there is nothing to warn of."""
    return wrap_paragraphs(*(CAUTIONS[key].format(name=short_name(name), **numbers) for name, record in
                             records.items() for key, numbers in cautions_of(record, target).items()))


def export_summary(record):
    """What `python -m skinkit export` prints: the files and every check, a paragraph each."""
    files, onnx_check, check = record["files"], record["onnx_vs_pytorch"], record["int8_vs_fp32"]
    fp32, int8, written = (Path(p) for p in record["files_written"])
    same = ("the same class for every image" if onnx_check["same_predicted_class"]
            else f"a different class for {onnx_check['different_classes']} images")
    latency = {name: latency_cell(summary) for name, summary in record["latency_ms"].items()}
    paragraphs = [
        f"{record['stage']}: wrote {fp32} ({megabytes(files['fp32_bytes'])} MB), {int8.name} "
        f"({megabytes(files['int8_bytes'])} MB, {files['int8_to_fp32']:.2f}x) and {written.name}",
        f"  onnxruntime fp32 vs PyTorch, {onnx_check['images']} validation images: largest probability "
        f"difference {onnx_check['max_probability_difference']:.1e}, {same}",
        f"  int8 vs fp32: same class for {check['same_class_share']:.1%}; balanced accuracy "
        f"{check['fp32']['balanced_accuracy']:.3f} -> {check['int8']['balanced_accuracy']:.3f}, change "
        + with_interval(check["balanced_accuracy_change"], check["change_low"], check["change_high"], signed=True),
        f"  ms per image on {record['latency_threads']} CPU thread(s), median [q1, q3]: PyTorch "
        f"{latency['pytorch_eager']}, onnxruntime fp32 {latency['onnxruntime_fp32']}, "
        f"int8 {latency['onnxruntime_int8']}",
        f"  int8 recipe: {record['quantization']['kept']}, kept because {record['quantization']['why']}",
    ]
    return [textwrap.fill(text, TEXT_WIDTH, subsequent_indent="    ", break_long_words=False,
                          break_on_hyphens=False) for text in paragraphs]
