"""Notebook 08's figures, drawn from the numbers its cells computed (test split unless said)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..metrics import balanced_accuracy


def figure_row(count, width=5.5, height=4.2):
    """A closed figure with `count` axes side by side (the notebook shows it when it is the cell's value)."""
    figure, axes = plt.subplots(1, count, figsize=(width * count, height), squeeze=False)
    plt.close(figure)
    return figure, axes[0]


def reliability_bins(probabilities, y_true, bins):
    """Per equal-width confidence bin: mean confidence, accuracy and count."""
    confidence = probabilities.max(axis=1)
    frame = pd.DataFrame({"confidence": confidence, "correct": probabilities.argmax(axis=1) == y_true,
                          "bin": np.minimum((confidence * bins).astype(int), bins - 1)})
    return frame.groupby("bin").agg(confidence=("confidence", "mean"), accuracy=("correct", "mean"),
                                    count=("correct", "size"))


def reliability(curves, bins):
    """Accuracy against confidence per bin, before and after scaling: {model: (p before, p after, labels)}."""
    figure, axes = figure_row(len(curves))
    for ax, (name, (before, after, y_true)) in zip(axes, curves.items()):
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
        for probabilities, label in ((before, "before scaling"), (after, "after")):
            table = reliability_bins(probabilities, y_true, bins)
            ax.scatter(table["confidence"], table["accuracy"], s=10 + table["count"], alpha=0.7, label=label)
        ax.set(title=name, xlabel="confidence (dot area: images in the bin)", ylabel="accuracy", xlim=(0, 1),
               ylim=(0, 1))
        ax.legend(loc="upper left", fontsize=8)
    return figure


REFERRED = np.linspace(0, 0.5, 11)  # 0 %, 5 %, ... 50 % referred


def referral_curves(curves, chosen, fractions=REFERRED):
    """Balanced accuracy of the kept cases against the share referred (least confident first), and each chosen rule."""
    figure, (ax,) = figure_row(1, 6.5)
    for name, (probabilities, y_true) in curves.items():
        order = np.argsort(-probabilities.max(axis=1), kind="stable")
        kept = [order[: len(order) - int(round(share * len(order)))] for share in fractions]
        scores = [balanced_accuracy(y_true[rows], probabilities[rows].argmax(axis=1)) for rows in kept]
        line, = ax.plot(fractions * 100, scores, marker="o", label=name)
        ax.plot(*chosen[name], marker="*", markersize=14, color=line.get_color(), linestyle="none",
                label=f"{name}: threshold from validation")
    ax.set(xlabel="cases referred (%)", ylabel="balanced accuracy of the kept cases", ylim=(0, 1.02))
    ax.legend(fontsize=8)
    return figure


def roc(curves, points):
    """ROC curves {model: (fpr, tpr)} with each model's operating point {model: (1 - specificity, sensitivity)}."""
    figure, (ax,) = figure_row(1, 6)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
    for name, (fpr, tpr) in curves.items():
        line, = ax.plot(fpr, tpr, label=name)
        ax.plot(*points[name], marker="*", markersize=14, color=line.get_color(), linestyle="none")
    ax.set(xlabel="1 - specificity (other lesions flagged)", ylabel="sensitivity (melanomas flagged)",
           title="melanoma vs the rest (star: threshold from validation)")
    ax.legend(fontsize=8)
    return figure


def distances(scores, threshold, title):
    """Histograms of gate distances {group: scores} on a log scale, with the threshold."""
    figure, (ax,) = figure_row(1, 7)
    edges = np.geomspace(max(min(s.min() for s in scores.values()), 1e-3), max(s.max() for s in scores.values()), 40)
    for label, values in scores.items():
        ax.hist(np.clip(values, edges[0], None), bins=edges, alpha=0.5, density=True, label=label)
    ax.axvline(threshold, color="black", linestyle="--", label="threshold (from validation)")
    ax.set(xscale="log", xlabel="squared Mahalanobis distance to the nearest class mean", ylabel="density",
           title=title)
    ax.legend(fontsize=8)
    return figure


def photo_grid(images, titles, columns=8):
    """uint8 gray images (N, 1, H, W) in a grid, each with its title."""
    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.8 * rows), squeeze=False)
    plt.close(figure)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=255)
        ax.set_title(title, fontsize=7)
    return figure
