"""SkinLesionDataset and AugmentedDataset: course-format folders, grayscale decoding, oversampling."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from skinkit.data.dataset import AugmentedDataset, DatasetError, SkinLesionDataset, class_counts
from skinkit.training.recipes import OVERSAMPLING_WEIGHTS

from .conftest import SAMPLE_ROOT

HEIGHT, WIDTH = 12, 10


def rgb_pixels(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def write_png(path, seed=0):
    Image.fromarray(rgb_pixels(seed)).convert("L").save(path)
    return path


@pytest.fixture(scope="module")
def sample_train():
    return SkinLesionDataset(SAMPLE_ROOT / "train")


# --- the bundled sample through the dataset --------------------------------------------------

def test_sample_train_split_has_five_images_per_class(sample_train):
    assert len(sample_train) == 35
    assert isinstance(sample_train.img_labels, pd.DataFrame)
    assert list(sample_train.img_labels.columns) == ["file", "label"]
    assert sample_train.img_labels["label"].value_counts().sort_index().tolist() == [5] * 7


def test_sample_items_are_gray_uint8_images_with_int_labels(sample_train):
    for index in (0, len(sample_train) - 1):
        image, label = sample_train[index]
        assert image.shape == (1, 300, 300) and image.dtype == torch.uint8
        assert isinstance(label, int)
        assert label == int(sample_train.img_labels["file"].iat[index][0]) - 1


def test_img_labels_are_sorted_by_file_and_labels_follow_the_digit(tmp_path):
    for name in ("7_c.png", "1_b.png", "4_a.jpg", "2_z.JPG"):
        write_png(tmp_path / name)
    labels = SkinLesionDataset(tmp_path).img_labels
    assert labels["file"].tolist() == ["1_b.png", "2_z.JPG", "4_a.jpg", "7_c.png"]
    assert labels["label"].tolist() == [0, 1, 3, 6]


def test_every_class_digit_maps_to_its_label(tmp_path):
    for digit in range(1, 8):
        write_png(tmp_path / f"{digit}_ISIC_{digit}.png", seed=digit)
    dataset = SkinLesionDataset(tmp_path)
    assert [dataset[i][1] for i in range(7)] == list(range(7))


def test_transform_is_applied_to_each_item(tmp_path):
    write_png(tmp_path / "3_a.png")
    dataset = SkinLesionDataset(tmp_path, transform=lambda image: image.float() / 255)
    image, label = dataset[0]
    assert image.dtype == torch.float32 and image.min() >= 0 and image.max() <= 1
    assert label == 2


def test_uncached_images_match_cached_images(tmp_path):
    for digit in (1, 2, 3):
        write_png(tmp_path / f"{digit}_a.png", seed=digit)
    cached = SkinLesionDataset(tmp_path)
    uncached = SkinLesionDataset(tmp_path, cache_bytes=0)
    for index in range(3):
        assert torch.equal(cached[index][0], uncached[index][0])
        assert cached[index][1] == uncached[index][1]


# --- every storage format comes out one-channel uint8 -----------------------------------------

def save_rgb_png(path, pixels):
    Image.fromarray(pixels).save(path)


def save_rgba_png(path, pixels):
    Image.fromarray(pixels).convert("RGBA").save(path)


def save_palette_png(path, pixels):
    Image.fromarray(pixels).convert("P").save(path)


def save_gray_jpeg(path, pixels):
    Image.fromarray(pixels).convert("L").save(path)


def save_rgb_jpeg(path, pixels):
    Image.fromarray(pixels).save(path)


def save_16bit_png(path, pixels):
    Image.fromarray(pixels[..., 0].astype(np.uint16) * 257).save(path)


FORMATS = {
    "rgb.png": save_rgb_png, "rgba.png": save_rgba_png, "palette.png": save_palette_png,
    "gray.jpg": save_gray_jpeg, "rgb.jpg": save_rgb_jpeg, "16bit.png": save_16bit_png,
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_loads_as_one_channel_uint8(tmp_path, name):
    path = tmp_path / f"5_{name}"
    FORMATS[name](path, rgb_pixels())
    image, label = SkinLesionDataset(tmp_path)[0]
    assert image.shape == (1, HEIGHT, WIDTH) and image.dtype == torch.uint8
    assert label == 4
    reference = np.asarray(Image.open(path).convert("RGB").convert("L"), dtype=int)
    if name == "16bit.png":
        reference = rgb_pixels()[..., 0].astype(int)
    assert np.abs(image[0].numpy().astype(int) - reference).mean() < 3


def test_16bit_png_is_scaled_to_the_full_8bit_range(tmp_path):
    save_16bit_png(tmp_path / "1_deep.png", rgb_pixels())
    image, _ = SkinLesionDataset(tmp_path)[0]
    assert np.array_equal(image[0].numpy(), rgb_pixels()[..., 0])


# --- folder and file errors -------------------------------------------------------------------

def test_missing_folder_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "no_such_split"
    with pytest.raises(DatasetError, match="no such folder") as error:
        SkinLesionDataset(missing)
    assert str(missing) in str(error.value)


def test_empty_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(DatasetError, match="holds no images") as error:
        SkinLesionDataset(tmp_path)
    assert str(tmp_path) in str(error.value)


@pytest.mark.parametrize("name", ["0_x.png", "8_x.png", "9_x.jpg", "x.png", "12_x.png",
                                  "_x.png", "a_x.png", "5x.png"])
def test_file_without_a_class_digit_prefix_is_an_error_naming_it(tmp_path, name):
    write_png(tmp_path / "1_ok.png")
    write_png(tmp_path / name)
    with pytest.raises(DatasetError, match="class digit 1-7") as error:
        SkinLesionDataset(tmp_path)
    assert name in str(error.value)


def test_unreadable_image_is_an_error_naming_it(tmp_path):
    write_png(tmp_path / "1_ok.png")
    (tmp_path / "2_garbage.png").write_bytes(b"this is not a PNG at all" * 10)
    with pytest.raises(DatasetError, match="cannot be read as an image") as error:
        SkinLesionDataset(tmp_path)
    assert "2_garbage.png" in str(error.value)


def test_truncated_image_is_an_error_naming_it(tmp_path):
    good = write_png(tmp_path / "1_ok.png").read_bytes()
    (tmp_path / "3_cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match="cannot be read") as error:
        SkinLesionDataset(tmp_path)
    assert "3_cut.png" in str(error.value)


def test_non_image_file_is_an_error_naming_it(tmp_path):
    write_png(tmp_path / "1_ok.png")
    (tmp_path / "notes.txt").write_text("remember the milk")
    with pytest.raises(DatasetError, match="not a .png or .jpg") as error:
        SkinLesionDataset(tmp_path)
    assert "notes.txt" in str(error.value)


def test_dataset_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError)


def test_hidden_entries_are_ignored(tmp_path):
    write_png(tmp_path / "6_real.png")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 50)
    (tmp_path / "._6_real.png").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    checkpoints = tmp_path / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "0_bad-checkpoint.png").write_bytes(b"garbage")
    dataset = SkinLesionDataset(tmp_path)
    assert dataset.img_labels["file"].tolist() == ["6_real.png"]
    assert dataset[0][1] == 5


def test_folder_with_only_hidden_entries_counts_as_empty(tmp_path):
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "._1_x.png").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="holds no images"):
        SkinLesionDataset(tmp_path)


# --- AugmentedDataset --------------------------------------------------------------------------

def test_augmented_without_weights_is_a_plain_wrapper(sample_train):
    wrapped = AugmentedDataset(sample_train)
    assert len(wrapped) == len(sample_train)
    pd.testing.assert_frame_equal(wrapped.img_labels, sample_train.img_labels)
    for index in (0, 17, 34):
        image, label = wrapped[index]
        base_image, base_label = sample_train[index]
        assert torch.equal(image, base_image) and label == base_label


def test_oversampling_weights_repeat_each_class(sample_train):
    augmented = AugmentedDataset(sample_train, weights=[1, 2, 3, 4, 5, 6, 7])
    assert len(augmented) == 5 * 28 == 140  # 5 images of each class
    counts = augmented.img_labels["label"].value_counts().sort_index()
    assert counts.tolist() == [5, 10, 15, 20, 25, 30, 35]


def test_oversampled_items_carry_the_label_of_their_row(sample_train):
    augmented = AugmentedDataset(sample_train, weights=OVERSAMPLING_WEIGHTS)
    for index in (0, 19, 20, 60, 124):
        assert augmented[index][1] == augmented.img_labels["label"].iat[index]


def test_weights_accept_a_tensor(sample_train):
    augmented = AugmentedDataset(sample_train, weights=torch.tensor(OVERSAMPLING_WEIGHTS))
    assert len(augmented) == 125


@pytest.mark.parametrize("weights", [[1] * 6, [1] * 8, []])
def test_weights_of_the_wrong_length_are_a_value_error(sample_train, weights):
    with pytest.raises(ValueError, match="one repeat count per class"):
        AugmentedDataset(sample_train, weights=weights)


def test_each_access_draws_a_fresh_augmentation(sample_train):
    torch.manual_seed(0)
    augmented = AugmentedDataset(sample_train, weights=OVERSAMPLING_WEIGHTS,
                                 transform=v2.RandomResizedCrop(64, scale=(0.05, 0.5)))
    first, second = augmented[3][0], augmented[3][0]
    assert first.shape == second.shape == (1, 64, 64)
    assert not torch.equal(first, second)
    # The four copies of sample 0 (akiec, weight 4) come from one base image but differ.
    assert augmented.indices[:4] == [0, 0, 0, 0]
    copies = [augmented[i][0] for i in range(4)]
    assert not all(torch.equal(copies[0], copy) for copy in copies[1:])


def test_length_cycles_the_items_in_order(sample_train):
    cycled = AugmentedDataset(sample_train, length=2 * len(sample_train) + 3)
    assert len(cycled) == len(cycled.img_labels) == 2 * len(sample_train) + 3
    assert list(cycled.img_labels["file"][:3]) == list(sample_train.img_labels["file"][:3])
    assert torch.equal(cycled[len(sample_train)][0], sample_train[0][0])
    assert cycled[len(sample_train) + 1][1] == sample_train[1][1]


def test_class_counts_names_every_class_including_empty_ones():
    counts = class_counts([0, 0, 5, 6])
    assert counts.index.tolist() == ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
    assert counts.tolist() == [2, 0, 0, 0, 0, 1, 1]
