"""A finished stage in a few printed lines, read against chance, loud where the run can mislead."""

from ..metrics import labels_from_confusion
from ..training.run_folders import epochs_against_recipe
from .chance import (
    ABOVE_CHANCE,
    CHANCE_BALANCED_ACCURACY,
    READING_MEANS,
    always_majority_accuracy,
    likely_causes,
    read_against_chance,
)
from .intervals import CONFIDENCE, with_interval
from .plots import figure_label

NO_IMAGENET = ('CAUTION: no ImageNet weights ("pretrained": false): this model started from random\n'
               "  numbers, so this is NOT transfer learning.")


def figure_title(result, split=None):
    """'MobileNetV3-Large, frozen base · validation split · random init': what a stage's figures show."""
    config = result.config
    name = f"MobileNetV3-{config['model'].title()}, {'frozen base' if config['freeze_base'] else 'fine-tuned'}"
    return figure_label(name, split, config["pretrained"])


def reading(result):
    """The numbers and decisions the summary prints: the kept epoch, the scores against chance, likely causes."""
    balanced, low, high, verdict = read_against_chance(*labels_from_confusion(result.confusion))
    config = result.config
    causes = []
    if verdict != ABOVE_CHANCE:
        images = float("inf") if result.train_images is None else result.train_images  # unknown: not named
        epochs = epochs_against_recipe(result.run_dir.parent, config["stage"])
        causes = likely_causes(config["pretrained"], images, epochs)
    return {"stage": config["stage"], "kept_epoch": result.metrics["best_epoch"], "epochs": len(result.history),
            "select_by": config.get("select_by", "accuracy"), "balanced_accuracy": balanced, "low": low, "high": high,
            "accuracy": result.metrics["accuracy"], "pretrained": bool(config["pretrained"]),
            "always_nv": always_majority_accuracy(result.confusion.sum(axis=1).tolist()),
            "reading": verdict, "causes": causes}


def summary(result):
    """The kept epoch and its validation scores, read against chance (1/7, with its interval) and always-nv."""
    read = reading(result)
    lines = [f"{read['stage']}: kept epoch {read['kept_epoch']} of {read['epochs']} "
             f"(highest validation {read['select_by'].replace('_', ' ')})",
             f"  validation balanced accuracy {with_interval(read['balanced_accuracy'], read['low'], read['high'])} "
             f"({CONFIDENCE:.0%} interval; chance {CHANCE_BALANCED_ACCURACY:.3f})",
             f"  validation accuracy {read['accuracy']:.3f} (always-nv {read['always_nv']:.3f})",
             *([] if read["pretrained"] else [f"  {NO_IMAGENET}"])]
    if read["reading"] == ABOVE_CHANCE:
        return "\n".join([*lines, f"  {read['reading']}: {READING_MEANS[read['reading']]}"])
    return "\n".join([*lines, f"  {read['reading'].upper()}: {READING_MEANS[read['reading']]}",
                      *(f"  - likely cause: {cause}" for cause in read["causes"])])
