"""Notebook settings: smoke mode, data and run folders from the environment, prerequisites."""

import json
import re
import shutil
import warnings

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from skinkit.__main__ import build_parser, main
from skinkit.data.dataset import DatasetError
from skinkit.notebook import SMOKE_EPOCHS, SMOKE_IMAGE_SIZE, setup
from skinkit.reporting import data_overview as explore
from skinkit.training.models import PretrainedWeightsWarning
from skinkit.training.recipes import NOTEBOOK_OF_STAGE, RECIPES
from skinkit.training.stage import MissingPrerequisite

from .helpers import ROOT, SAMPLE


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
    assert settings.recipe.class_weights == RECIPES["small_frozen"].class_weights  # not overridden: kept


def test_environment_points_at_data_and_runs(monkeypatch, tmp_path, capsys):
    shutil.copytree(SAMPLE / "train", tmp_path / "course" / "train")
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


@pytest.mark.parametrize("make, problem", [(lambda p: p / "missing", "no such folder"),
                                           (lambda p: p, "no train/ folder")])
def test_a_data_root_that_is_not_a_dataset_stops_before_anything_runs(monkeypatch, tmp_path, capsys,
                                                                      make, problem):
    monkeypatch.setenv("SKINKIT_DATA", str(make(tmp_path)))
    with pytest.raises(DatasetError, match=problem) as error:
        setup()
    assert str(make(tmp_path)) in str(error.value) and "unset SKINKIT_DATA" in str(error.value)
    assert capsys.readouterr().out == ""


def test_a_training_notebook_needs_the_validation_split_too(tmp_path):
    shutil.copytree(SAMPLE / "train", tmp_path / "train")
    with pytest.raises(DatasetError, match="no val/ folder") as error:
        setup("small_frozen", data_root=tmp_path)
    assert "DATA_ROOT in the parameters cell" in str(error.value)


