"""The precision chosen per device (a pure function, no GPU needed), and the scaler's state in last.pt."""

from contextlib import nullcontext
from datetime import datetime

import pytest
import torch

from skinkit.training.loop import TrainingResult
from skinkit.training.precision import Precision, PrecisionError, choose_precision, precision_for
from skinkit.training.resume import checkpoint_state, restore, same_run
from skinkit.training.run_folders import load_checkpoint, save_checkpoint

# (device type, compute capability, native bf16, requested) -> precision
CHOICES = [
    ("cpu", None, False, "auto", "fp32"),
    ("mps", None, False, "auto", "fp32"),
    ("cuda", (9, 0), True, "auto", "fp32"),     # H100: bf16 measured no faster than fp32 + TF32
    ("cuda", (8, 0), True, "auto", "fp32"),     # A100
    ("cuda", (8, 6), True, "auto", "fp32"),     # RTX 30xx
    ("cuda", (7, 5), False, "auto", "fp16"),    # Colab's T4: no TF32, no native bf16
    ("cuda", (7, 0), False, "auto", "fp16"),    # V100
    ("cuda", (6, 1), False, "auto", "fp32"),    # GTX 10xx: no tensor cores
    ("cuda", (9, 0), True, "bf16", "bf16"),
    ("cuda", (9, 0), True, "fp16", "fp16"),
    ("cuda", (7, 5), False, "fp16", "fp16"),
    ("cuda", (7, 5), False, "fp32", "fp32"),
    ("cpu", None, False, "fp32", "fp32"),
    ("mps", None, False, "fp32", "fp32"),
]


@pytest.mark.parametrize("device_type, capability, native_bf16, requested, expected", CHOICES)
def test_precision_table(device_type, capability, native_bf16, requested, expected):
    assert choose_precision(device_type, capability, native_bf16, requested) == expected


@pytest.mark.parametrize("device_type, capability, native_bf16, requested, message", [
    ("cuda", (7, 5), False, "bf16", "no native bf16"),  # emulated bf16 is slow: refused
    ("cpu", None, False, "bf16", "needs a CUDA GPU"),
    ("mps", None, False, "fp16", "needs a CUDA GPU"),
    ("cuda", (9, 0), True, "half", "unknown precision"),
])
def test_impossible_requests_say_what_to_use(device_type, capability, native_bf16, requested, message):
    with pytest.raises(PrecisionError, match=message):
        choose_precision(device_type, capability, native_bf16, requested)


@pytest.mark.parametrize("device_type", ["cpu", "mps"])
def test_cpu_and_mps_train_in_plain_fp32(device_type):
    precision = precision_for(torch.device(device_type))
    assert precision.name == "fp32" and not precision.scaler.is_enabled()
    assert isinstance(precision.autocast(), nullcontext)


def fp16_steps(precision, model, optimizer, steps):
    """`steps` fp16 training steps of a linear model on ones; returns the dtype of the last output."""
    for _ in range(steps):
        optimizer.zero_grad()
        with precision.autocast():
            output = model(torch.ones(3, 4))
        precision.backward_and_step(output.float().sum(), optimizer)
    return output.dtype


def test_fp16_steps_go_through_the_gradient_scaler():
    precision = Precision("fp16", "cpu")  # CPU autocast knows fp16 too: the code path without a GPU
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.detach().clone()
    # 65536 x these gradients overflows fp16: the scaler skips the step and halves its scale.
    assert fp16_steps(precision, model, optimizer, 1) == torch.float16
    assert torch.equal(model.weight, before) and precision.scaler.get_scale() == 32768.0
    fp16_steps(precision, model, optimizer, 3)
    assert not torch.equal(model.weight, before)


def last_checkpoint(tmp_path, scaler):
    """A last.pt written and read back the way run_stage does it, for a one-parameter model."""
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    result = TrainingResult(loss_list=[1.0], accuracy_list=[0.5], lr_list=[1e-3], seconds_list=[1.0],
                            best_epoch=0, best_state={}, start_time=datetime.now())
    state = checkpoint_state({}, result, model, optimizer, scheduler, torch.Generator(), scaler)
    save_checkpoint(tmp_path / "last.pt", state)
    return load_checkpoint(tmp_path / "last.pt"), model, optimizer, scheduler


def test_the_gradient_scalers_state_survives_last_pt(tmp_path):
    trained = Precision("fp16", "cpu")
    model = torch.nn.Linear(4, 2)
    fp16_steps(trained, model, torch.optim.SGD(model.parameters(), lr=0.1), 5)  # overflows, then steps
    checkpoint, model, optimizer, scheduler = last_checkpoint(tmp_path, trained.scaler)
    resumed = Precision("fp16", "cpu")
    restore(checkpoint, model, optimizer, scheduler, torch.Generator(), resumed.scaler)
    assert resumed.scaler.get_scale() == trained.scaler.get_scale() < 65536.0
    assert resumed.scaler.state_dict() == trained.scaler.state_dict()


def test_an_fp32_checkpoint_resumes_with_a_fresh_scaler(tmp_path):
    checkpoint, model, optimizer, scheduler = last_checkpoint(tmp_path, Precision("fp32", "cpu").scaler)
    assert checkpoint["grad_scaler"] == {}
    resumed = torch.amp.GradScaler("cpu", init_scale=64.0)
    restore(checkpoint, model, optimizer, scheduler, torch.Generator(), resumed)
    assert resumed.get_scale() == 64.0


def test_run_folders_from_before_the_precision_key_still_resume():
    old = {"stage": "small_frozen", "lr": 1e-3, "device": "cuda"}
    assert same_run(old, {**old, "precision": "fp32"})
    assert same_run({**old, "precision": "fp16"}, {**old, "device": "cuda:0", "precision": "fp32"})
    assert not same_run(old, {**old, "lr": 1e-4})
