"""Notebook 6's helpers: model cost, F1 from a confusion matrix, a conclusion built from numbers."""

import numpy as np
import pandas as pd
import pytest

from skinkit.classes import CLASS_CODES
from skinkit.compare import conclusion, mflops, per_class_f1
from skinkit.models import build_model


def test_mflops_match_the_mobilenet_v3_papers():
    assert 50 < mflops(build_model("small", pretrained=False)) < 62   # paper: 56 M multiply-adds
    assert 210 < mflops(build_model("large", pretrained=False)) < 225  # paper: 219 M


def test_per_class_f1_from_counts():
    counts = pd.DataFrame(np.diag([2, 1, 1, 1, 1, 1, 1]), index=CLASS_CODES, columns=CLASS_CODES)
    counts.loc["akiec", "bcc"] = 2  # two akiec images called bcc
    f1 = per_class_f1(counts)
    assert f1["akiec"] == pytest.approx(2 * 1 * 0.5 / 1.5)   # precision 1, recall 2/4
    assert f1["bcc"] == pytest.approx(2 * (1 / 3) * 1 / (4 / 3))  # precision 1/3, recall 1
    assert f1["nv"] == 1.0


def comparison_table(pretrained=True):
    return pd.DataFrame({
        "test_balanced_accuracy": [0.71, 0.64], "test_macro_f1": [0.62, 0.55],
        "MFLOPs": [217.0, 56.0], "parameters_M": [4.21, 1.53], "cpu_latency_ms": [40.0, 12.0],
        "pretrained": [pretrained, True]}, index=["MobileNetV3-Large", "MobileNetV3-Small"])


def test_conclusion_takes_every_number_from_the_table():
    text = conclusion(comparison_table())
    assert "MobileNetV3-Large scores higher" in text
    for number in ("0.710", "0.640", "0.620", "0.550", "217", "56", "3.9x", "4.21M", "1.53M", "12.0 ms", "40.0 ms"):
        assert number in text
    assert "Caution" not in text


def test_conclusion_warns_when_a_model_was_not_pretrained():
    assert "WITHOUT ImageNet weights" in conclusion(comparison_table(pretrained=False))