def test_badly_named_training_file_is_named_at_setup(tmp_path):
    shutil.copytree(SAMPLE / "train", tmp_path / "train")
    (tmp_path / "train" / "8_x.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="8_x.jpg: the file name must start with a class digit"):
        setup(data_root=tmp_path)


def test_load_splits_requires_the_training_split(tmp_path):
    shutil.copytree(SAMPLE / "val", tmp_path / "val")
    with pytest.raises(DatasetError, match="no train/ folder"):
        explore.load_splits(tmp_path)


def test_notebook_01_on_missing_data_fails_at_setup_with_one_clear_message(monkeypatch, tmp_path):
    """Run headless like nbval/nbclient: the cell fails, and its saved output is the message alone."""
    monkeypatch.setenv("SKINKIT_DATA", str(tmp_path / "missing"))
    notebook = nbformat.read(ROOT / "notebooks" / "01_data_exploration.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    with pytest.raises(CellExecutionError):
        client.execute()
    errors = [(cell, output) for cell in notebook.cells for output in cell.get("outputs", [])
              if output.output_type == "error"]
    assert len(errors) == 1
    cell, error = errors[0]
    assert "setup(" in cell.source and error.ename == "DatasetError"
    message = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in error.traceback)
    assert message.startswith("Data problem: ") and "Traceback" not in message and "File " not in message
    assert f"{tmp_path / 'missing'}: no such folder" in message


def run_setup_cells(notebook, **injected):
    """A notebook's parameters and set-up cells run in one namespace, `injected` set in between (as papermill does)."""
    parameters, setup_cell = [cell.source for cell in nbformat.read(ROOT / "notebooks" / notebook, as_version=4).cells
                              if cell.cell_type == "code"][:2]
    namespace = {}
    exec(parameters, namespace)
    namespace.update(injected)
    exec(setup_cell, namespace)
    return namespace["settings"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """(data, run folder): small_frozen trained by the command line at its defaults, 1 epoch, as a student would."""
    data, runs = tmp_path_factory.mktemp("one_per_class"), tmp_path_factory.mktemp("cli_runs")
    for split in ("train", "val"):  # one image per class keeps a 224-pixel epoch short
        (data / split).mkdir()
        for digit in range(1, 8):
            shutil.copy(min((SAMPLE / split).glob(f"{digit}_*.png")), data / split)
    assert main(["train", "--stage", "small_frozen", "--data", str(data), "--runs", str(runs), "--epochs", "1",
                 "--pretrained", "false", "--device", "cpu"]) == 0
    return data, runs / "small_frozen"


@pytest.fixture
def offline(monkeypatch):
    """No ImageNet weights, as on a machine without internet (the command line ran with --pretrained false)."""
    def unavailable(weights):
        raise OSError("offline")

    monkeypatch.setattr("skinkit.training.models.fetch_state_dict", unavailable)


def run_notebook_cells(notebook, until, **injected):
    """A notebook's code cells run in one namespace up to the first containing `until`, `injected` after parameters."""
    parameters, *cells = [cell.source for cell in nbformat.read(ROOT / "notebooks" / notebook, as_version=4).cells
                          if cell.cell_type == "code"]
    namespace = {}
    exec(parameters, namespace)
    namespace.update(injected)
    for source in cells:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PretrainedWeightsWarning)
            exec(source, namespace)
        if until in source:
            return namespace
    raise AssertionError(f"{notebook} has no cell with {until!r}")


@pytest.mark.parametrize("old_kit_config", [False, True], ids=["this kit", "image_size None from an older kit"])
def test_a_stage_trained_from_the_command_line_is_loaded_by_its_notebook(cli_run, tmp_path, capsys, offline,
                                                                       old_kit_config):
    """The command line at its defaults and notebook 04's cells at its parameters describe the same run."""
    data, trained = cli_run
    run_dir = shutil.copytree(trained, tmp_path / "small_frozen")
    if old_kit_config:
        config = json.loads((run_dir / "config.json").read_text())
        (run_dir / "config.json").write_text(json.dumps({**config, "image_size": None}))
    written = {path.name: path.stat().st_mtime_ns for path in run_dir.iterdir()}
    capsys.readouterr()
    result = run_notebook_cells("04_small_training.ipynb", "train_model(", DATA_ROOT=data, RUNS_ROOT=tmp_path,
                                EPOCHS=1)["result"]
    assert "small_frozen already finished — loaded from" in capsys.readouterr().out
    assert [path.name for path in tmp_path.iterdir()] == ["small_frozen"], "the run was moved aside"
    assert {path.name: path.stat().st_mtime_ns for path in run_dir.iterdir()} == written
    assert result.metrics == json.loads((run_dir / "metrics.json").read_text())


def test_the_notebook_cells_train_what_the_command_line_trains(cli_run, tmp_path, offline):
    """Notebook 04's cells, run on an empty run folder, write the config.json and history of the command line."""
    data, trained = cli_run
    run_notebook_cells("04_small_training.ipynb", "train_model(", DATA_ROOT=data, RUNS_ROOT=tmp_path, EPOCHS=1)
    folders = (tmp_path / "small_frozen", trained)
    notebook, cli = (json.loads((folder / "config.json").read_text()) for folder in folders)
    assert {k: v for k, v in notebook.items() if k != "created"} == {k: v for k, v in cli.items() if k != "created"}
    history = [pd.read_csv(folder / "history.csv").drop(columns="seconds") for folder in folders]
    pd.testing.assert_frame_equal(*history)


def test_a_changed_class_weight_list_is_recorded_in_config_json(cli_run, tmp_path, offline):
    data, _ = cli_run
    namespace = run_notebook_cells("04_small_training.ipynb", "train_model(", DATA_ROOT=data, RUNS_ROOT=tmp_path,
                                   EPOCHS=1, CLASS_WEIGHTS=[1, 1, 1, 9, 1, 1, 1])
    assert json.loads((tmp_path / "small_frozen" / "config.json").read_text())["class_weights"] == [1, 1, 1, 9, 1, 1, 1]
    assert namespace["criterion"].weight.tolist() == [1, 1, 1, 9, 1, 1, 1]


@pytest.mark.parametrize("stage", RECIPES)
def test_each_training_notebook_runs_its_recipe_at_the_command_line_defaults(tmp_path, stage):
    for earlier in RECIPES:  # set-up only checks that earlier stages have finished
        (tmp_path / earlier).mkdir()
        (tmp_path / earlier / "best.pt").touch()
        (tmp_path / earlier / "metrics.json").touch()
    settings = run_setup_cells(NOTEBOOK_OF_STAGE[stage], DATA_ROOT=SAMPLE, RUNS_ROOT=tmp_path)
    cli = build_parser().parse_args(["train", "--stage", stage, "--data", str(SAMPLE)])
    assert settings.recipe == RECIPES[stage]
    assert (settings.image_size, settings.seed, settings.resume) == (cli.image_size, cli.seed, not cli.no_resume)
