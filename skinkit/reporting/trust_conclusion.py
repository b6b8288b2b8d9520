"""Notebook 8's words: its tables laid out for a laptop screen, and what a student may and may not claim.

Every sentence is computed from the numbers: a temperature above 1 is called over-confidence, a
gain from referral is called one only when its paired interval excludes zero, a sensitivity
target is called kept (or missed) only when the whole test interval lies above (or below) it, and
a group too small to score is named as such.
"""

import math

import pandas as pd

from .calibration import TEMPERATURE_RANGE
from .chance import ABOVE_CHANCE, chance_clause, not_above_chance
from .conclusion import short_name, wrap_paragraphs
from .intervals import CONFIDENCE
from .narrative import ONE_ANSWER_SHARE
from .subgroups import TOO_FEW


def with_interval(value, low, high, digits=3):
    """'0.431 [0.392, 0.470]', or 'n/a' for a score that is undefined here."""
    if value is None or math.isnan(value):
        return "n/a"
    bounds = "n/a" if math.isnan(low) else f"{low:.{digits}f}, {high:.{digits}f}"
    return f"{value:.{digits}f} [{bounds}]"


def scored(values, key, digits=3):
    """with_interval of values[key] and its bounds values[key_low], values[key_high]."""
    return with_interval(values[key], values[f"{key}_low"], values[f"{key}_high"], digits)


def calibration_table(results):
    """Temperature and test ECE before and after scaling, models as columns."""
    return pd.DataFrame({short_name(name): {
        "temperature (fitted on validation)": f"{each.temperature:.2f}",
        "ECE on test, before scaling": f"{each.ece_before:.3f}",
        "ECE on test, after scaling": f"{each.ece_after:.3f}",
        "ImageNet weights": "yes" if each.pretrained else "NO (random init)"} for name, each in results.items()})


def referral_table(results, confidence=CONFIDENCE):
    """The validation referral threshold applied to test: cases referred, scores of the kept ones."""
    level = f"[{confidence:.0%}]"
    rows = {}
    for name, each in results.items():
        r = each.referral
        rows[short_name(name)] = {
            "confidence threshold (validation)": f"{r['threshold']:.3f}",
            "test cases referred": f"{r['referred']} of {r['images']} ({r['referred_fraction']:.0%})",
            "balanced accuracy, all cases": f"{r['balanced_accuracy_all']:.3f}",
            f"balanced accuracy, kept {level}": scored(r, "balanced_accuracy_kept"),
            f"kept minus all {level}": f"[{r['gain_low']:+.3f}, {r['gain_high']:+.3f}]",
            "mel recall, all cases": f"{r['mel_recall_all']:.3f}",
            f"mel recall, kept {level}": scored(r, "mel_recall_kept")}
    return pd.DataFrame(rows)


def melanoma_table(results, confidence=CONFIDENCE):
    """AUC and the validation-chosen screening threshold judged on test."""
    level = f"[{confidence:.0%}]"
    return pd.DataFrame({short_name(name): {
        f"mel vs rest AUC (test) {level}": scored(s, "mel_auc"),
        f"threshold for >= {s['sensitivity_target']:.0%} sensitivity (val)": f"{s['threshold']:.3f}",
        f"sensitivity on test {level}": scored(s, "sensitivity"),
        f"specificity on test {level}": scored(s, "specificity"),
        "test images flagged": f"{s['flagged']} of {len(each.test)} ({melanomas_flagged(s)})"}
        for name, each in results.items() for s in [each.screening]})


def melanomas_flagged(screening):
    """'84 of the 97 melanomas': how many of the test melanomas the threshold flags."""
    if not screening["melanomas"]:
        return "no melanomas"
    return f"{round(screening['sensitivity'] * screening['melanomas'])} of the {screening['melanomas']} melanomas"


def subgroup_cells(row):
    """A subgroup row's balanced accuracy and melanoma recall as text ('too few images' when too small)."""
    if math.isnan(row["balanced_accuracy"]):
        return TOO_FEW, ""
    recall = "no mel" if not row["melanomas"] else f"{row['melanomas_found']:.0f}/{row['melanomas']}"
    return with_interval(row["balanced_accuracy"], row["low"], row["high"], digits=2), recall


def subgroup_display(subgroups, results):
    """Subgroups with n, and per model the balanced accuracy [interval] and melanomas found / present."""
    if subgroups is None:
        return None
    names = {each.stage: short_name(name) for name, each in results.items()}
    table = None
    for stage, rows in subgroups.groupby("stage", sort=False):
        cells = rows.apply(subgroup_cells, axis=1, result_type="expand")
        cells.columns = [f"{names[stage]} bal. acc.", f"{names[stage]} mel"]
        cells.index = pd.MultiIndex.from_frame(rows[["attribute", "group"]])
        table = rows.set_index(["attribute", "group"])[["n"]].join(cells) if table is None else table.join(cells)
    return table


