"""Notebook 01's class-count chart: a log axis only when the counts span a wide range."""

import pandas as pd

from skinkit.classes import CLASS_CODES
from skinkit.reporting.plots import needs_log_scale, plot_class_distribution

SAMPLE_COUNTS = pd.DataFrame({split: [5] * 7 for split in ("train", "val", "test")}, index=list(CLASS_CODES))
COURSE_COUNTS = pd.DataFrame({"train": [112, 148, 343, 36, 253, 2073, 35],
                              "val": [36, 60, 102, 15, 97, 670, 20]}, index=list(CLASS_CODES))


def test_five_images_a_class_get_a_linear_axis():
    assert not needs_log_scale(SAMPLE_COUNTS)
    axes = plot_class_distribution(SAMPLE_COUNTS).axes[0]
    assert axes.get_yscale() == "linear" and "log" not in axes.get_title()


def test_the_course_imbalance_gets_a_log_axis():
    assert needs_log_scale(COURSE_COUNTS)
    axes = plot_class_distribution(COURSE_COUNTS).axes[0]
    assert axes.get_yscale() == "log" and "log scale" in axes.get_title()


def test_empty_classes_do_not_force_a_log_axis():
    counts = SAMPLE_COUNTS.copy()
    counts.loc["df"] = 0
    assert not needs_log_scale(counts)
