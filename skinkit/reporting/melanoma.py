"""Melanoma as a screening test: melanoma against everything else, judged by ROC and sensitivity.

The score is the softmax probability of `mel`. A screening threshold is chosen on validation to
catch at least a target share of melanomas (sensitivity), then judged on test, where its
sensitivity may fall short of the target: only the test interval says how far.
"""

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from .intervals import CONFIDENCE, bootstrap_interval
from .referral import MELANOMA

SENSITIVITY_TARGET = 0.9


def melanoma_scores(probabilities):
    """Each image's softmax probability of melanoma."""
    return np.asarray(probabilities)[:, MELANOMA]


def melanoma_roc(y_true, probabilities):
    """(false positive rates, true positive rates, AUC) of melanoma vs the rest (scikit-learn)."""
    is_melanoma, scores = np.asarray(y_true) == MELANOMA, melanoma_scores(probabilities)
    fpr, tpr, _ = roc_curve(is_melanoma, scores)
    return fpr, tpr, float(roc_auc_score(is_melanoma, scores))


def screening_threshold(y_true, probabilities, target=SENSITIVITY_TARGET):
    """The highest melanoma-probability threshold flagging at least `target` of these (validation) melanomas."""
    _, tpr, thresholds = roc_curve(np.asarray(y_true) == MELANOMA, melanoma_scores(probabilities),
                                   drop_intermediate=False)
    return float(thresholds[np.argmax(tpr >= target)])


def sensitivity(y_true, flagged):
    """Share of melanomas flagged, along the last axis."""
    melanoma = y_true == MELANOMA
    return (melanoma & flagged).sum(-1) / melanoma.sum(-1)


def specificity(y_true, flagged):
    """Share of the other lesions not flagged, along the last axis."""
    other = y_true != MELANOMA
    return (other & ~flagged).sum(-1) / other.sum(-1)


def screening_result(y_true, probabilities, threshold, confidence=CONFIDENCE, seed=0):
    """Sensitivity and specificity of flagging melanoma at `threshold`, with bootstrap intervals, and the AUC."""
    y_true = np.asarray(y_true)
    flagged = melanoma_scores(probabilities) >= threshold
    result = {"threshold": threshold, "mel_auc": melanoma_roc(y_true, probabilities)[2],
              "flagged": int(flagged.sum()), "melanomas": int((y_true == MELANOMA).sum())}
    for name, score in (("sensitivity", sensitivity), ("specificity", specificity)):
        low, high = bootstrap_interval(score, y_true, flagged, confidence=confidence, seed=seed)
        result.update({name: float(score(y_true, flagged)), f"{name}_low": low, f"{name}_high": high})
    return result
