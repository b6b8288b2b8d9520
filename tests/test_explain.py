"""Grad-CAM explanations: heatmap shape and range, untouched models, the sanity check and its caution, saved files."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from skinkit.classes import CLASS_CODES
from skinkit.data.dataset import SkinLesionDataset
from skinkit.reporting import gradcam as explain
from skinkit.reporting.plots import plot_class_explanations, plot_heatmap_gallery, plot_rank_correlations
from skinkit.reporting.predictions import predictions_table
from skinkit.reporting.stage_predictions import predict_dataset
from skinkit.training.loop import to_device
from skinkit.training.models import build_model
from skinkit.training.stage import MissingPrerequisite

from .helpers import SAMPLE

SIZE = 64
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def val_set():
    return SkinLesionDataset(SAMPLE / "val")


def fresh_model(name, frozen, seed=0):
    torch.manual_seed(seed)
    return to_device(build_model(name, pretrained=False, freeze_base=frozen), CPU)


def saved_predictions(model, dataset, size=SIZE):
    """The model's predictions on `dataset` as a run folder keeps them (predictions_val.csv)."""
    return predictions_table(*predict_dataset(model, dataset, size, CPU))


def inputs_for(model, dataset, count=4):
    return explain.model_inputs(model, torch.stack([dataset.image(i) for i in range(count)]), SIZE)


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "unfrozen"])
@pytest.mark.parametrize("name", ["large", "small"])
def test_heatmaps_have_the_input_size_and_lie_in_unit_range(name, frozen, val_set):
    model = fresh_model(name, frozen)
    heatmaps = explain.gradcam(model, inputs_for(model, val_set), [0, 3, 4, 5])
    assert heatmaps.shape == (4, SIZE, SIZE)
    assert torch.isfinite(heatmaps).all() and heatmaps.min() >= 0 and heatmaps.max() <= 1
    # A frozen base must not silence the gradient: every map that has evidence peaks at 1.
    peaks = heatmaps.flatten(1).amax(dim=1)
    assert (peaks > 0).any() and torch.allclose(peaks[peaks > 0], torch.ones(1))


def test_the_model_is_left_exactly_as_it_was(val_set):
    model = fresh_model("small", frozen=True).train()
    model.classifier[2].eval()  # a mix of modes must come back as it was, module by module
    model.features[0][0].weight.requires_grad_(True)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    explain.gradcam(model, inputs_for(model, val_set), [1, 2, 3, 4])
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # BN statistics too
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks or m._backward_hooks for m in model.modules())


def test_the_same_model_gives_the_same_map_and_random_weights_another(val_set):
    model = fresh_model("small", frozen=False)
    inputs = inputs_for(model, val_set)
    maps = explain.upsample(explain.layer_gradcam(model, inputs, [5] * 4), inputs.shape[-2:])
    again = explain.upsample(explain.layer_gradcam(model, inputs, [5] * 4), inputs.shape[-2:])
    assert all(explain.rank_correlation(a, b) == pytest.approx(1.0) for a, b in zip(maps, again))
    copy = explain.randomised_copy(model, seed=1)
    assert copy.architecture == "small" and not copy.training
    assert not torch.equal(copy.features[0][0].weight, model.features[0][0].weight)
    assert torch.equal(copy.features[0][0].weight, explain.randomised_copy(model, seed=1).features[0][0].weight)


