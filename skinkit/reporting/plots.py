"""Figures for the notebooks and run folders (matplotlib + seaborn)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

from ..classes import CLASS_CODES
from .chance import CHANCE_BALANCED_ACCURACY

HEATMAP_COLOURS = "jet"  # Grad-CAM overlays: blue = least evidence in the image, red = most
FIGURE_NAMES = {"classes": "one right, one wrong per class", "mistakes": "most confident mistakes"}


def figure_label(name, split=None, pretrained=True):
    """'MobileNetV3-Large · validation split · random init': what a figure shows, on which split, from which start."""
    return " · ".join([name, *([f"{split} split"] if split else []), *([] if pretrained else ["random init"])])


def confusion_heatmap(ax, frame, title, fmt):
    """Draw one confusion matrix DataFrame as an annotated heatmap on `ax`."""
    sns.heatmap(frame, annot=True, fmt=fmt, cmap="Blues", cbar=False, square=True, ax=ax)
    ax.set(title=title, xlabel="predicted", ylabel="true")


def plot_confusion_matrices(counts, title=""):
    """Counts and row-normalised (recall) confusion matrices side by side, under `title`."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5.6))
    confusion_heatmap(left, counts, "counts", "d")
    normalised = counts.div(counts.sum(axis=1).where(lambda s: s > 0), axis=0).fillna(0)
    confusion_heatmap(right, normalised, "row-normalised (recall)", ".2f")
    figure.suptitle(title)
    figure.tight_layout()
    plt.close(figure)  # returned for display or saving; not shown twice in notebooks
    return figure


def compare_confusion_matrices(matrices, title=""):
    """Row-normalised confusion matrices of several models side by side ({name: counts}), under `title`."""
    figure, axes = plt.subplots(1, len(matrices), figsize=(6 * len(matrices), 5.6), squeeze=False)
    for ax, (name, counts) in zip(axes[0], matrices.items()):
        confusion_heatmap(ax, counts.div(counts.sum(axis=1).where(lambda s: s > 0), axis=0).fillna(0),
                          name, ".2f")
    figure.suptitle(title)
    figure.tight_layout()
    plt.close(figure)
    return figure


