"""Numbers in the notebooks' prose are facts of the library, checked here; everything else is printed.

Every markdown cell of every notebook (course notebooks and their solutions, found by glob, so a
new notebook is covered when it lands) is read: each number must sit in a phrase built here from
the library (recipes, classes, models, the course split, the bundled sample), in an instruction
the student types (`NAME = value`), or in a handful of phrases that are not measurements
(notebook and exercise numbers, citations, model names). A number typed from one run fails.
"""

import inspect
import re

import nbformat
import pytest
import torch
from PIL import Image
from torchvision import models as tv_models

from skinkit.classes import CLASS_CODES, NUM_CLASSES
from skinkit.data.augment import BatchAugment
from skinkit.data.prepare import PRESETS, prepare
from skinkit.data.transforms import weights_preprocessing
from skinkit.deployment.quantize import TARGET_AGREEMENT
from skinkit.reporting.comparison import mflops
from skinkit.reporting.intervals import CONFIDENCE, RESAMPLES
from skinkit.reporting.trust import AGE_BANDS
from skinkit.training.models import ARCHITECTURES, build_model, count_parameters
from skinkit.training.recipes import OVERSAMPLING_WEIGHTS, RECIPES

from .helpers import ROOT, SAMPLE

NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb")) + sorted((ROOT / "notebooks" / "solutions").glob("0*.ipynb"))
COURSE = PRESETS["course"]
# Phrases with digits that are not measurements: notebook and exercise numbers, list numbering,
# citations, names, the correlation scale, the all-weights-1 exercise, PyTorch counting from 0.
LINE_NUMBERING = r"(?m)^\s*(?:#+ (?:Solutions · )?\d\d ·|(?:#+ |\*\*)?\d\. )"
NOT_MEASUREMENTS = [
    r"around\s+1e-6", r"near\s+0\.01",  # orders of magnitude to read a float difference by, not results
    r"[Nn]otebooks? \d\d(?:(?:–| and )\d\d)?", r"[Ee]xercises? \d(?: and \d)?", r"et al\. \(?\d{4}",
    r"MobileNetV3", r"HAM10000", r"\bF1\b",
    r"(?i:near|towards) [01]\b", r"weights? (?:is |at )?1\b", r"from 0\b",
    r"ISIC 20\d\d", r"⌈\(n\+1\)\(1−α\)⌉", r"1/\(n\+1\)", r"\b1 − ",  # names and conformal formulas
    r"\b(?:8|16|32)-bit", r"section \d\b",  # number formats, the notebook's own sections
]


def number_word(value):
    """'3,000' for 3000, '0.3' for 0.3: numbers as the prose writes them."""
    return f"{value:,}" if float(value).is_integer() else f"{value:g}"


def rate(value):
    """'5e-4' for 0.0005: a learning rate as the prose writes it."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def weights_list(weights):
    """'[3, 2.2, 2, 5, 3, 1, 5]': class weights as the prose writes them."""
    return "[" + ", ".join(f"{w:g}" for w in weights) + "]"


def sample_facts():
    """What the bundled sample holds, counted from its files (not from the preset that built it)."""
    per_class = {len(list((SAMPLE / split).glob(f"{digit}_*.png"))) for split in ("train", "val", "test")
                 for digit in range(1, NUM_CLASSES + 1)}
    side = Image.open(next((SAMPLE / "train").glob("*.png"))).size
    assert len(per_class) == 1 and side[0] == side[1] == inspect.signature(prepare).parameters["size"].default
    count = per_class.pop()
    return [f"{count} images of every class", f"sample's {count * NUM_CLASSES} test images", f"{side[0]}×{side[0]}"]


def course_facts():
    """The course split's counts (prepare's course preset) in the forms the prose uses."""
    train, val, test = (dict(zip(CLASS_CODES, COURSE[split])) for split in ("train", "val", "test"))
    oversampled = sum(n * w for n, w in zip(COURSE["train"], OVERSAMPLING_WEIGHTS))
    nv_share = f"{val['nv'] / sum(val.values()):.2f}"
    return [f"{number_word(sum(train.values()))} training images into {number_word(oversampled)}",
            f"about {nv_share}", f"scores {nv_share} in accuracy",
            f"about {round(train['nv'] / train['vasc'], -1):.0f} to 1",
            f"same {train['df']} images", f"course's {number_word(sum(test.values()))}"]


def model_facts():
    """Widths, sizes and counts of the two models, computed from torchvision and the built models."""
    large, small = ARCHITECTURES["large"], ARCHITECTURES["small"]
    crop = weights_preprocessing("large")[1]
    with torch.inference_mode():
        grid = build_model("large", pretrained=False).eval().features(torch.zeros(1, 3, crop, crop)).shape[-1]
    weights = tv_models.MobileNet_V3_Large_Weights.DEFAULT
    facts = [f"{number_word(len(weights.meta['categories']))} everyday object classes",
             f"about {round(weights.meta['_file_size'], -1):.0f} MB",
             f"{count_parameters(build_model('large', pretrained=False)) / 1e6:.1f} million parameters",
             f"{grid}×{grid} cells for a {crop}-pixel image, one cell per {crop // grid} pixels",
             f"({grid}×{grid} cells at {crop} pixels)",
             f"at {inspect.signature(mflops).parameters['image_size'].default}×"
             f"{inspect.signature(mflops).parameters['image_size'].default}",
             f"{small.features} features instead of Large's {large.features}", f"at {crop}. "]
    for arch in (large, small):
        facts += [f"into {arch.features} features", f"Linear {arch.features}→{arch.hidden}",
                  f"Dropout {arch.dropout:g}", f"Linear {arch.hidden}→{NUM_CLASSES}"]
    return facts


def trust_facts():
    """Notebook 08's fixed settings: the age bands, the features the gate reads."""
    large, small = ARCHITECTURES["large"], ARCHITECTURES["small"]
    return [", ".join(AGE_BANDS), f"{large.features} numbers for Large, {small.features} for Small"]


