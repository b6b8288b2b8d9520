"""Run-aware sentences for notebooks 02-06, written from the run folders' own numbers.

Like notebook 6's conclusion (conclusion.py), nothing here is typed from one run: whether the
models had ImageNet weights, whether a score is above chance, which stage is ahead and which
epoch each selection rule keeps are read from config.json, metrics.json, history.csv and the
confusion matrix of the run folder in use. A validation score gets a bootstrap interval over the
validation images, and "ahead" means the two intervals do not overlap.
"""

from pathlib import Path

from ..classes import CLASS_CODES
from ..files import read_json
from ..metrics import classification_table, labels_from_confusion
from ..training.loop import kept_epoch
from ..training.recipes import NOTEBOOK_OF_STAGE, OVERSAMPLING_WEIGHTS, RECIPES
from ..training.run_folders import read_confusion, read_history
from .chance import CHANCE_BALANCED_ACCURACY, chance_reading, read_against_chance
from .conclusion import wrap_paragraphs
from .intervals import CONFIDENCE, with_interval

# The classes the recipe repeats most often in training: the rarest of HAM10000.
RARE_CLASSES = tuple(code for code, repeat in zip(CLASS_CODES, OVERSAMPLING_WEIGHTS)
                     if repeat == max(OVERSAMPLING_WEIGHTS))
RULE_OWNER = {"accuracy": "the project report's rule", "balanced_accuracy": "the kit's rule"}
# A model that gives one answer for at least this share of the images is said to do so.
ONE_ANSWER_SHARE = 0.9


def paragraph(*sentences):
    """Sentences joined into one paragraph wrapped to TEXT_WIDTH (None and empty ones left out)."""
    return wrap_paragraphs(" ".join(s for s in sentences if s))


def stage_name(stage):
    """'Large frozen (notebook 02)' for 'large_frozen'."""
    recipe = RECIPES[stage]
    return (f"{recipe.model.title()} {'frozen' if recipe.freeze_base else 'fine-tuned'} "
            f"(notebook {NOTEBOOK_OF_STAGE[stage][:2]})")


def weights_line(pretrained):
    """One line saying whether a run started from ImageNet weights, loud when it did not."""
    if pretrained:
        return "ImageNet weights: yes (config.json: \"pretrained\": true): this is transfer learning."
    return paragraph("CAUTION: no ImageNet weights (config.json: \"pretrained\": false). This model started "
                     "from random numbers, so this is NOT transfer learning: where the text speaks of "
                     "ImageNet or pretrained features, this run has none, only what it learned from its own "
                     "training images.")


def weights_caution(runs_root, stages):
    """For a notebook that reads finished stages: which of them started from random numbers."""
    random_init = [stage for stage in stages if not read_json(Path(runs_root) / stage / "config.json")["pretrained"]]
    if not random_init:
        return "ImageNet weights: yes, for every model read here (config.json: \"pretrained\": true)."
    who = ("Every model read here" if len(random_init) == len(stages)
           else " and ".join(stage_name(stage) for stage in random_init))
    return paragraph(f"CAUTION: {who} started from random numbers (no ImageNet weights; config.json: "
                     "\"pretrained\": false), so this is NOT transfer learning: read every figure below "
                     "as that of a network trained from scratch on these images.")


def one_answer(run_dir):
    """'It answers nv for 100% of the validation images.' when one class takes ONE_ANSWER_SHARE of them."""
    answers = read_confusion(Path(run_dir) / "confusion_matrix.csv").sum(axis=0)
    share = answers.max() / answers.sum()
    return f"It answers {answers.idxmax()} for {share:.0%} of the validation images." if share >= ONE_ANSWER_SHARE else None


def validation_scores(run_dir, confidence=CONFIDENCE):
    """(balanced accuracy, interval low, interval high, per-class recall) of a finished stage."""
    counts = read_confusion(Path(run_dir) / "confusion_matrix.csv")
    y_true, y_pred = labels_from_confusion(counts)
    balanced, low, high, _ = read_against_chance(y_true, y_pred, confidence)
    recall = classification_table(y_true, y_pred)["recall"][counts.sum(axis=1) > 0]
    return balanced, low, high, recall


