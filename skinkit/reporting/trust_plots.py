"""Notebook 8's figures: reliability diagrams, referral curves, melanoma ROC (all on the test split)."""

import matplotlib.pyplot as plt
import numpy as np


def weights_note(results):
    """The caption's word on the weights: which models started from random weights instead of ImageNet's."""
    random = [each.name for each in results.values() if not each.pretrained]
    if not random:
        return "models fine-tuned from ImageNet weights"
    if len(random) == len(results):
        return "both models started from RANDOM weights (no ImageNet weights)"
    return f"{', '.join(random)} started from RANDOM weights (no ImageNet weights)"


def caption(results, what):
    """A suptitle saying what is shown, on which split and from which weights."""
    images = len(next(iter(results.values())).test)
    return f"{what}: test split, {images} images; {weights_note(results)}"


def reliability_panel(top, bottom, each):
    """Accuracy against confidence per bin (before and after scaling) above the image count per bin."""
    before, after = each.reliability_before, each.reliability_after
    centres, width = (before["low"] + before["high"]) / 2, (before["high"] - before["low"]).iat[0]
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    top.bar(centres, before["accuracy"].fillna(0), width=width, alpha=0.45, edgecolor="tab:blue",
            label="before scaling")
    top.plot(centres, after["accuracy"], marker="o", color="tab:orange",
             label=f"after (T = {each.temperature:.2f})")
    top.set(title=f"{each.name}: ECE {each.ece_before:.3f} -> {each.ece_after:.3f}", xlim=(0, 1), ylim=(0, 1),
            ylabel="accuracy in bin")
    top.legend(loc="upper left", fontsize=8)
    for shift, table, colour, label in ((-1, before, "tab:blue", "before"), (1, after, "tab:orange", "after")):
        bottom.bar(centres + shift * width / 4, table["count"], width=width / 2, color=colour, alpha=0.7,
                   label=label)
    bottom.set(xlim=(0, 1), xlabel="top-label confidence (15 equal-width bins)", ylabel="images in bin")
    bottom.legend(loc="upper right", fontsize=8)


def plot_reliability(results):
    """One reliability diagram per model, before and after temperature scaling, with the count per bin."""
    figure, axes = plt.subplots(2, len(results), figsize=(6 * len(results), 6.4), squeeze=False,
                                gridspec_kw={"height_ratios": [2.2, 1]})
    for column, each in enumerate(results.values()):
        reliability_panel(axes[0, column], axes[1, column], each)
    figure.suptitle(caption(results, "Reliability (temperature fitted on validation)"), fontsize=10)
    figure.tight_layout()
    plt.close(figure)
    return figure


def plot_referral(results):
    """Balanced accuracy and melanoma recall of the cases kept, against the share referred."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for colour, each in zip(("tab:blue", "tab:orange"), results.values()):
        curve, chosen = each.referral_curve, each.referral
        for ax, column, kept in zip(axes, ("balanced_accuracy", "mel_recall"),
                                    (chosen["balanced_accuracy_kept"], chosen["mel_recall_kept"])):
            ax.plot(curve["referred_fraction"] * 100, curve[column], marker="o", color=colour, label=each.name)
            ax.plot(chosen["referred_fraction"] * 100, kept, marker="*", markersize=14, color=colour,
                    linestyle="none", label=f"{each.name}: threshold from validation")
    for ax, label in zip(axes, ("balanced accuracy of kept cases", "melanoma recall of kept cases")):
        ax.set(xlabel="cases referred to a dermatologist (%)", ylabel=label, ylim=(0, 1.02))
        ax.legend(fontsize=8, loc="lower right")
    figure.suptitle(caption(results, "Referring the least confident cases"), fontsize=10)
    figure.tight_layout()
    plt.close(figure)
    return figure


def plot_melanoma_roc(results):
    """Melanoma-vs-rest ROC curves with the AUC, and each model's screening operating point."""
    figure, ax = plt.subplots(figsize=(6, 5.2))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance (AUC 0.5)")
    for colour, each in zip(("tab:blue", "tab:orange"), results.values()):
        fpr, tpr = each.roc
        point = each.screening
        ax.plot(fpr, tpr, color=colour, label=f"{each.name}: AUC {point['mel_auc']:.3f} "
                                              f"[{point['mel_auc_low']:.3f}, {point['mel_auc_high']:.3f}]")
        ax.plot(1 - point["specificity"], point["sensitivity"], marker="*", markersize=14, color=colour,
                linestyle="none", label=f"{each.name}: threshold for sensitivity >= "
                                        f"{point['sensitivity_target']:.0%} on validation")
    ax.set(xlabel="1 - specificity (other lesions flagged)", ylabel="sensitivity (melanomas flagged)",
           xlim=(0, 1), ylim=(0, 1.02), xticks=np.linspace(0, 1, 6))
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(caption(results, "Melanoma vs the rest"), fontsize=9, wrap=True)
    figure.tight_layout()
    plt.close(figure)
    return figure