def calibration_sentence(name, each):
    """What the temperature says about one model, and whether scaling helped on test."""
    short, temperature = short_name(name), each.temperature
    if temperature >= TEMPERATURE_RANGE[1] * 0.99:
        clause = (f"{short}'s probabilities fitted best when flattened altogether (T ran to the search limit, "
                  f"{TEMPERATURE_RANGE[1]:g}), as for a model whose confidence carries no information")
    elif temperature > 1.05:
        clause = f"{short} was over-confident (T = {temperature:.2f}: above 1 softens its probabilities)"
    elif temperature < 0.95:
        clause = f"{short} was under-confident (T = {temperature:.2f}: below 1 sharpens its probabilities)"
    else:
        clause = f"{short} was about as confident as it was accurate (T = {temperature:.2f}, close to 1)"
    helped = each.ece_after < each.ece_before
    return (f"On validation, {clause}; on test, scaling {'lowered' if helped else 'did not lower'} the ECE, "
            f"{each.ece_before:.3f} -> {each.ece_after:.3f}" + ("." if helped else ": a temperature fitted on "
                                                             "one split does not always carry over to another."))


def gain_reading(low, high, level):
    """Whether the paired interval of (kept minus all) shows that referral helped."""
    interval = f"the paired {level} interval of the gain is [{low:+.3f}, {high:+.3f}]"
    if low > 0:
        return f"{interval}, which excludes zero: on these test images referral helped"
    if high < 0:
        return f"{interval}, below zero: referral made the kept cases worse"
    return f"{interval}, which includes zero: a gain is not shown"


def referral_sentence(name, each, confidence):
    """The validation referral threshold on test: how many referred, and whether the kept cases gained."""
    r = each.referral
    sentence = (f"{short_name(name)}: the threshold that referred {r['target_fraction']:.0%} of the validation "
                f"cases referred {r['referred']} of {r['images']} test cases ({r['referred_fraction']:.0%}); "
                f"balanced accuracy {r['balanced_accuracy_kept']:.3f} on the kept cases vs "
                f"{r['balanced_accuracy_all']:.3f} on all; "
                f"{gain_reading(r['gain_low'], r['gain_high'], f'{confidence:.0%}')}.")
    if r["mel_recall_kept"] < r["mel_recall_all"]:
        sentence += (f" Melanoma recall on the kept cases fell ({r['mel_recall_all']:.2f} -> "
                     f"{r['mel_recall_kept']:.2f}): melanomas missed with confidence are not referred.")
    return sentence


def sensitivity_reading(s, target):
    """Whether the test sensitivity (and its interval) meets the target the threshold was chosen for."""
    if math.isnan(s["sensitivity"]):
        return "the test split has no melanoma to catch"
    if s["sensitivity_low"] >= target:
        return f"its interval stays above the {target:.0%} target"
    if s["sensitivity_high"] < target:
        return (f"its whole interval lies below the {target:.0%} target, so on new images the threshold "
                f"chosen on validation would most likely miss it")
    if s["sensitivity"] >= target:
        return (f"it meets the {target:.0%} target, but its interval reaches down to "
                f"{s['sensitivity_low']:.2f}, so the target is not assured on new images")
    return (f"it is below the {target:.0%} target on these images, but its interval reaches up to "
            f"{s['sensitivity_high']:.2f}, so whether new images would meet it is not settled")


def auc_reading(s):
    """Whether the interval of the melanoma-vs-rest AUC lies above a coin toss (0.5)."""
    if s["mel_auc_low"] > 0.5:
        return "whose interval lies above 0.5 (a coin toss)"
    if s["mel_auc_high"] < 0.5:
        return "whose interval lies below 0.5 (a coin toss), so melanomas score lower than other lesions"
    return "whose interval reaches 0.5 (a coin toss), so the ranking is not shown to beat chance"


def top_class_clause(test):
    """', and its top class is nv for every test image' when one class takes ONE_ANSWER_SHARE of them, else ''."""
    shares = test["predicted"].value_counts(normalize=True)
    if shares.iloc[0] < ONE_ANSWER_SHARE:
        return ""
    images = "every test image" if shares.iloc[0] == 1 else f"{shares.iloc[0]:.0%} of the test images"
    return f", and its top class is {shares.index[0]} for {images}"


def ranking_sentence(name, each):
    """For a model not above chance whose AUC interval lies above 0.5: why the screen can still work."""
    if each.vs_chance == ABOVE_CHANCE or not each.screening["mel_auc_low"] > 0.5:
        return ""
    return (f" {short_name(name)} is {each.vs_chance} in balanced accuracy{top_class_clause(each.test)}, yet its "
            f"melanoma probability still ranks melanomas above the other lesions more often than a coin toss: "
            f"the top class hides how that probability varies from image to image, so a threshold on it, as "
            f"this screen sets, can still separate some melanomas from other lesions.")


def melanoma_sentence(name, each):
    """The AUC with its interval, whether the validation threshold's sensitivity target holds on test, and more.

    The "more": why a model at chance can still screen."""
    s = each.screening
    reading = sensitivity_reading(s, s["sensitivity_target"])
    return (f"{short_name(name)}: melanoma-vs-rest AUC {scored(s, 'mel_auc')}, {auc_reading(s)}. At the "
            f"threshold chosen on validation, test sensitivity is {scored(s, 'sensitivity', 2)}: {reading}; "
            f"specificity {s['specificity']:.2f}, so {1 - s['specificity']:.0%} of the other lesions would be "
            f"flagged too." + ranking_sentence(name, each))


