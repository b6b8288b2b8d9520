"""Expected errors end as one line: `python -m skinkit` exits 2; IPython shows title and message only."""

import re
import shutil
import subprocess
import sys

import pytest
import torch
from IPython.core.interactiveshell import InteractiveShell

from skinkit import errors
from skinkit.__main__ import main
from skinkit.data.dataset import DatasetError
from skinkit.errors import CheckpointError, KitError, PrepareError, one_line
from skinkit.grading.errors import GradingInputError
from skinkit.training.models import PretrainedWeightsUnavailable
from skinkit.training.stage import MissingPrerequisite

from .helpers import ROOT, SAMPLE

EXPECTED = [(DatasetError, ValueError), (MissingPrerequisite, RuntimeError),
            (PretrainedWeightsUnavailable, RuntimeError), (PrepareError, ValueError),
            (GradingInputError, ValueError), (CheckpointError, ValueError)]


@pytest.mark.parametrize("error, old_base", EXPECTED, ids=lambda e: e.__name__)
def test_expected_errors_share_one_base_and_keep_their_old_one(error, old_base):
    assert issubclass(error, KitError) and issubclass(error, old_base)
    assert error.title != KitError.title


def test_one_line_collapses_newlines():
    assert one_line(DatasetError("a\n  b\tc")) == "a b c"


def test_one_line_can_be_cut_to_a_limit():
    assert one_line(ValueError("x\n" * 300), limit=200) == "x " * 100
    assert one_line(ValueError("x\n" * 300)) == " ".join(["x"] * 300)


# --- the command line -------------------------------------------------------------


def sample_copy(tmp_path):
    """A writable copy of the bundled sample's train/ and val/."""
    for split in ("train", "val"):
        shutil.copytree(SAMPLE / split, tmp_path / "data" / split)
    return tmp_path / "data"


def empty_data(tmp_path):
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def badly_named_file(tmp_path):
    data = sample_copy(tmp_path)
    shutil.copy(next((data / "train").glob("*.png")), data / "train" / "8_x.jpg")
    return data


def truncated_png(tmp_path):
    data = sample_copy(tmp_path)
    victim = sorted((data / "val").glob("*.png"))[3]
    victim.write_bytes(victim.read_bytes()[:300])
    return data


BAD_DATA = {
    "missing": (lambda p: p / "missing", "missing/train: no such folder"),
    "empty": (empty_data, "data/train: no such folder"),
    "file named 8_x.jpg": (badly_named_file, "8_x.jpg: the file name must start with a class digit"),
    "truncated png": (truncated_png, "cannot be read as an image"),
}


def run_main(capsys, *argv):
    """main(argv) -> (exit code, stdout, stderr)."""
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


@pytest.mark.parametrize("case", BAD_DATA)
def test_train_on_bad_data_prints_one_line_and_exits_2(capsys, tmp_path, case):
    make, fragment = BAD_DATA[case]
    data = make(tmp_path)
    code, _, err = run_main(capsys, "train", "--stage", "small_frozen", "--data", data,
                            "--runs", tmp_path / "runs", "--epochs", "1", "--image-size", "32")
    assert code == 2
    assert_one_line(err, "train: ", fragment)