def plot_history(history, title=""):
    """Training loss, and validation accuracy and balanced accuracy (chance marked), per epoch."""
    figure, (loss_ax, score_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    loss_ax.plot(history["epoch"], history["train_loss"], marker="o")
    loss_ax.set(title=f"{title} training loss".strip(), xlabel="epoch", ylabel="weighted CE loss")
    for column, label, colour in (("val_accuracy", "accuracy", "tab:green"),
                                  ("val_balanced_accuracy", "balanced accuracy", "tab:purple")):
        if column in history and history[column].notna().any():  # older runs lack balanced accuracy
            score_ax.plot(history["epoch"], history[column], marker="o", color=colour, label=label)
    score_ax.axhline(CHANCE_BALANCED_ACCURACY, color="grey", linestyle="--",
                     label=f"chance (balanced) {CHANCE_BALANCED_ACCURACY:.3f}")
    score_ax.set(title=f"{title} validation scores".strip(), xlabel="epoch", ylabel="score", ylim=(0, 1))
    score_ax.legend(loc="best", fontsize=8)
    for ax in (loss_ax, score_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    figure.tight_layout()
    plt.close(figure)
    return figure


def plot_class_distribution(counts):
    """Grouped bar chart of images per class (rows) for each split (columns); log scale only if needed."""
    log = needs_log_scale(counts)
    ax = counts.plot.bar(figsize=(9, 3.8), rot=0, logy=log)
    ax.set(title=f"Images per class and split{' (log scale)' if log else ''}", xlabel="class",
           ylabel="images")
    plt.close(ax.figure)
    return ax.figure


def needs_log_scale(counts, max_ratio=20):
    """True when the largest count is over `max_ratio` times the smallest non-zero one."""
    # Beyond that span the rare classes' bars would be too short to read on a linear axis.
    positive = counts.to_numpy()[counts.to_numpy() > 0]
    return positive.size > 0 and bool(positive.max() > max_ratio * positive.min())


def show_image_grid(images, titles, columns):
    """A grid of grayscale image tensors (1, H, W) with titles."""
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 2.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image.squeeze(0), cmap="gray", vmin=0 if image.dtype.is_floating_point else None)
        ax.set_title(title, fontsize=9)
    figure.tight_layout()
    plt.close(figure)
    return figure


def show_samples_per_class(dataset, per_class=4):
    """A grid with `per_class` real images of every class, one row per class."""
    labels = dataset.img_labels["label"]
    images, titles = [], []
    for label, code in enumerate(CLASS_CODES):
        for index in labels.index[labels == label][:per_class]:
            images.append(dataset.image(index))
            titles.append(code)
    return show_image_grid(images, titles, per_class)


def plot_per_class_f1(f1_by_model, title="F1 per class"):
    """Grouped bars of per-class F1 for several models ({name: F1 per class})."""
    frame = pd.DataFrame(f1_by_model)
    ax = frame.plot.bar(figsize=(9, 3.8), rot=0, ylim=(0, 1))
    ax.set(title=title, xlabel="class", ylabel="F1")
    plt.close(ax.figure)
    return ax.figure


def heatmap_panel(ax, image, heatmap, title):
    """A gray image tensor with its Grad-CAM heatmap on top (red = most evidence); empty when image is None."""
    ax.axis("off")
    ax.set_title(title, fontsize=7)
    if image is not None:
        ax.imshow(image.numpy(), cmap="gray")
        ax.imshow(heatmap.numpy(), cmap=HEATMAP_COLOURS, alpha=0.4, vmin=0, vmax=1)


def heatmap_colour_bar(figure, axes):
    """The overlay's colour scale beside `axes`: each map is stretched to its own image's range."""
    bar = figure.colorbar(ScalarMappable(Normalize(0, 1), HEATMAP_COLOURS), ax=axes, shrink=0.5, aspect=30)
    bar.set_label("Grad-CAM evidence in this image (0 weakest, 1 strongest)", fontsize=8)
    bar.ax.tick_params(labelsize=7)


def explanation_title(row):
    """'true mel -> nv 0.93': the true class, the prediction and its softmax confidence."""
    return f"true {row['true']} -> {row['predicted']} {row['confidence']:.2f}"


def missing_example_title(code, images, correct, split):
    """Why a panel is empty: the class has no images in the split, or none was classified right (wrong)."""
    if not images:
        return f"true {code}: none in {split}"
    return f"true {code}: none of {images} {'right' if correct else 'wrong'}"


def example_title(row, randomised):
    """A panel's second line: the trained model's answer, or (random weights) which class the map is for."""
    return f"true {row['true']}, map of {row['predicted']}" if randomised else explanation_title(row)


def explanations_label(explained, what):
    """`what`, the split shown and 'random init' when any of the models started from random numbers."""
    first = next(iter(explained.values()))
    return figure_label(what, first.split, all(each.pretrained for each in explained.values()))


def plot_class_explanations(explained, randomised=False):
    """Per class (rows), each model's most confident correct and wrong prediction with its heatmap.

    `explained` maps a model name to its Explanations of the class examples; `randomised` shows
    the heatmaps of the same architecture with random weights instead (the sanity check), each
    map drawn for the class the trained model predicted.
    """
    columns = [(name, correct) for name in explained for correct in (True, False)]
    figure, axes = plt.subplots(len(CLASS_CODES), len(columns), figsize=(2.1 * len(columns) + 1, 14.5),
                                squeeze=False, layout="constrained")
    for column, (name, correct) in enumerate(columns):
        each = explained[name]
        heatmaps = each.random_heatmaps if randomised else each.heatmaps
        label = (f"{name.replace('MobileNetV3-', '')}{', random weights' if randomised else ''}, "
                 f"{'right' if correct else 'wrong'}")
        for row, code in enumerate(CLASS_CODES):
            table = each.table
            match = ((table["true"] == code) & ((table["predicted"] == code) == correct)).to_numpy().nonzero()[0]
            if len(match):
                index = match[0]
                heatmap_panel(axes[row, column], each.images[index], heatmaps[index],
                              f"{label}\n{example_title(table.iloc[index], randomised)}")
            else:
                heatmap_panel(axes[row, column], None, None, f"{label}\n" + missing_example_title(
                    code, each.class_counts.get(code, 0), correct, each.split))
    heatmap_colour_bar(figure, axes)
    figure.suptitle(explanations_label(explained, "Grad-CAM, the same networks with random weights" if randomised
                                       else "Grad-CAM of the trained models"))
    plt.close(figure)
    return figure


def plot_heatmap_gallery(explained, title="", columns=4):
    """The explained images in a grid, each with its heatmap and true/predicted class."""
    rows = max(1, -(-len(explained.table) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.9 * columns + 1, 2.1 * rows + 0.6), squeeze=False,
                                layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, heatmap, (_, row) in zip(axes.flat, explained.images, explained.heatmaps,
                                            explained.table.iterrows()):
        heatmap_panel(ax, image, heatmap, explanation_title(row))
    heatmap_colour_bar(figure, axes)
    figure.suptitle(title)
    plt.close(figure)
    return figure


def plot_rank_correlations(table, label="", seed=0):
    """Spearman correlation of trained vs randomised heatmaps: one dot per explained image, a bar at the median.

    The dots are spread sideways at random so they do not hide each other; seeded, so the same
    table always gives the same figure. The legend sits outside the axes, clear of the dots.
    """
    figure, ax = plt.subplots(figsize=(9, 3.8))
    order = list(table["stage"].unique())
    rng = np.random.default_rng(seed)
    for figure_name, rows in table.groupby("figure", sort=False):
        spread = rng.uniform(-0.25, 0.25, len(rows))
        ax.scatter([order.index(stage) + dx for stage, dx in zip(rows["stage"], spread)], rows["rank_correlation"],
                   alpha=0.7, s=20, label=FIGURE_NAMES.get(figure_name, figure_name))
    medians = table.groupby("stage")["rank_correlation"].median().reindex(order)
    ax.scatter(range(len(order)), medians, marker="_", s=900, color="black", label="median", zorder=3)
    ax.axhline(0, color="0.5", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(order)), order)
    ax.set(xlim=(-0.5, len(order) - 0.5), ylim=(-1.05, 1.05), ylabel="Spearman rank correlation",
           title=f"Sanity check: trained vs randomised-weight heatmaps (near 1 = explains nothing)\n{label}".strip())
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="explained images", title_fontsize=8)
    figure.tight_layout()
    plt.close(figure)
    return figure
