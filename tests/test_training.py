"""train_model: the loss falls on real images; per-epoch scores; the kept-epoch rules; scheduler stepping."""

import pytest
import torch
from sklearn import metrics
from torch import nn

from skinkit.data.augment import BatchAugment
from skinkit.data.dataset import SkinLesionDataset
from skinkit.data.loaders import make_loader
from skinkit.training.loop import (
    TrainingResult,
    kept_epoch,
    pick_device,
    predict_labels,
    seed_everything,
    step_scheduler,
)
from skinkit.training.models import build_model
from skinkit.training.stage import train_model

from .helpers import SAMPLE


def test_training_loss_falls_on_the_bundled_sample():
    seed_everything(0)
    device = torch.device("cpu")
    train = SkinLesionDataset(SAMPLE / "train")
    plain = BatchAugment("small", image_size=64, train=False)
    loader = make_loader(train, plain, 35, device, shuffle=True, num_workers=0,
                         generator=torch.Generator().manual_seed(0))
    model = build_model("small", pretrained=False, freeze_base=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    result = train_model(model, loader, loader, nn.CrossEntropyLoss(), optimizer, n_epochs=6, device=device)
    assert len(result.loss_list) == len(result.balanced_accuracy_list) == len(result.models_list) == 6
    assert result.loss_list[-1] < 0.7 * result.loss_list[0]
    assert result.start_time < result.end_time
    best = result.best_epoch
    assert result.balanced_accuracy_list[best] == max(result.balanced_accuracy_list)
    assert all(torch.equal(result.model.state_dict()[k].cpu(), v) for k, v in result.best_state.items())
    for epoch, state in enumerate(result.models_list):  # the recorded scores are scikit-learn's
        model.load_state_dict(state)
        true, predicted = predict_labels(model, loader, device)
        assert result.accuracy_list[epoch] == metrics.accuracy_score(true, predicted)
        assert result.balanced_accuracy_list[epoch] == metrics.balanced_accuracy_score(true, predicted)
        assert result.macro_f1_list[epoch] == pytest.approx(
            metrics.f1_score(true, predicted, labels=range(7), average="macro", zero_division=0))


# Epochs 1-3 answer `nv` for every image (accuracy 0.67, balanced accuracy 1/7); epoch 4 learns.
ALL_NV_FIRST = TrainingResult(loss_list=[1.8, 1.6, 1.5, 1.2], accuracy_list=[0.67, 0.67, 0.67, 0.57],
                              balanced_accuracy_list=[1 / 7, 1 / 7, 1 / 7, 0.43])


def test_balanced_accuracy_does_not_keep_the_all_majority_epoch():
    assert ALL_NV_FIRST.kept_epoch("balanced_accuracy") == 3


def test_the_reports_accuracy_rule_keeps_it_with_ties_going_to_the_lower_loss():
    assert ALL_NV_FIRST.kept_epoch("accuracy") == 2


@pytest.mark.parametrize("scores, losses, kept", [
    ([0.5, 0.6], [1.0, 2.0], 1),       # a higher score wins whatever the loss
    ([0.5, 0.5], [1.0, 0.9], 1),       # a tie goes to the lower training loss
    ([0.5, 0.5], [1.0, 1.1], 0),
    ([0.5, 0.4], [1.0, 0.1], 0),
    ([0.5, 0.5], [1.0, 1.0], 0),       # a full tie keeps the earlier epoch
])
def test_kept_epoch_rule(scores, losses, kept):
    assert kept_epoch(scores, losses) == kept


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step")  # nothing is trained here
def test_step_lr_steps_each_epoch_and_plateau_gets_the_accuracy():
    params = [nn.Parameter(torch.zeros(1))]
    step = torch.optim.lr_scheduler.StepLR(torch.optim.Adam(params, lr=1.0), step_size=1, gamma=0.5)
    step_scheduler(step, val_accuracy=0.3)
    assert step.get_last_lr() == [0.5]
    optimizer = torch.optim.Adam(params, lr=1.0)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", patience=0, factor=0.5)
    for accuracy in (0.5, 0.5, 0.5):
        step_scheduler(plateau, val_accuracy=accuracy)
    assert optimizer.param_groups[0]["lr"] < 1.0


def test_device_helper_prefers_an_accelerator():
    device = pick_device()
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert device.type == expected
