"""Models: the project report's heads, freezing, and honest handling of missing ImageNet weights."""

import urllib.error
import warnings

import pytest
import torch
from torch import nn
from torchvision import models as tv_models

from skinkit.classes import LESION_CLASSES
from skinkit.training.models import (
    PretrainedWeightsUnavailable,
    PretrainedWeightsWarning,
    build_model,
    count_parameters,
    imagenet_state,
    unfreeze,
    weights_file,
)
from skinkit.training.recipes import IMAGE_SIZE

from .helpers import fresh_python


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch cache and no network: the weights cannot be had."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(self, *args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(tv_models.WeightsEnum, "get_state_dict", no_network)
    return tmp_path / "torch"


# The report keeps torchvision's layer widths (base output -> hidden width) and sets its own dropout.
@pytest.mark.parametrize("name, torchvision_model, dropout",
                         [("large", tv_models.mobilenet_v3_large, 0.3), ("small", tv_models.mobilenet_v3_small, 0.2)])
def test_head_matches_the_project_report(name, torchvision_model, dropout):
    head = build_model(name, pretrained=False).classifier
    original = torchvision_model().classifier[0]
    assert [type(layer) for layer in head] == [nn.Linear, nn.Hardswish, nn.Dropout, nn.Linear]
    assert (head[0].in_features, head[0].out_features) == (original.in_features, original.out_features)
    assert (head[3].in_features, head[3].out_features) == (original.out_features, len(LESION_CLASSES))
    assert head[2].p == dropout


def test_frozen_base_trains_only_the_head_until_unfrozen():
    model = build_model("small", pretrained=False, freeze_base=True)
    head_params = count_parameters(model.classifier)
    assert count_parameters(model, trainable_only=True) == head_params == 576 * 1024 + 1024 + 1024 * 7 + 7
    unfreeze(model)
    assert count_parameters(model, trainable_only=True) == count_parameters(model) > head_params


def test_forward_gives_seven_logits():
    model = build_model("small", pretrained=False).eval()
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 7)


def test_auto_warns_loudly_and_records_random_init(offline):
    with pytest.warns(PretrainedWeightsWarning, match="RANDOM INITIALISATION"):
        model = build_model("large", pretrained="auto")
    assert model.pretrained is False


def test_required_weights_fail_with_where_to_put_them(offline):
    with pytest.raises(PretrainedWeightsUnavailable) as error:
        build_model("small", pretrained=True)
    message = str(error.value)
    assert str(weights_file("small")) in message and str(offline) in message
    assert "TORCH_HOME" in message and "pretrained=False" in message


def test_cached_weight_file_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda *a, **k: pytest.fail("the cached file should be used, not downloaded"))
    reference = tv_models.mobilenet_v3_small()
    path = weights_file("small")
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model = build_model("small", pretrained=True)
    assert model.pretrained is True
    assert torch.equal(model.features[0][0].weight, reference.features[0][0].weight)


def test_pretrained_false_never_touches_the_network(offline, recwarn):
    model = build_model("small", pretrained=False)
    assert model.pretrained is False
    assert not [w for w in recwarn if issubclass(w.category, PretrainedWeightsWarning)]


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("medium", pretrained=False)
    with pytest.raises(ValueError, match="pretrained must be"):
        build_model("small", pretrained="yes")


@pytest.fixture
def unreachable(monkeypatch, tmp_path):
    """An empty torch cache and a download that fails the way it does offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(url, dst, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)


def shown_warnings(monkeypatch, action):
    """The text of each warning `action` emits, formatted as it is emitted (as Jupyter's display does)."""
    shown = []

    def show(message, category, filename, lineno, file=None, line=None):
        shown.append(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        monkeypatch.setattr(warnings, "showwarning", show)
        action()
    return shown


def test_offline_warning_reads_as_a_message_not_a_traceback(unreachable, monkeypatch, capsys):
    [shown] = shown_warnings(monkeypatch, lambda: build_model("large", pretrained="auto"))
    assert shown.startswith("!!!") and "RANDOM INITIALISATION" in shown and '"pretrained": false' in shown
    assert "models.py" not in shown and "build_model" not in shown  # no path, no source line
    assert all(len(line) <= 80 for line in shown.splitlines() if not line.startswith("    "))
    printed = capsys.readouterr()
    assert "Downloading" not in printed.out + printed.err  # nothing was downloaded: no such line


def test_other_warnings_keep_their_usual_format_before_and_after(unreachable, monkeypatch):
    original = warnings.formatwarning
    build_model("small", pretrained=False)
    with pytest.warns(PretrainedWeightsWarning):
        imagenet_state("small")
    assert warnings.formatwarning is original  # the plain format held only while the kit warned
    [shown] = shown_warnings(monkeypatch, lambda: warnings.warn_explicit("look here", UserWarning, "somewhere.py", 7))
    assert shown.startswith("somewhere.py:7: UserWarning: look here")


# Imports the model module and has the kit warn once; prints whether the format is the one it found.
FORMAT_PROBE = """
import warnings
before = warnings.formatwarning
from skinkit.training import models
def offline(weights):
    raise OSError("offline")
models.fetch_state_dict = offline
with warnings.catch_warnings(record=True):
    models.imagenet_state("small")
print(warnings.formatwarning is before)
"""


def test_neither_the_import_nor_the_warning_changes_the_format_of_the_process():
    assert fresh_python(FORMAT_PROBE).stdout.split() == ["True"]


def test_downloading_line_is_shown_when_the_download_works(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    state = tv_models.mobilenet_v3_small().state_dict()
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: torch.save(state, dst))
    assert build_model("small", pretrained=True).pretrained is True
    printed = capsys.readouterr()
    assert "Downloading" in printed.out + printed.err


def test_the_default_image_size_is_the_crop_both_weights_were_trained_at():
    crops = {weights.transforms().crop_size[0] for weights in (tv_models.MobileNet_V3_Large_Weights.DEFAULT,
                                                               tv_models.MobileNet_V3_Small_Weights.DEFAULT)}
    assert crops == {IMAGE_SIZE}