def deployment_facts():
    """Notebook 09's fixed settings: the int8 goal, the steps of 8 bits."""
    return [f"at least {TARGET_AGREEMENT:.0%}".replace("%", " %"), f"{2 ** 8} steps"]


def global_facts():
    """Facts any notebook may state: classes, chance, augmentation, intervals, and the above."""
    augment = inspect.signature(BatchAugment).parameters
    chance = [f"1/{NUM_CLASSES} ≈ {1 / NUM_CLASSES:.3f}", f"1/{NUM_CLASSES}"]
    return [*chance, f"digit 1–{NUM_CLASSES}", f"±{augment['degrees'].default:g}°",
            f"±{augment['brightness'].default:.0%}".replace("%", " %"), f"{CONFIDENCE:.0%}".replace("%", " %"),
            f"{number_word(RESAMPLES)} times", f"{number_word(RESAMPLES)} random redraws",
            *sample_facts(), *course_facts(), *model_facts(), *trust_facts(), *deployment_facts()]


def stage_facts(stage):
    """The recipe of `stage` (and how it differs from the stage it starts from) as the prose states it."""
    recipe = RECIPES[stage]
    weights = dict(zip(CLASS_CODES, recipe.class_weights))
    facts = [f"{recipe.epochs} epochs", f"learning rate {rate(recipe.lr)}", f"Adam {rate(recipe.lr)}",
             f"batches of {recipe.train_batch_size} (training) and {recipe.val_batch_size} (validation)",
             f"costs {weights['df'] / weights['nv']:g} times", f"({weights['mel']:g} against", f"'s {weights['nv']:g})"]
    if recipe.gamma == 0.5:
        facts.append(f"halved every {recipe.step_size} epochs")
    if recipe.init_from:
        start = RECIPES[recipe.init_from]
        ratio = start.lr / recipe.lr
        facts += [f"{ratio:.0f}-fold to {rate(recipe.lr)}", f"{ratio:.0f} times lower than before ({rate(start.lr)} / "
                  f"{ratio:.0f})", f"rate {ratio:.0f} times larger", f"about {ratio:.0f} times",
                  f"about {ratio:.0f} times as far",
                  f"from {dict(zip(CLASS_CODES, start.class_weights))['df']:g} to {weights['df']:g}"]
    return facts


def stage_of(notebook):
    """The stage a notebook's setup() call trains or reads, if any."""
    found = {match for cell in notebook.cells if cell.cell_type == "code"
             for match in re.findall(r"setup\(\"(\w+)\"", cell.source)}
    return found.pop() if found else None


def unexplained_numbers(text, facts):
    """The numbers of `text` left once code spans, fact phrases and the allowed phrases are removed."""
    text = " ".join(re.sub(LINE_NUMBERING, " ", re.sub(r"`[^`]*`", " ", text)).split())
    for phrase in sorted(facts, key=len, reverse=True):
        text = text.replace(phrase, " ")
    for pattern in NOT_MEASUREMENTS:
        text = re.sub(pattern, " ", text)
    return re.findall(r"\S*\d\S*", text)


@pytest.fixture(scope="module")
def facts():
    return global_facts()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_number_in_the_prose_is_a_fact_of_the_library(path, facts):
    notebook = nbformat.read(path, as_version=4)
    stage = stage_of(notebook)
    known = facts + (stage_facts(stage) if stage else [])
    leftovers = {cell.id: found for cell in notebook.cells if cell.cell_type == "markdown"
                 if (found := unexplained_numbers(cell.source, known))}
    assert not leftovers, (f"{path.name}: numbers in prose that are neither a library fact (tests/"
                           f"test_notebook_prose.py) nor printed by code: {leftovers}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_class_weight_lists_in_the_prose_are_the_recipes(path):
    notebook = nbformat.read(path, as_version=4)
    stage = stage_of(notebook)
    for cell in notebook.cells:
        for shown in re.findall(r"`(\[[\d., ]+\])`", cell.source if cell.cell_type == "markdown" else ""):
            assert stage and shown == weights_list(RECIPES[stage].class_weights), (path.name, shown)


TRAINING_NOTEBOOKS = [p for p in NOTEBOOKS if p.parent.name == "notebooks" and stage_of(nbformat.read(p, as_version=4))]


def test_four_notebooks_train_a_stage():
    assert [p.name[:2] for p in TRAINING_NOTEBOOKS] == ["02", "03", "04", "05"]


@pytest.mark.parametrize("path", TRAINING_NOTEBOOKS, ids=lambda p: p.name)
def test_parameter_defaults_are_the_recipe(path):
    notebook = nbformat.read(path, as_version=4)
    stage = stage_of(notebook)
    parameters = {}
    exec(next(cell.source for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])), parameters)
    recipe = RECIPES[stage]
    assert (parameters["EPOCHS"], parameters["LEARNING_RATE"], parameters["STEP_SIZE"], parameters["GAMMA"],
            parameters["TRAIN_BATCH_SIZE"], parameters["VAL_BATCH_SIZE"]) == (
        recipe.epochs, recipe.lr, recipe.step_size, recipe.gamma, recipe.train_batch_size, recipe.val_batch_size)


def test_a_number_typed_from_a_run_is_caught():
    assert unexplained_numbers("validation balanced accuracy reached 0.43 after 24 epochs", global_facts()) == [
        "0.43", "24"]
    assert unexplained_numbers("12 epochs", stage_facts("large_frozen")) == []
    assert unexplained_numbers("12 epochs", stage_facts("small_frozen")) == ["12"]
