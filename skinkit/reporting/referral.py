"""Referral: the model hands its least confident cases to a dermatologist and keeps the rest
(selective classification, Geifman & El-Yaniv 2017).

A referral rule is a confidence threshold. It is chosen on validation, like any other setting,
and then judged on test, where it refers however many cases fall below it.
"""

import numpy as np
import pandas as pd

from ..classes import LABEL_BY_CODE
from ..metrics import balanced_accuracy
from .intervals import CONFIDENCE, bootstrap_interval

MELANOMA = LABEL_BY_CODE["mel"]
REFERRED_FRACTIONS = np.round(np.arange(0, 0.51, 0.05), 2)  # 0 %, 5 %, ... 50 % referred
REFER_FRACTION = 0.2  # the share of validation cases the chosen threshold refers


def kept_balanced_accuracy(y_true, y_pred, keep):
    """Balanced accuracy of the kept cases only, along the last axis (referred cases count for no class)."""
    return balanced_accuracy(np.where(keep, y_true, -1), y_pred)


def kept_melanoma_recall(y_true, y_pred, keep):
    """Share of the kept melanomas the model calls mel, along the last axis (NaN when none is kept)."""
    melanoma = (y_true == MELANOMA) & keep
    found = (melanoma & (y_pred == MELANOMA)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return found / melanoma.sum(-1)


def referral_gain(y_true, y_pred, keep):
    """Balanced accuracy of the kept cases minus that of all cases, along the last axis."""
    return kept_balanced_accuracy(y_true, y_pred, keep) - balanced_accuracy(y_true, y_pred)


def referral_curve(y_true, probabilities, fractions=REFERRED_FRACTIONS):
    """Per referred fraction: balanced accuracy and melanoma recall of the cases kept (most confident)."""
    y_pred, order = probabilities.argmax(axis=1), np.argsort(-probabilities.max(axis=1), kind="stable")
    rows = []
    for fraction in fractions:
        keep = np.zeros(len(order), dtype=bool)
        keep[order[: len(order) - int(round(fraction * len(order)))]] = True
        rows.append({"referred_fraction": fraction,
                     "balanced_accuracy": kept_balanced_accuracy(y_true, y_pred, keep),
                     "mel_recall": kept_melanoma_recall(y_true, y_pred, keep)})
    return pd.DataFrame(rows)


def referral_threshold(probabilities, fraction=REFER_FRACTION):
    """The confidence below which `fraction` of these (validation) cases fall: they are referred."""
    return float(np.quantile(probabilities.max(axis=1), fraction))


def referral_result(y_true, probabilities, threshold, confidence=CONFIDENCE, seed=0):
    """What a threshold does to a split: cases referred, scores of the kept ones with bootstrap intervals."""
    y_pred, keep = probabilities.argmax(axis=1), probabilities.max(axis=1) >= threshold
    options = {"confidence": confidence, "seed": seed}
    ba_low, ba_high = bootstrap_interval(kept_balanced_accuracy, y_true, y_pred, keep, **options)
    mel_low, mel_high = bootstrap_interval(kept_melanoma_recall, y_true, y_pred, keep, **options)
    gain_low, gain_high = bootstrap_interval(referral_gain, y_true, y_pred, keep, **options)
    every = np.ones_like(keep)
    return {"threshold": threshold, "images": len(keep), "referred": int((~keep).sum()),
            "referred_fraction": float((~keep).mean()),
            "balanced_accuracy_all": float(balanced_accuracy(y_true, y_pred)),
            "balanced_accuracy_kept": float(kept_balanced_accuracy(y_true, y_pred, keep)),
            "balanced_accuracy_kept_low": ba_low, "balanced_accuracy_kept_high": ba_high,
            "gain_low": gain_low, "gain_high": gain_high,
            "mel_recall_all": float(kept_melanoma_recall(y_true, y_pred, every)),
            "mel_recall_kept": float(kept_melanoma_recall(y_true, y_pred, keep)),
            "mel_recall_kept_low": mel_low, "mel_recall_kept_high": mel_high}
