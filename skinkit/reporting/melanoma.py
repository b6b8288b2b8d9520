"""Melanoma as a screening test: melanoma against everything else, judged by ROC and sensitivity.

The score is the softmax probability of `mel`. A screening threshold is chosen on validation to
catch at least a target share of melanomas (sensitivity), then judged on test, where its
sensitivity may fall short of the target: only the test interval says how far. The AUC gets a
bootstrap interval too: it can exclude 0.5 even for a model whose top class is always `nv`.
"""

import numpy as np
from scipy.stats import rankdata
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


def melanoma_auc(y_true, scores):
    """Melanoma-vs-rest AUC along the last axis, for many bootstrap resamples at once (NaN without both kinds).

    It is roc_auc_score's AUC, computed from ranks (Mann-Whitney U, ties counting one half): called once
    per resample, roc_auc_score took about 3 ms a call here, 12 s for the two models of one analysis and
    minutes for the worked solutions of notebook 08, which repeat it per setting.
    """
    is_melanoma = np.asarray(y_true) == MELANOMA
    melanomas = is_melanoma.sum(-1)
    others = is_melanoma.shape[-1] - melanomas
    rank_sum = (rankdata(scores, axis=-1) * is_melanoma).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rank_sum - melanomas * (melanomas + 1) / 2) / (melanomas * others)


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
    """Sensitivity and specificity of flagging melanoma at `threshold`, and the AUC, with bootstrap intervals."""
    y_true = np.asarray(y_true)
    flagged = melanoma_scores(probabilities) >= threshold
    options = {"confidence": confidence, "seed": seed}
    auc_low, auc_high = bootstrap_interval(melanoma_auc, y_true, melanoma_scores(probabilities), **options)
    result = {"threshold": threshold, "mel_auc": melanoma_roc(y_true, probabilities)[2], "mel_auc_low": auc_low,
              "mel_auc_high": auc_high, "flagged": int(flagged.sum()),
              "melanomas": int((y_true == MELANOMA).sum())}
    for name, score in (("sensitivity", sensitivity), ("specificity", specificity)):
        low, high = bootstrap_interval(score, y_true, flagged, **options)
        result.update({name: float(score(y_true, flagged)), f"{name}_low": low, f"{name}_high": high})
    return result
