"""Notebook 6's words: the comparison laid out to fit a laptop screen, and a conclusion that hedges.

Every score is read against two reference points (chance, 1/7, and always answering `nv`), a
difference between the models is called one only when its bootstrap interval excludes zero, and
a latency is called rough when its timings spread widely.
"""

import textwrap

import pandas as pd

from .chance import ABOVE_CHANCE, CHANCE_BALANCED_ACCURACY, MAJORITY_CLASS, chance_reading, likely_causes

TEXT_WIDTH = 88  # characters per printed line: fits a notebook panel on a laptop screen
# A latency whose interquartile range exceeds this fraction of its median is called rough.
NOISY_LATENCY_SPREAD = 0.25


def wrap_paragraphs(*paragraphs):
    """Paragraphs wrapped to TEXT_WIDTH, a blank line between (None and empty ones left out).

    A word or a hyphenated name is never broken."""
    return "\n\n".join(textwrap.fill(paragraph, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False)
                       for paragraph in paragraphs if paragraph)


def row_chance_reading(row):
    """The chance reading of a summary row's test balanced accuracy and its interval."""
    return chance_reading(row["test_balanced_accuracy"], row["test_balanced_accuracy_low"],
                          row["test_balanced_accuracy_high"])


def majority_reading(accuracy, low, always_nv_accuracy, high=None):
    """'worse' (the whole interval below), 'no better', 'not clearly better' or 'better' than always `nv`."""
    if high is not None and high < always_nv_accuracy:
        return "worse"
    if accuracy <= always_nv_accuracy:
        return "no better"
    return "not clearly better" if low <= always_nv_accuracy else "better"


def with_interval(row, score):
    """'0.431 [0.392, 0.470]': a score and the bounds of its interval."""
    return f"{row[score]:.3f} [{row[score + '_low']:.3f}, {row[score + '_high']:.3f}]"


def short_name(name):
    """'Large' for 'MobileNetV3-Large'."""
    return name.rsplit("-", 1)[-1]


def epochs_cell(training):
    """'4 + 2 (recipe 12 + 6)': the epochs each stage behind a model trained, and the recipe's."""
    trained = " + ".join(str(epochs) for _, epochs, _ in training)
    recipe = " + ".join("?" if epochs is None else str(epochs) for _, _, epochs in training)
    return trained if recipe == trained else f"{trained} (recipe {recipe})"


def readable_table(table, test):
    """The summary with models as columns and short text cells, narrow enough for a laptop screen."""
    level = f"{test.confidence:.0%} interval"
    rows = {name: {
        "validation balanced accuracy": f"{row['val_balanced_accuracy']:.3f}",
        "validation accuracy": f"{row['val_accuracy']:.3f}",
        "validation macro-F1": f"{row['val_macro_f1']:.3f}",
        f"test balanced accuracy [{level}]": with_interval(row, "test_balanced_accuracy"),
        f"test balanced accuracy vs chance ({CHANCE_BALANCED_ACCURACY:.3f})":
            row_chance_reading(row),
        f"test accuracy [{level}]": with_interval(row, "test_accuracy"),
        f"test accuracy vs always {MAJORITY_CLASS} ({test.always_nv_accuracy:.3f})":
            majority_reading(row["test_accuracy"], row["test_accuracy_low"], test.always_nv_accuracy,
                             row["test_accuracy_high"]),
        f"test macro-F1 [{level}]": with_interval(row, "test_macro_f1"),
        "parameters (millions)": f"{row['parameters_M']:.2f}",
        "MFLOPs per image": f"{row['MFLOPs']:.0f}",
        "CPU ms per image, median [q1, q3]":
            f"{row['cpu_latency_ms']:.1f} [{row['cpu_latency_q1_ms']:.1f}, {row['cpu_latency_q3_ms']:.1f}]",
        "ImageNet weights": "yes" if row["pretrained"] else "NO (random init)",
        "epochs trained (recipe)": epochs_cell(row["training"]),
    } for name, row in table.iterrows()}
    frame = pd.DataFrame(rows)
    frame.index.name = f"{test.test_images} test images"
    return frame