def separated_groups(rated, names):
    """'for Large, female < male (sex)': groups whose balanced-accuracy interval lies wholly below another's."""
    found = []
    for (stage, attribute), rows in rated.groupby(["stage", "attribute"], sort=False):
        found += [f"for {names[stage]}, {worse.group} < {better.group} ({attribute})"
                  for worse in rows.itertuples() for better in rows.itertuples() if worse.high < better.low]
    return found


def comparison_sentences(rated, results):
    """Interval widths and separated groups of the models above chance.

    The group scores of the others would only count the lesion classes each group holds."""
    names = {each.stage: short_name(name) for name, each in results.items()}
    at_chance = not_above_chance({each.stage: each.vs_chance for each in results.values()})
    one = len(at_chance) == 1
    words = [f"{chance_clause({names[stage]: reading for stage, reading in at_chance.items()})} overall, "
             f"so {'its' if one else 'their'} group scores only reflect how many lesion classes each group "
             f"holds: they are not compared."] if at_chance else []
    rated = rated[~rated["stage"].isin(at_chance)]
    if rated.empty:
        return words
    widths = rated["high"] - rated["low"]
    whose = " and ".join(f"{names[stage]}'s" for stage in rated["stage"].unique())
    words.append(f"{whose} balanced-accuracy intervals over the scored groups are {widths.min():.2f} to "
                 f"{widths.max():.2f} wide.")
    separated = separated_groups(rated, names)
    if separated:
        words.append(f"An interval lies wholly below another's {'; '.join(separated[:3])}: worth checking on "
                     f"more data, but groups also differ in their mix of lesions, so this alone does not show "
                     f"that the model treats a group unfairly.")
    else:
        words.append(f"Within each attribute {whose} intervals overlap: no group is shown to fare worse, which "
                     "is not the same as showing that every group fares equally well.")
    return words


def subgroup_sentences(subgroups, results, min_images):
    """How many groups could be scored, how wide their intervals are, and whether any group is shown worse."""
    if subgroups is None:
        return ("Subgroups: this dataset's manifest.csv has no age, sex or body site, so nothing can be "
                "said about whom the models fail (`python -m skinkit prepare` copies them from the "
                "HAM10000 metadata).")
    sizes = subgroups.drop_duplicates(["attribute", "group"]).set_index("group")["n"]
    small = sizes[sizes < min_images]
    words = [f"Subgroups: {len(small)} of {len(sizes)} groups have fewer than {min_images} test images and are "
             f"not scored ({', '.join(small.index)})." if len(small) else
             f"Subgroups: every group has at least {min_images} test images."]
    rated = subgroups.dropna(subset=["balanced_accuracy"])
    if rated.empty:
        return words[0] + " No group can be compared with another."
    return " ".join(words + comparison_sentences(rated, results))


def claims_paragraph(results):
    """What these numbers do and do not allow a student to claim, with the caution the run calls for."""
    images = len(next(iter(results.values())).test)
    words = [f"You may claim these numbers for these {images} test images, drawn from the same collection as "
             f"the training images. You may not claim that the models would do as well in another clinic, "
             f"with another camera or on other skin types, that a group is served well when it was too small "
             f"to score or its interval is wide, or that a referral rule or threshold is safe in practice: one "
             f"test split cannot show that."]
    random = [short_name(name) for name, each in results.items() if not each.pretrained]
    if random:
        words.append(f"{' and '.join(random)} started from random weights, not ImageNet's (pretrained: false): "
                     f"this is not the project report's transfer-learning result, and every number here "
                     f"describes {'models' if len(random) > 1 else 'a model'} trained from scratch.")
    return " ".join(words)


def chance_caution(results):
    """A warning for the models not above chance, put before the numbers it concerns ('' when there are none)."""
    at_chance = not_above_chance({short_name(name): each.vs_chance for name, each in results.items()})
    if not at_chance:
        return ""
    return (f"{chance_clause(at_chance)} on the test split, so read {'its' if len(at_chance) == 1 else 'their'} "
            f"calibration and referral numbers below with care: those of a model not shown to tell the classes "
            f"apart mean little. ")


def conclusion(results, subgroups, min_images, confidence=CONFIDENCE):
    """Notebook 8's conclusion, every number from the analysis, in paragraphs of TEXT_WIDTH."""
    return wrap_paragraphs(
        "Calibration (scaling never changes a prediction, only how sure the model says it is). "
        + chance_caution(results) + " ".join(calibration_sentence(name, each) for name, each in results.items()),
        "Referral. " + " ".join(referral_sentence(name, each, confidence) for name, each in results.items()),
        "Melanoma. " + " ".join(melanoma_sentence(name, each) for name, each in results.items()),
        subgroup_sentences(subgroups, results, min_images),
        claims_paragraph(results))
