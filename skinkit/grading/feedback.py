"""One short Markdown file per student: per stage the recall table, the verdict and what a fail most likely means."""

import re
from pathlib import Path

import pandas as pd

from ..confusion import CONFIG_FILENAME, MATRIX_FILENAME
from .verdicts import BALANCED_ACCURACY

MAX_NAME_CHARACTERS = 100  # of a name in a file name: file systems refuse names past 255 bytes
SETTING_MEANINGS = {
    "stage": "This folder holds another stage's run (its config.json names a different stage): hand in "
             "each stage's own folder from runs/, as the notebooks wrote it.",
    "seed": "Your run used another seed than the reference: set SEED back to the value given in the "
            "notebook's parameters cell and run the notebook again.",
    "data_fingerprint": "Your run used other data than the course's (its data fingerprint differs): use the "
                        "course's dataset folder, or prepare it again with the course's command, and run again.",
}


def recall_markdown(table):
    """The recall table as Markdown: class, reference recall, your recall, difference."""
    def number(value, sign=""):
        return "n/a" if pd.isna(value) else f"{value:{sign}.3f}"

    lines = ["| class | reference recall | your recall | difference |", "|---|---:|---:|---:|"]
    for name, row in table.iterrows():
        label = "balanced accuracy" if name == BALANCED_ACCURACY else name
        lines.append(f"| {label} | {number(row['reference_recall'])} | {number(row['submission_recall'])} "
                     f"| {number(row['difference'], '+')} |")
    return lines


def images_off(report, code):
    """How many more (+) or fewer (-) images of a class the submission classified correctly."""
    return round(report.table.at[code, "difference"] * report.supports[code])


def likely_meaning(report, tolerance):
    """What a failed comparison most likely means, in plain words for a student."""
    if report.run_differences:
        return " ".join(SETTING_MEANINGS[key] for key in report.run_differences)
    if report.support_differences:
        return ("Your validation images are not the reference's (another split): the number of images per "
                "class differs. Train on the course's dataset, prepared with the course's settings, "
                "without changing the split.")
    classes = [name for name in report.outside if name != BALANCED_ACCURACY]
    if classes and all(abs(images_off(report, code)) <= 1 for code in classes):
        counts = ", ".join(f"{code} has {report.supports[code]} validation images" for code in classes)
        return (f"Only a rare class is off, by a single image ({counts}), and one image moves its recall by "
                f"more than the tolerance of {tolerance:g}. Another GPU or library version can do that; "
                "tell your instructor: it does not mean your work is wrong.")
    return ("Your model learned differently from the reference: most likely another seed, changed settings "
            "(epochs, image size, the parameters cell) or an edited cell. Run the notebooks again from a "
            "fresh kernel with the parameters as given.")


def stage_markdown(grade, tolerance):
    """One stage's section: verdict, table and, for a fail, why and what it most likely means."""
    lines = [f"## {grade.stage}: {grade.verdict}", ""]
    if grade.verdict == "missing":
        return lines + [f"Not found: {grade.reason}. Hand in the whole runs/ folder after running every "
                        f"notebook; each stage folder holds {CONFIG_FILENAME} and {MATRIX_FILENAME}.", ""]
    if grade.verdict == "unusable":
        return lines + [f"Could not be graded: {grade.reason}", "",
                        "Hand in the files as the notebooks wrote them, unchanged, in a plain zip.", ""]
    lines += recall_markdown(grade.report.table) + ["", f"**Verdict:** {grade.verdict}: {grade.reason}", ""]
    if grade.verdict == "fail":
        lines += [f"**What it most likely means:** {likely_meaning(grade.report, tolerance)}", ""]
    return lines


def feedback_markdown(grade, tolerance):
    """A student's whole feedback file."""
    lines = [f"# Grading feedback: {grade.name}", "",
             f"{grade.passed} of {len(grade.stages)} stages passed. A stage passes when your validation split "
             f"matches the reference's and every class recall is within {tolerance:g} of it.", ""]
    reasons = {stage.reason for stage in grade.stages if stage.verdict == "unusable"}
    if len(reasons) == 1 and all(stage.verdict == "unusable" for stage in grade.stages):
        return "\n".join(lines + [f"Your submission could not be opened: {reasons.pop()}", "",
                                  "Hand in a plain zip of your runs/ folder, as the notebooks wrote it.", ""])
    for stage in grade.stages:
        lines += stage_markdown(stage, tolerance)
    return "\n".join(lines)


def feedback_filename(grade, taken):
    """A safe, unique file name for a student's feedback: name and id, letters, digits, - and _ only."""
    stem = re.sub(r"[^\w-]+", "_", f"{grade.name[:MAX_NAME_CHARACTERS]}_{grade.student_id}").strip("_") or "student"
    name, number = f"{stem}.md", 2
    while name in taken:
        name, number = f"{stem}-{number}.md", number + 1
    taken.add(name)
    return name


def write_feedback(grades, folder, tolerance):
    """Write one Markdown feedback file per student into `folder` (created); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    taken, paths = set(), []
    for grade in grades:
        path = folder / feedback_filename(grade, taken)
        path.write_text(feedback_markdown(grade, tolerance) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