def score_sentence(table, test):
    """The test scores of both models, and whether the interval of their difference excludes zero."""
    (first, a), (second, b) = table.iterrows()
    low, high = test.difference
    scores = (f"balanced accuracy {with_interval(a, 'test_balanced_accuracy')} ({short_name(first)}) vs "
              f"{with_interval(b, 'test_balanced_accuracy')} ({short_name(second)}), macro-F1 "
              f"{a['test_macro_f1']:.3f} vs {b['test_macro_f1']:.3f}")
    interval = (f"the {test.confidence:.0%} interval of the difference in balanced accuracy "
                f"({short_name(first)} minus {short_name(second)}) is [{low:+.3f}, {high:+.3f}]")
    opening = f"On the held-out test split ({test.test_images} images)"
    if low > 0 or high < 0:
        winner = first if low > 0 else second
        return f"{opening} {winner} scores higher: {scores}; {interval}, which excludes zero."
    return (f"{opening} the two models cannot be told apart: {scores}; {interval}, which includes "
            f"zero: on these test images neither model is shown to be better.")


def baseline_sentence(name, row, test):
    """One model's test scores against chance and against always answering `nv`."""
    accuracy = majority_reading(row["test_accuracy"], row["test_accuracy_low"], test.always_nv_accuracy,
                                row["test_accuracy_high"])
    return (f"{name} is {row_chance_reading(row)} "
            f"in balanced accuracy, and its accuracy, {row['test_accuracy']:.3f}, is {accuracy} than always "
            f"answering {MAJORITY_CLASS} ({test.always_nv_accuracy:.3f}).")


def causes_sentence(table, test):
    """The likely causes of the models that are not above chance, once if they share them."""
    causes = {short_name(name): likely_causes(bool(row["pretrained"]), test.train_images, row["training"])
              for name, row in table.iterrows() if row_chance_reading(row) != ABOVE_CHANCE}
    if not causes:
        return None
    reference = (f"Chance, 1/7 = {CHANCE_BALANCED_ACCURACY:.3f}, is what guessing scores in balanced accuracy, "
                 f"and so does always answering {MAJORITY_CLASS}. ")
    if not any(causes.values()):
        return reference + ("The usual causes (no ImageNet weights, a tiny sample, fewer epochs than the "
                            "recipe) do not apply: look at the learning curves of notebooks 02-05.")
    if len({tuple(found) for found in causes.values()}) == 1:
        return reference + "Likely causes: " + "; ".join(next(iter(causes.values()))) + "."
    return reference + " ".join(f"Likely causes for {name}: {'; '.join(found) or 'none of the usual'}."
                                for name, found in causes.items())


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


def cost_sentence(table):
    """What the cheaper model saves in computation, parameters and (hedged) CPU time."""
    (cheap_name, cheap), (_, costly) = table.sort_values("MFLOPs").iterrows()
    return (f"{short_name(cheap_name)} needs {cheap['MFLOPs']:.0f} vs {costly['MFLOPs']:.0f} MFLOPs "
            f"({costly['MFLOPs'] / cheap['MFLOPs']:.1f}x fewer) and {cheap['parameters_M']:.2f}M vs "
            f"{costly['parameters_M']:.2f}M parameters. " + latency_sentence(cheap, costly))


def weights_sentence(table):
    """The caution naming the models trained without ImageNet weights (None when all had them)."""
    random_init = [short_name(name) for name, row in table.iterrows() if not row["pretrained"]]
    if not random_init:
        return None
    who = (("Both models were" if len(table) == 2 else "All models were") if len(random_init) == len(table)
           else f"{' and '.join(random_init)} {'was' if len(random_init) == 1 else 'were'}")
    return (f"Caution: {who} trained WITHOUT ImageNet weights (pretrained: false), so this is not a "
            "transfer-learning result.")


def conclusion(table, test):
    """A short conclusion whose every number comes from the comparison, in paragraphs of TEXT_WIDTH."""
    return wrap_paragraphs(score_sentence(table, test),
                           " ".join(baseline_sentence(name, row, test) for name, row in table.iterrows()),
                           causes_sentence(table, test), cost_sentence(table), weights_sentence(table))