def train_briefly(model, dataset, steps=8, size=128):
    """A few Adam steps on the sample's training images, so the model has learned something."""
    images = torch.stack([dataset.image(i) for i in range(len(dataset))])
    labels = torch.tensor(dataset.img_labels["label"].to_numpy())
    inputs = explain.model_inputs(model, images, size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
    return model.eval()


def test_trained_and_randomised_heatmaps_differ_measurably(val_set):
    model = train_briefly(fresh_model("small", frozen=False), SkinLesionDataset(SAMPLE / "train"))
    explained = explain.explain_stage(model, "small_finetune", saved_predictions(model, val_set, 128), val_set,
                                      128, CPU, mistakes=6)  # 4x4 maps
    correlations = explained.table["rank_correlation"]
    assert correlations.notna().all() and correlations.between(-1, 1).all()
    assert correlations.median() < 0.8
    assert (explained.heatmaps - explained.random_heatmaps).abs().mean() > 0.05


def test_class_examples_and_confident_mistakes_are_chosen_by_confidence():
    table = pd.DataFrame({"file": list("abcdef"), "true": ["mel", "mel", "mel", "nv", "nv", "bcc"],
                          "predicted": ["mel", "mel", "nv", "mel", "nv", "nv"],
                          "confidence": [0.6, 0.9, 0.7, 0.95, 0.5, 0.4]})
    examples = explain.class_examples(table)
    assert examples["file"].tolist() == ["f", "b", "c", "e", "d"]  # bcc wrong; mel right, wrong; nv ...
    assert (examples["figure"] == "classes").all()
    mistakes = explain.confident_mistakes(table, count=2)
    assert mistakes["file"].tolist() == ["d", "c"] and (mistakes["figure"] == "mistakes").all()


def test_rank_correlation():
    ramp = torch.arange(16.0).view(4, 4)
    assert explain.rank_correlation(ramp, ramp ** 2) == pytest.approx(1.0)
    assert explain.rank_correlation(ramp, -ramp) == pytest.approx(-1.0)
    assert math.isnan(explain.rank_correlation(ramp, torch.zeros(4, 4)))


def shown_images(figure):
    """How many panels of a figure show an image."""
    return sum(1 for ax in figure.axes if ax.images)


def test_saved_files_and_csv_rows_match_the_images_shown(val_set, tmp_path):
    model = fresh_model("small", False)
    explained = {"MobileNetV3-Small": explain.explain_stage(model, "small_finetune", saved_predictions(model, val_set),
                                                            val_set, SIZE, CPU, mistakes=5)}
    saved = explain.save_explanations(explained, tmp_path)
    assert saved == tmp_path / "explanations.csv" and sorted(tmp_path.iterdir()) == [saved]
    rows = pd.read_csv(saved)
    assert rows.columns.tolist() == explain.EXPLAINED_COLUMNS
    each = explained["MobileNetV3-Small"]
    assert len(rows) == len(each.images) == len(each.heatmaps) == len(each.random_heatmaps)
    classes, mistakes = each.select("classes"), each.select("mistakes")
    assert shown_images(plot_class_explanations({"Small": classes})) == len(classes.table)
    assert shown_images(plot_heatmap_gallery(mistakes)) == len(mistakes.table) == 5
    assert rows["file"].tolist() == [*classes.table["file"], *mistakes.table["file"]]
    assert (mistakes.table["true"] != mistakes.table["predicted"]).all()
    assert np.allclose(rows["confidence"], each.table["confidence"])


def test_missing_fine_tuned_models_name_the_notebook_to_run(tmp_path):
    with pytest.raises(MissingPrerequisite, match="03_large_finetuning.ipynb"):
        explain.explain_final_models(tmp_path, SAMPLE, SIZE, CPU)


def panel_titles(figure):
    return [ax.get_title() for ax in figure.axes if ax.get_title()]


def test_figures_say_the_split_the_start_and_why_a_panel_is_empty(val_set):
    model = fresh_model("small", False)
    model.pretrained = False
    each = explain.explain_stage(model, "small_finetune", saved_predictions(model, val_set), val_set, SIZE, CPU,
                                 mistakes=3)
    assert each.class_counts == dict.fromkeys(CLASS_CODES, 5) and each.grid == (2, 2)
    classes = each.select("classes")
    figure = plot_class_explanations({"Small": classes})
    assert figure.get_suptitle() == "Grad-CAM of the trained models · validation split · random init"
    titles = panel_titles(figure)
    for code in CLASS_CODES:  # 5 validation images per class: an empty panel never says "none in validation"
        right = ((classes.table["true"] == code) & (classes.table["predicted"] == code)).any()
        assert right or f"Small, right\ntrue {code}: none of 5 right" in titles
    assert not any("none in validation" in title for title in titles)
    assert any(ax.get_label() == "<colorbar>" for ax in figure.axes)
    randomised = panel_titles(plot_class_explanations({"Small": classes}, randomised=True))
    shown = [title for title in randomised if "map of" in title]
    assert len(shown) == len(classes.table)
    assert all(title.startswith("Small, random weights") and "->" not in title for title in shown)


def test_the_sanity_figure_repeats_itself_and_keeps_the_legend_off_the_dots():
    table = pd.DataFrame({"stage": ["large_finetune"] * 4 + ["small_finetune"] * 4,
                          "figure": ["classes", "mistakes"] * 4, "rank_correlation": np.linspace(-0.5, 0.5, 8)})
    first, second = (plot_rank_correlations(table, "validation split") for _ in range(2))
    offsets = [[c.get_offsets().tolist() for c in figure.axes[0].collections] for figure in (first, second)]
    assert offsets[0] == offsets[1]
    legend = first.axes[0].get_legend()
    first.canvas.draw()
    assert legend.get_window_extent().x0 >= first.axes[0].get_window_extent().x1
    assert first.axes[0].get_title().endswith("validation split")


def test_the_sanity_caution_speaks_only_when_a_median_is_high_or_the_grid_coarse():
    table = pd.DataFrame({"stage": ["large_finetune"] * 3 + ["small_finetune"] * 3,
                          "rank_correlation": [-0.1, 0.0, 0.2, 0.9, 0.7, float("nan")]})
    failing = explain.sanity_caution(table, (7, 7))  # medians 0.0 and 0.8
    assert "small_finetune" in failing and "large_finetune" not in failing
    passing = table.assign(rank_correlation=[-0.1, 0.0, 0.2, 0.1, -0.3, 0.0])
    assert explain.sanity_caution(passing, (7, 7)) == ""
    assert explain.sanity_caution(passing, (2, 2)) != ""  # 4 cells: a rank correlation of a handful of values
    constant = passing.assign(rank_correlation=[float("nan")] * 3 + [0.0] * 3)  # every large map constant
    assert "large_finetune" in explain.sanity_caution(constant, (7, 7))
