"""train_model: the loss falls on real images; the seed's best-model rule; scheduler stepping."""

import pytest
import torch
from torch import nn

from skinkit.augment import BatchAugment
from skinkit.data import SkinLesionDataset
from skinkit.loaders import make_loader
from skinkit.models import build_model
from skinkit.training import TrainingResult, pick_device, seed_everything, step_scheduler, train_model

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
    assert len(result.loss_list) == len(result.accuracy_list) == len(result.models_list) == 6
    assert result.loss_list[-1] < 0.7 * result.loss_list[0]
    assert result.start_time < result.end_time
    best = result.best_epoch
    assert result.accuracy_list[best] == max(result.accuracy_list)
    assert all(torch.equal(result.model.state_dict()[k].cpu(), v) for k, v in result.best_state.items())


@pytest.mark.parametrize("history, candidate, better", [
    (([0.5], [1.0]), (0.6, 2.0), True),    # higher accuracy wins whatever the loss
    (([0.5], [1.0]), (0.5, 0.9), True),    # a tie goes to the lower training loss
    (([0.5], [1.0]), (0.5, 1.1), False),
    (([0.5], [1.0]), (0.4, 0.1), False),
])
def test_best_model_rule_of_the_seed(history, candidate, better):
    accuracies, losses = history
    result = TrainingResult(accuracy_list=accuracies, loss_list=losses, best_epoch=0)
    assert result.is_better(*candidate) is better


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