def score_sentences(run_dir):
    """The stage's validation balanced accuracy against chance, and which classes it recognises."""
    balanced, low, high, recall = validation_scores(run_dir)
    missed = [code for code, value in recall.items() if value == 0]
    recognised = ("It recognises every class at least once." if not missed else
                  f"It recognises {len(recall) - len(missed)} of {len(recall)} classes at least once "
                  f"(never: {', '.join(missed)}).")
    rare = ", ".join(f"{code} {recall[code]:.2f}" for code in RARE_CLASSES if code in recall)
    return (f"Validation balanced accuracy {with_interval(balanced, low, high)} is "
            f"{chance_reading(balanced, low, high)} (1/7 = {CHANCE_BALANCED_ACCURACY:.3f}).",
            recognised, one_answer(run_dir), f"Recall of the rarest classes: {rare}." if rare else None)


def base_sentence(config):
    """What the base of this stage held while it trained, from config.json."""
    if config["freeze_base"]:
        return ("Its frozen base holds ImageNet features never trained on grayscale skin; only the head "
                "adapted to them." if config["pretrained"] else
                "Its frozen base holds random numbers (no ImageNet weights) that training never changes: "
                "the head learned from random features, which caps what it can reach.")
    start = stage_name(config["init_from"])
    return (f"Every layer trained, starting from {start}, whose base began with ImageNet weights."
            if config["pretrained"] else
            f"Every layer trained, starting from {start}, whose base began as random numbers (no ImageNet "
            "weights): there were no pretrained features to adapt or to wreck.")


def stage_reading(run_dir):
    """What a finished stage learned, in words: its starting point, its score against chance, its classes."""
    return paragraph(base_sentence(read_json(Path(run_dir) / "config.json")), *score_sentences(run_dir))


def comparison_reading(runs_root, stage, other):
    """`stage` against an `other` finished stage on validation: which is ahead, and the rarest classes."""
    if not (Path(runs_root) / other / "metrics.json").is_file():
        return paragraph(f"No finished run of {stage_name(other)} in {runs_root}: run that notebook (same data "
                         "and run folder) to compare with it.")
    (a, a_low, a_high, a_recall), (b, b_low, b_high, b_recall) = (
        validation_scores(Path(runs_root) / name) for name in (stage, other))
    scores = (f"Validation balanced accuracy: {stage_name(stage)} {with_interval(a, a_low, a_high)} vs "
              f"{stage_name(other)} {with_interval(b, b_low, b_high)}.")
    if a_low > b_high or b_low > a_high:
        ahead = stage if a_low > b_high else other
        verdict = f"{stage_name(ahead)} is ahead: the two intervals do not overlap."
    else:
        verdict = "The intervals overlap: on these validation images the two cannot be told apart" + (
            ", whichever number is higher." if a != b else ".")
    rare = ", ".join(f"{code} {b_recall[code]:.2f} -> {a_recall[code]:.2f}" for code in RARE_CLASSES
                     if code in a_recall and code in b_recall)
    return paragraph(scores, verdict, f"Recall of the rarest classes, {stage_name(other)} -> "
                                      f"{stage_name(stage)}: {rare}." if rare else None)


def selection_reading(run_dir):
    """Which epoch the run kept, and which one the other selection rule would have kept."""
    config, history = read_json(Path(run_dir) / "config.json"), read_history(Path(run_dir) / "history.csv")
    rule = config.get("select_by", "accuracy")  # run folders from before the choice kept the best accuracy
    kept = read_json(Path(run_dir) / "metrics.json")["best_epoch"]
    other = "accuracy" if rule == "balanced_accuracy" else "balanced_accuracy"
    first = (f"Kept epoch {kept} of {len(history)}: the highest validation {rule.replace('_', ' ')} "
             f"({RULE_OWNER[rule]}; a tie goes to the lower training loss).")
    scores = history[f"val_{other}"]
    if scores.isna().any():
        return paragraph(first)
    alternative = kept_epoch(scores.tolist(), history["train_loss"].tolist()) + 1
    if alternative == kept:
        return paragraph(first, f"The highest validation {other.replace('_', ' ')} ({RULE_OWNER[other]}) "
                                "would keep the same epoch.")

    def at(epoch):
        row = history.iloc[epoch - 1]
        return f"accuracy {row['val_accuracy']:.3f}, balanced accuracy {row['val_balanced_accuracy']:.3f}"

    return paragraph(first, f"The highest validation {other.replace('_', ' ')} ({RULE_OWNER[other]}) would "
                            f"keep epoch {alternative} instead ({at(alternative)}; epoch {kept}: {at(kept)}).")
