"""Notebook 6's cautions: sentences computed from the run only where the run can mislead.

A model not above chance is named with its likely causes, a difference whose interval includes
zero is called no difference, and latencies that spread widely or overlap are called rough.
Everything else the notebook's own prose teaches how to read.
"""

import textwrap
from pathlib import Path

from ..data.dataset import list_labelled_images
from ..files import read_json
from ..training.run_folders import epochs_against_recipe
from .chance import chance_clause, likely_causes, not_above_chance

TEXT_WIDTH = 88  # characters per printed line: fits a notebook panel on a laptop screen
# A latency whose interquartile range exceeds this fraction of its median is called rough.
NOISY_LATENCY_SPREAD = 0.25


def wrap_paragraphs(*paragraphs):
    """Paragraphs wrapped to TEXT_WIDTH, a blank line between (None and empty ones left out).

    A word or a hyphenated name is never broken."""
    return "\n\n".join(textwrap.fill(paragraph, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False)
                       for paragraph in paragraphs if paragraph)


def short_name(name):
    """'Large' for 'MobileNetV3-Large'."""
    return name.rsplit("-", 1)[-1]


def latency_reading(fast, slow):
    """'rough' (the timings spread widely), 'overlap' (their middle halves overlap) or 'clear'."""
    spread = max((row["cpu_latency_q3_ms"] - row["cpu_latency_q1_ms"]) / row["cpu_latency_ms"]
                 for row in (fast, slow))
    if spread > NOISY_LATENCY_SPREAD:
        return "rough"
    return "overlap" if fast["cpu_latency_q3_ms"] >= slow["cpu_latency_q1_ms"] else "clear"


def latency_sentence(fast, slow, rerun="the cost cell", subject="It"):
    """Median latencies with the middle half of the timings; hedged when they are noisy or overlap."""
    timing = (f"{fast['cpu_latency_ms']:.1f} ms vs {slow['cpu_latency_ms']:.1f} ms per image on this CPU "
              f"(median of {int(fast['timed_runs'])} timed runs each; middle half of the runs "
              f"{fast['cpu_latency_q1_ms']:.1f}-{fast['cpu_latency_q3_ms']:.1f} ms vs "
              f"{slow['cpu_latency_q1_ms']:.1f}-{slow['cpu_latency_q3_ms']:.1f} ms)")
    reading = latency_reading(fast, slow)
    if reading == "rough":
        return (f"{subject} took about {timing}, but the timings spread widely (the machine was probably "
                f"busy): treat these latencies as rough and rerun {rerun} for firmer figures.")
    if reading == "overlap":
        return f"{subject} took {timing}; the ranges overlap, so on this CPU neither is clearly faster."
    return f"{subject} took {timing}."


def latency_caution(costs):
    """A caution when the two models' timings spread widely or overlap; '' when they are clear."""
    fast, slow = (row for _, row in costs.sort_values("cpu_latency_ms").iterrows())
    reading = latency_reading(fast, slow)
    if reading == "clear":
        return ""
    return wrap_paragraphs("Caution: " + ("the timings spread widely (the machine was probably busy): treat "
                                          "these latencies as rough and rerun the cell." if reading == "rough"
                                          else "the middle halves of the timings overlap: on this CPU neither "
                                          "model is clearly faster, whichever median is lower."))


def model_causes(runs_root, data_root, stages):
    """{name: likely causes of a score at chance} of each model ({name: stage}), from its run folders."""
    train_images = len(list_labelled_images(Path(data_root) / "train"))
    return {name: likely_causes(read_json(Path(runs_root) / stage / "config.json")["pretrained"], train_images,
                                epochs_against_recipe(runs_root, stage))
            for name, stage in stages.items()}


def chance_caution(readings, causes):
    """A caution naming the models ({name: chance reading}) not above chance, with their likely causes."""
    weak = not_above_chance(readings)
    if not weak:
        return None
    found = list(dict.fromkeys(cause for name in weak for cause in causes[name]))
    return (f"Caution: {chance_clause({short_name(name): reading for name, reading in weak.items()})} on the "
            f"test split: read {'its' if len(weak) == 1 else 'their'} other numbers as those of a model that has not "
            "learned the task. "
            + (f"Likely causes: {'; '.join(found)}." if found else
               "The usual causes (no ImageNet weights, a tiny sample, fewer epochs than the recipe) do not "
               "apply: look at the learning curves of notebooks 02-05."))


def difference_caution(low, high):
    """A caution when the interval of the difference between two models includes zero (None when not)."""
    if low > 0 or high < 0:
        return None
    return ("Caution: the interval of the difference includes zero: on these test images neither model is "
            "shown to be better, whichever score is higher.")


def cautions(runs_root, data_root, stages, readings, difference):
    """Notebook 6's test-split cautions ({name: stage}, {name: chance reading}, (low, high)); '' when none."""
    return wrap_paragraphs(chance_caution(readings, model_causes(runs_root, data_root, stages)),
                           difference_caution(*difference))
