"""Notebook settings: smoke mode, data and run folders from the environment, prerequisites."""

import pytest

from skinkit.notebook import SMOKE_EPOCHS, SMOKE_IMAGE_SIZE, setup
from skinkit.stage import MissingPrerequisite

from .helpers import SAMPLE


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("SKINKIT_SMOKE", "SKINKIT_DATA", "SKINKIT_RUNS"):
        monkeypatch.delenv(name, raising=False)


def test_smoke_mode_shrinks_the_run_and_uses_the_sample(monkeypatch, capsys):
    monkeypatch.setenv("SKINKIT_SMOKE", "1")
    settings = setup("large_frozen", epochs=12)
    assert settings.smoke and settings.recipe.epochs == SMOKE_EPOCHS
    assert settings.image_size == SMOKE_IMAGE_SIZE
    assert settings.data_root == SAMPLE and settings.runs_root.name == "smoke"
    out = capsys.readouterr().out
    assert "smoke mode: ON" in out and "bundled sample" in out and "torch " in out


def test_parameters_override_the_recipe(tmp_path):
    settings = setup("small_frozen", runs_root=tmp_path, epochs=3, lr=0.01, train_batch_size=8)
    assert (settings.recipe.epochs, settings.recipe.lr, settings.recipe.train_batch_size) == (3, 0.01, 8)
    assert settings.recipe.class_weights == (3.0, 3.0, 2.0, 5.0, 3.0, 1.0, 6.0)


def test_environment_points_at_data_and_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SKINKIT_DATA", str(tmp_path / "course"))
    monkeypatch.setenv("SKINKIT_RUNS", str(tmp_path / "runs"))
    settings = setup()
    assert settings.data_root == tmp_path / "course" and settings.runs_root == tmp_path / "runs"
    assert "SKINKIT_DATA" in capsys.readouterr().out


@pytest.mark.parametrize("stage, notebook", [("large_finetune", "02_large_training.ipynb"),
                                             ("small_finetune", "04_small_training.ipynb")])
def test_out_of_order_stops_naming_the_notebook_to_run_first(tmp_path, stage, notebook):
    with pytest.raises(MissingPrerequisite, match=notebook):
        setup(stage, runs_root=tmp_path)


def test_comparison_needs_all_four_stages(tmp_path):
    with pytest.raises(MissingPrerequisite, match="02_large_training.ipynb"):
        setup(runs_root=tmp_path, requires=["large_frozen", "small_frozen"])


def test_settings_print_as_a_short_table(tmp_path, capsys):
    setup("small_frozen", runs_root=tmp_path, select_by="accuracy")
    lines = capsys.readouterr().out.splitlines()
    assert "  kept epoch     highest validation accuracy" in lines
    assert any(line.startswith("  class weights  akiec 3, bcc 3") for line in lines)
    table = [line for line in lines if line.startswith("  ")]
    assert len(table) == 10 and all(len(line) < 90 for line in table), "a settings line would wrap"