@pytest.mark.parametrize("device", ["foo", "cuda:x"])
def test_train_on_a_device_name_that_is_none_prints_one_line(capsys, tmp_path, device):
    code, _, err = run_main(capsys, "train", "--stage", "small_frozen", "--data", SAMPLE,
                            "--runs", tmp_path / "runs", "--device", device)
    assert code == 2 and not (tmp_path / "runs").exists()
    assert_one_line(err, "train: ", repr(device), "use cuda, mps or cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_train_on_a_device_this_machine_lacks_prints_one_line(capsys, tmp_path):
    code, _, err = run_main(capsys, "train", "--stage", "small_frozen", "--data", SAMPLE,
                            "--runs", tmp_path / "runs", "--device", "cuda")
    assert code == 2
    assert_one_line(err, "train: this machine has no cuda device")


def test_an_unknown_pretrained_choice_is_an_argparse_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--stage", "small_frozen", "--data", str(SAMPLE), "--pretrained", "maybe"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    assert "argument --pretrained: invalid choice: 'maybe'" in err.splitlines()[-1]


def test_train_out_of_order_names_the_stage_to_run_first(capsys, tmp_path):
    code, _, err = run_main(capsys, "train", "--stage", "small_finetune", "--data", SAMPLE,
                            "--runs", tmp_path)
    assert code == 2
    assert_one_line(err, "train: No finished 'small_frozen' run", "04_small_training.ipynb")


def test_unreadable_checkpoint_prints_one_line(capsys, tmp_path):
    earlier = tmp_path / "small_frozen"
    earlier.mkdir()
    (earlier / "best.pt").write_bytes(b"not a checkpoint")
    (earlier / "metrics.json").write_text("{}")
    code, _, err = run_main(capsys, "train", "--stage", "small_finetune", "--data", SAMPLE,
                            "--runs", tmp_path)
    assert code == 2
    assert_one_line(err, "best.pt: not a readable skinkit checkpoint")


def test_required_weights_absent_print_one_line(capsys, tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr("torchvision.models.WeightsEnum.get_state_dict", offline)
    code, _, err = run_main(capsys, "train", "--stage", "small_frozen", "--data", SAMPLE,
                            "--runs", tmp_path / "runs", "--pretrained", "true")
    assert code == 2
    assert_one_line(err, "train: ImageNet weights for MobileNetV3-Small are not available")


def test_prepare_error_prints_one_line(capsys, tmp_path):
    code, _, err = run_main(capsys, "prepare", "--ham10000", tmp_path / "nowhere", "--out", tmp_path / "out")
    assert code == 2
    assert_one_line(err, "HAM10000_metadata.csv: metadata CSV not found")


def test_unexpected_errors_keep_their_traceback(monkeypatch):
    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr("skinkit.__main__.train_command", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["train", "--stage", "small_frozen", "--data", str(SAMPLE)])


def test_subprocess_has_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "skinkit", "train", "--stage", "small_frozen",
                             "--data", str(tmp_path / "missing")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert_one_line(result.stderr, "train: ", "missing/train: no such folder")


# --- notebooks (IPython) -----------------------------------------------------------


def plain(lines):
    """Rendered traceback lines without their colour codes."""
    return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]


def test_ipython_shows_the_title_and_message_only():
    lines = DatasetError("x.png: cannot be read\nas an image")._render_traceback_()
    assert plain(lines) == ["Data problem: x.png: cannot be read as an image"]


def test_ipython_wraps_a_long_message_between_words_and_never_inside_a_path():
    path = "/home/student/" + "very-long-folder-name/" * 6 + "large_finetune"
    message = f"No finished 'large_finetune' run in {path}. Run notebooks/03_large_finetuning.ipynb first, " \
              "with the same settings, then run this notebook again from the top."
    lines = plain(MissingPrerequisite(message)._render_traceback_())
    assert len(lines) > 1
    assert " ".join(lines) == f"{MissingPrerequisite.title}: {message}"
    assert f"{path}." in lines  # too long for a line, so it stands alone instead of being cut
    assert all(len(line) <= errors.NOTEBOOK_LINE_WIDTH for line in lines if line != f"{path}.")


@pytest.fixture
def shell():
    yield InteractiveShell.instance()
    InteractiveShell.clear_instance()


def test_a_cell_raising_a_kit_error_fails_with_one_line(shell, capsys, tmp_path):
    result = shell.run_cell(f"from skinkit.notebook import setup\nsetup(data_root={str(tmp_path)!r})")
    out = capsys.readouterr().out
    assert not result.success and isinstance(result.error_in_exec, DatasetError)
    assert "Traceback" not in out and "Data problem:" in out.splitlines()[0]
    assert f"{tmp_path}: no train/ folder" in " ".join(plain(out.split("\n")))


def test_other_errors_keep_their_ipython_traceback(shell, capsys):
    result = shell.run_cell("raise RuntimeError('a bug')")
    assert not result.success
    assert "Traceback" in capsys.readouterr().out
