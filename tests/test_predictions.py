"""Saved predictions: written once per split, read by every later analysis, damaged files named in one line."""

import numpy as np
import pandas as pd
import pytest
import torch

from skinkit.classes import CLASS_CODES
from skinkit.data.dataset import SkinLesionDataset
from skinkit.errors import one_line
from skinkit.reporting import comparison
from skinkit.reporting import stage_predictions as saved
from skinkit.reporting.predictions import (
    PREDICTION_COLUMNS,
    PredictionsError,
    predicted_labels,
    predictions_path,
    probabilities,
    read_predictions,
    true_labels,
    write_predictions,
)
from skinkit.training.stage import load_stage_model

from .helpers import SAMPLE
from .run_fixtures import make_finished_stage, simulated_probabilities, write_simulated_predictions

CPU = torch.device("cpu")


def test_written_predictions_read_back_with_their_labels_and_probabilities(tmp_path):
    y_true = np.array([0, 4, 4, 5, 6])
    probs = simulated_probabilities(y_true, seed=3).astype(np.float32)
    files = [f"{label + 1}_img{n}.png" for n, label in enumerate(y_true)]
    write_predictions(tmp_path / "p.csv", files, y_true, probs)
    table = read_predictions(tmp_path / "p.csv")
    assert table.columns.tolist() == ["file", "true", "predicted", "p_akiec", "p_bcc", "p_bkl", "p_df", "p_mel",
                                      "p_nv", "p_vasc"] == PREDICTION_COLUMNS
    assert table["file"].tolist() == files and table["true"].tolist() == ["akiec", "mel", "mel", "nv", "vasc"]
    assert (true_labels(table) == y_true).all()
    assert (predicted_labels(table) == probs.argmax(axis=1)).all()
    assert np.allclose(probabilities(table), probs, rtol=1e-7, atol=1e-12)


@pytest.fixture
def runs(tmp_path):
    """A runs root holding one finished stage (a random Small at 64 px) without saved predictions."""
    make_finished_stage(tmp_path, "small_finetune")
    return tmp_path


def test_a_run_folder_without_predictions_gets_them_from_best_pt_once(runs, capsys, monkeypatch):
    table = saved.stage_predictions(runs, "small_finetune", SAMPLE, "val", CPU)
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and "predictions_val.csv is missing" in printed
    assert "predicted once from best.pt" in printed
    model, _ = load_stage_model(runs, "small_finetune")
    files, y_true, expected = saved.predict_dataset(model, SkinLesionDataset(SAMPLE / "val"), 64, CPU)
    assert table["file"].tolist() == files.tolist() and (true_labels(table) == y_true).all()
    assert np.allclose(probabilities(table), expected, atol=1e-6)
    monkeypatch.setattr(saved, "predict_split", lambda *args: pytest.fail("predicted the same images twice"))
    again = saved.stage_predictions(runs, "small_finetune", SAMPLE, "val", CPU)
    assert capsys.readouterr().out == ""
    pd.testing.assert_frame_equal(again, table)


def test_predictions_for_other_images_are_made_again_with_one_line(runs, tmp_path, capsys):
    run_dir = runs / "small_finetune"
    y_true = np.array([4, 5])
    write_predictions(predictions_path(run_dir, "test"), ["5_a.png", "6_b.png"], y_true,
                      simulated_probabilities(y_true))
    table = saved.stage_predictions(runs, "small_finetune", SAMPLE, "test", CPU)
    assert len(table) == 35
    expected = "predictions_test.csv lists other images than the data's test/ folder: predicted again"
    assert expected in capsys.readouterr().out


def test_the_test_split_is_predicted_by_notebook_6_and_read_afterwards(runs, capsys, monkeypatch):
    make_finished_stage(runs, "large_finetune", seed=1)
    comparison.test_results(runs, SAMPLE, CPU, runs / "comparison")
    for stage in ("large_finetune", "small_finetune"):
        assert read_predictions(predictions_path(runs / stage, "test"))["file"].str.endswith(".png").all()
    capsys.readouterr()
    monkeypatch.setattr(saved, "predict_split", lambda *args: pytest.fail("predicted the same images twice"))
    first = (runs / "comparison" / "test_metrics.json").read_text()
    comparison.test_results(runs, SAMPLE, CPU, runs / "comparison")
    assert capsys.readouterr().out == "" and (runs / "comparison" / "test_metrics.json").read_text() == first


def drop_a_column(table):
    return table.drop(columns="p_mel").to_csv(index=False)


def probability_above_one(table):
    return table.assign(p_nv=table["p_nv"] + 1.5).to_csv(index=False)


def rows_not_summing_to_one(table):
    return table.assign(p_nv=table["p_nv"] * 0.5).to_csv(index=False)


def unknown_class_code(table):
    return table.assign(true=table["true"].replace({"mel": "melanoma"})).to_csv(index=False)


def predicted_is_not_the_most_probable(table):
    return table.assign(predicted=[CLASS_CODES[(CLASS_CODES.index(p) + 1) % 7] for p in table["predicted"]]
                        ).to_csv(index=False)


def cut_off_mid_row(table):
    text = table.to_csv(index=False)
    return text[: len(text) // 2]


def not_a_csv(table):
    return "\x00\x01binary\xff" * 50


def empty_file(table):
    return ""


@pytest.mark.parametrize("damage", [drop_a_column, probability_above_one, rows_not_summing_to_one,
                                    unknown_class_code, predicted_is_not_the_most_probable, cut_off_mid_row,
                                    not_a_csv, empty_file], ids=lambda f: f.__name__)
def test_a_damaged_predictions_file_is_one_line_naming_it(damage, tmp_path):
    run_dir = make_finished_stage(tmp_path, "small_finetune")
    write_simulated_predictions(run_dir, "val", SAMPLE)
    path = predictions_path(run_dir, "val")
    path.write_text(damage(pd.read_csv(path)))
    with pytest.raises(PredictionsError) as caught:
        saved.stage_predictions(tmp_path, "small_finetune", SAMPLE, "val", CPU)
    message = one_line(caught.value)
    assert message == str(caught.value) and message.startswith(f"{path}: damaged (")
    assert "delete it and rerun this notebook" in message
