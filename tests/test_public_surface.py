"""`from skinkit import ...` gives what notebooks and scripts call, and docs/development.md lists exactly that.

The names are imported on first use, so `import skinkit` alone does not load PyTorch.
"""

import re

import pytest

import skinkit

from .helpers import ROOT, fresh_python

# What notebooks and outside scripts call (issue 20): importable from skinkit itself, whatever the layout.
CALLED_FROM_OUTSIDE = {"run_stage", "load_stage_model", "RECIPES", "summary_metrics", "test_results",
                       "evaluate_test_split", "build_model", "BatchAugment", "OVERSAMPLING_WEIGHTS",
                       "LESION_CLASSES", "CLASS_WEIGHTS_LARGE_TRAIN", "pick_device", "count_parameters",
                       "train_model", "imagenet_state", "seed_everything"}


def documented_surface():
    """The names in backticks in docs/development.md's section on the public surface."""
    text = (ROOT / "docs" / "development.md").read_text()
    section = text.split("## The public surface of `skinkit`", 1)[1].split("\n## ", 1)[0]
    [listed] = [part for part in section.split("\n\n") if part.startswith("- ")]  # the one bullet list
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", listed))


def test_every_public_name_is_importable():
    for name in skinkit.__all__:
        assert hasattr(skinkit, name), name
    assert set(skinkit.__all__) >= CALLED_FROM_OUTSIDE


def test_the_per_image_transforms_are_not_public():
    assert not {"train_transform", "eval_transform"} & set(dir(skinkit))


def test_docs_list_the_public_surface():
    assert documented_surface() == set(skinkit.__all__)


def test_star_import_gives_every_public_name():
    namespace = {}
    exec("from skinkit import *", namespace)
    assert set(skinkit.__all__) <= set(namespace)
    assert namespace["RECIPES"] is skinkit.training.recipes.RECIPES


def test_dir_lists_every_public_name_before_any_is_used():
    probe = "import skinkit; print(sorted(set(skinkit.__all__) - set(dir(skinkit))))"
    assert fresh_python(probe).stdout.split() == ["[]"]


def test_a_name_that_is_not_public_is_an_attribute_error():
    with pytest.raises(AttributeError, match="'skinkit' has no attribute 'train_transform'"):
        getattr(skinkit, "train_transform")  # noqa: B009 (the attribute access is what is tested)


def test_torch_is_imported_only_when_a_name_needs_it():
    probe = "import sys, skinkit; skinkit.{}; print('torch' in sys.modules)"
    assert fresh_python(probe.format("RECIPES, skinkit.KitError, skinkit.CLASS_CODES")).stdout.split() == ["False"]
    assert fresh_python(probe.format("build_model")).stdout.split() == ["True"]
