"""`prepare` / `python -m skinkit prepare` on tiny fake HAM10000 sources, and the bundled sample."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skinkit.__main__ import main
from skinkit.classes import CLASS_CODES, DIGIT_BY_CODE, LABEL_BY_CODE
from skinkit.data.ham10000 import ISIC_GROUND_TRUTH_CSV, ISIC_GROUPINGS_CSV, ISIC_IMAGES_DIR, ISIC_METADATA_CSV
from skinkit.data.prepare import PRESETS, SPLITS, PrepareError, plan_splits, prepare

from .conftest import SAMPLE_ROOT, lesion_plan, make_ham10000
from .isic_fixtures import write_dataverse_layout, write_isic_layout

MANIFEST_COLUMNS = ["file", "image_id", "lesion_id", "dx", "label", "split"]
PATIENT_COLUMNS = ["age", "sex", "localization"]
COURSE_COUNTS = {
    "train": [112, 148, 343, 36, 253, 2073, 35],
    "val": [36, 60, 102, 15, 97, 670, 20],
    "test": [36, 60, 102, 15, 97, 670, 20],
}
TINY = {"train": (3,) * 7, "val": (1,) * 7, "test": (2,) * 7}
SIZE = 32


@pytest.fixture
def tiny_presets(monkeypatch):
    """Replace the `course` counts with TINY ones so the fake source can fill them."""
    monkeypatch.setitem(PRESETS, "course", TINY)


@pytest.fixture(scope="module")
def sample_out(fake_ham10000, tmp_path_factory):
    """The `sample` preset built once from the fake source (read-only)."""
    out = tmp_path_factory.mktemp("sample_out") / "data"
    manifest = prepare(fake_ham10000, out, size=SIZE, seed=0, preset="sample")
    return out, manifest


def read_manifest(out):
    return pd.read_csv(out / "manifest.csv", dtype={"label": int})


def counts_per_split(manifest):
    """{split: [images per class in class order]}."""
    table = pd.crosstab(manifest["split"], manifest["dx"])
    table = table.reindex(index=list(SPLITS), columns=list(CLASS_CODES), fill_value=0)
    return {split: table.loc[split].tolist() for split in SPLITS}


def assert_lesion_disjoint(manifest):
    splits_per_lesion = manifest.groupby("lesion_id")["split"].nunique()
    assert (splits_per_lesion == 1).all(), splits_per_lesion[splits_per_lesion > 1]


def files_on_disk(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def assert_nothing_written(out):
    """No --out folder and no leftover `.<name>.*` staging folder beside it."""
    assert not out.exists()
    if out.parent.exists():
        assert not list(out.parent.glob(f".{out.name}.*"))


# --- the `sample` preset end to end ------------------------------------------------------------

def test_sample_preset_writes_five_images_per_class_per_split(sample_out):
    out, manifest = sample_out
    assert counts_per_split(read_manifest(out)) == {split: [5] * 7 for split in SPLITS}
    for split in SPLITS:
        assert len(list((out / split).glob("*.png"))) == 35


def test_manifest_has_the_documented_columns_and_matches_the_return_value(sample_out):
    out, manifest = sample_out
    on_disk = read_manifest(out)
    assert on_disk.columns.tolist() == MANIFEST_COLUMNS + PATIENT_COLUMNS
    returned = manifest[MANIFEST_COLUMNS].assign(split=manifest["split"].astype(str))
    pd.testing.assert_frame_equal(on_disk[MANIFEST_COLUMNS], returned, check_dtype=False)


def test_manifest_lists_exactly_the_files_on_disk(sample_out):
    out, _ = sample_out
    manifest = read_manifest(out)
    listed = sorted(f"{split}/{file}" for split, file in zip(manifest["split"], manifest["file"]))
    assert files_on_disk(out) == sorted(listed + ["manifest.csv"])


def test_splits_are_lesion_disjoint(sample_out):
    assert_lesion_disjoint(read_manifest(sample_out[0]))


def test_fake_source_has_multi_image_lesions_in_the_output(sample_out):
    # Guards the lesion-disjointness test against passing trivially on one-image lesions.
    manifest = read_manifest(sample_out[0])
    assert manifest["lesion_id"].value_counts().max() > 1


def test_manifest_rows_agree_with_the_source_metadata(sample_out, fake_ham10000):
    manifest = read_manifest(sample_out[0])
    source = pd.read_csv(fake_ham10000 / "HAM10000_metadata.csv").set_index("image_id")
    assert manifest["image_id"].is_unique
    assert (manifest["lesion_id"].values == source.loc[manifest["image_id"], "lesion_id"].values).all()
    assert (manifest["dx"].values == source.loc[manifest["image_id"], "dx"].values).all()
    for column in PATIENT_COLUMNS:  # the patient metadata travels with each image
        expected = source.loc[manifest["image_id"], column].reset_index(drop=True)
        pd.testing.assert_series_equal(manifest[column], expected, check_names=False)
    assert manifest["age"].isna().any() and manifest["sex"].nunique() == 3  # the fake has blanks, unknowns


def test_file_names_and_labels_follow_dx(sample_out):
    manifest = read_manifest(sample_out[0])
    for row in manifest.itertuples():
        assert row.file == f"{DIGIT_BY_CODE[row.dx]}_{row.image_id}.png"
        assert row.label == LABEL_BY_CODE[row.dx] == int(row.file[0]) - 1


def test_pngs_are_gray_squares_of_the_requested_size(sample_out):
    out, _ = sample_out
    for path in sorted(out.rglob("*.png")):
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert (image.mode, image.size) == ("L", (SIZE, SIZE)), path


def test_output_loads_as_a_course_dataset(sample_out):
    from skinkit.data.dataset import SkinLesionDataset
    dataset = SkinLesionDataset(sample_out[0] / "val")
    assert len(dataset) == 35
    assert dataset.img_labels["label"].value_counts().tolist() == [5] * 7


# --- determinism --------------------------------------------------------------------------------

def file_bytes(out):
    return {name: (out / name).read_bytes() for name in files_on_disk(out)}


def test_same_seed_gives_byte_identical_output(fake_ham10000, sample_out, tmp_path):
    again = tmp_path / "again"
    prepare(fake_ham10000, again, size=SIZE, seed=0, preset="sample")
    first, second = file_bytes(sample_out[0]), file_bytes(again)
    assert sorted(first) == sorted(second)
    assert all(first[name] == second[name] for name in first)


def test_different_seed_gives_a_different_selection(fake_ham10000, sample_out, tmp_path):
    other = prepare(fake_ham10000, tmp_path / "seed1", size=SIZE, seed=1, preset="sample")
    assert counts_per_split(other) == {split: [5] * 7 for split in SPLITS}
    assert_lesion_disjoint(other)
    first = set(zip(sample_out[1]["image_id"], sample_out[1]["split"]))
    assert set(zip(other["image_id"], other["split"])) != first


# --- other presets and options -------------------------------------------------------------------

def test_all_test_preset_puts_every_image_into_test(fake_ham10000, tmp_path):
    out = tmp_path / "all"
    manifest = prepare(fake_ham10000, out, size=SIZE, preset="all-test")
    source = pd.read_csv(fake_ham10000 / "HAM10000_metadata.csv")
    assert len(manifest) == len(source) == len(list((out / "test").glob("*.png")))
    assert set(manifest["split"]) == {"test"}
    assert set(read_manifest(out)["image_id"]) == set(source["image_id"])
    assert not list(out.glob("train/*")) and not list(out.glob("val/*"))


def test_course_preset_fills_its_counts_per_class(fake_ham10000, tmp_path, tiny_presets):
    manifest = prepare(fake_ham10000, tmp_path / "course", size=SIZE)  # course is the default
    assert counts_per_split(manifest) == {split: list(TINY[split]) for split in SPLITS}
    assert_lesion_disjoint(manifest)


def test_default_size_is_300(fake_ham10000, tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS, "course", dict.fromkeys(SPLITS, (1,) * 7))
    out = tmp_path / "big"
    prepare(fake_ham10000, out)
    sizes = {Image.open(path).size for path in out.rglob("*.png")}
    assert sizes == {(300, 300)}


def test_non_square_images_are_centre_cropped(tmp_path):
    source = make_ham10000(tmp_path / "src", dict.fromkeys(CLASS_CODES, 1))
    # Black side bands around a white centre square: only the centre may survive the crop.
    pixels = np.zeros((20, 60), dtype=np.uint8)
    pixels[:, 20:40] = 255
    for path in (source / "images").glob("*.jpg"):
        Image.fromarray(pixels).convert("RGB").save(path, quality=95)
    out = tmp_path / "out"
    prepare(source, out, size=16, preset="all-test")
    pngs = list(out.rglob("*.png"))
    assert len(pngs) == 7
    for path in pngs:
        assert np.asarray(Image.open(path)).mean() > 240, path


def test_images_directly_in_the_source_folder_are_found(tmp_path):
    source = make_ham10000(tmp_path / "flat", dict.fromkeys(CLASS_CODES, 1))
    for path in (source / "images").glob("*.jpg"):
        path.rename(source / path.name)
    (source / "images").rmdir()
    manifest = prepare(source, tmp_path / "out", size=SIZE, preset="all-test")
    assert len(manifest) == len(list((tmp_path / "out" / "test").glob("*.png"))) > 0


# --- short sources --------------------------------------------------------------------------------

def test_a_class_too_small_for_the_preset_is_named(tmp_path):
    lesions = dict.fromkeys(CLASS_CODES, 20) | {"df": 3}
    source = make_ham10000(tmp_path / "src", lesions)
    out = tmp_path / "out"
    with pytest.raises(PrepareError, match="'df' ran short"):
        prepare(source, out, size=SIZE, preset="sample")
    assert_nothing_written(out)


def test_many_images_of_one_lesion_cannot_fill_two_splits(tiny_presets):
    # 10 images of a single lesion per class: enough images, but only one split can use them.
    meta = lesion_plan(dict.fromkeys(CLASS_CODES, 1), lesion_sizes=(10,))
    with pytest.raises(PrepareError, match="'akiec' ran short"):
        plan_splits(meta, "course", seed=0)


# --- bad sources: clear PrepareError, nothing written ----------------------------------------------

def edit_metadata(source, edit):
    csv = source / "HAM10000_metadata.csv"
    edit(pd.read_csv(csv, dtype=str)).to_csv(csv, index=False)


def break_remove_csv(source):
    (source / "HAM10000_metadata.csv").unlink()
    return "HAM10000_metadata.csv: metadata CSV not found"


def break_drop_dx_column(source):
    edit_metadata(source, lambda meta: meta.drop(columns="dx"))
    return "missing column.*dx"


def break_drop_lesion_column(source):
    edit_metadata(source, lambda meta: meta.drop(columns="lesion_id"))
    return "missing column.*lesion_id"


def break_unknown_dx(source):
    edit_metadata(source, lambda meta: meta.assign(dx=meta["dx"].where(meta.index != 5, "melanoma")))
    return "unknown dx.*melanoma"


def break_delete_an_image(source):
    image_id = pd.read_csv(source / "HAM10000_metadata.csv")["image_id"].iat[7]
    (source / "images" / f"{image_id}.jpg").unlink()
    return f"{image_id}.* missing"


def break_add_a_row_without_image(source):
    extra = pd.DataFrame([{"lesion_id": "HAM_9999999", "image_id": "ISIC_9999999", "dx": "nv"}])
    edit_metadata(source, lambda meta: pd.concat([meta, extra]))
    return "ISIC_9999999.* missing"


def break_empty_csv(source):
    (source / "HAM10000_metadata.csv").write_text("")
    return "HAM10000_metadata.csv: cannot be read as a CSV"


def break_blank_dx(source):
    edit_metadata(source, lambda meta: meta.assign(dx=meta["dx"].where(meta.index != 2, "")))
    return "empty dx in row 3"


def break_blank_and_unknown_dx(source):
    edit_metadata(source, lambda meta: meta.assign(
        dx=meta["dx"].where(meta.index != 2, "").where(meta.index != 4, "melanoma")))
    return "empty dx in row 3"


def break_duplicate_row(source):
    image_id = pd.read_csv(source / "HAM10000_metadata.csv")["image_id"].iat[3]
    edit_metadata(source, lambda meta: pd.concat([meta, meta.iloc[[3]]]))
    return f"duplicate image_id {image_id}"


def break_corrupt_image(source):
    image_id = pd.read_csv(source / "HAM10000_metadata.csv")["image_id"].iat[4]
    (source / "images" / f"{image_id}.jpg").write_bytes(b"not a jpeg" * 20)
    return f"{image_id}.jpg: cannot be read as an image"


BAD_SOURCES = [break_remove_csv, break_drop_dx_column, break_drop_lesion_column, break_unknown_dx,
               break_delete_an_image, break_add_a_row_without_image, break_empty_csv, break_blank_dx,
               break_blank_and_unknown_dx, break_duplicate_row, break_corrupt_image]


@pytest.fixture
def small_source(tmp_path):
    """A small writable fake source (2 lesions, 3 images per class) to break."""
    return make_ham10000(tmp_path / "src", dict.fromkeys(CLASS_CODES, 2))


@pytest.mark.parametrize("breaker", BAD_SOURCES, ids=lambda f: f.__name__)
def test_bad_source_is_a_clear_error_and_writes_nothing(small_source, tmp_path, breaker):
    message = breaker(small_source)
    out = tmp_path / "out"
    with pytest.raises(PrepareError, match=message):
        prepare(small_source, out, size=SIZE, preset="all-test")
    assert_nothing_written(out)


def test_missing_source_folder_is_a_clear_error(tmp_path):
    with pytest.raises(PrepareError, match="metadata CSV not found"):
        prepare(tmp_path / "nowhere", tmp_path / "out", preset="all-test")
    assert_nothing_written(tmp_path / "out")


def test_existing_out_is_refused_and_left_untouched(fake_ham10000, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(PrepareError, match="already exists"):
        prepare(fake_ham10000, out, size=SIZE, preset="sample")
    assert files_on_disk(out) == ["mine.txt"]
    assert (out / "mine.txt").read_text() == "keep me"
    assert not list(tmp_path.glob(".out.*"))


def test_unknown_preset_is_refused(fake_ham10000, tmp_path):
    with pytest.raises(PrepareError, match="unknown preset"):
        prepare(fake_ham10000, tmp_path / "out", preset="huge")
    assert_nothing_written(tmp_path / "out")


def test_prepare_error_is_a_value_error():
    assert issubclass(PrepareError, ValueError)


# --- course counts planned on a synthetic metadata frame (no images needed) -------------------------

def synthetic_course_metadata():
    """Lesions of 1-3 images per class, about 1.5x the course preset's need per class."""
    need = {code: sum(COURSE_COUNTS[split][label] for split in SPLITS)
            for label, code in enumerate(CLASS_CODES)}
    return lesion_plan(need)  # one lesion per needed image; lesion sizes average 1.6 images


def test_course_preset_counts_match_the_project_report():
    assert {split: list(PRESETS["course"][split]) for split in SPLITS} == COURSE_COUNTS


@pytest.mark.parametrize("seed", [0, 1])
def test_course_plan_has_exact_counts_and_is_lesion_disjoint(seed):
    meta = synthetic_course_metadata()
    plan = plan_splits(meta, "course", seed)
    assert counts_per_split(plan) == COURSE_COUNTS
    assert_lesion_disjoint(plan)
    assert plan["image_id"].is_unique
    assert (plan["label"] == plan["dx"].map(LABEL_BY_CODE)).all()


def test_course_plan_depends_on_the_seed_only():
    meta = synthetic_course_metadata()
    first, again, other = (plan_splits(meta, "course", seed) for seed in (0, 0, 1))
    pd.testing.assert_frame_equal(first, again)
    assert not first[["image_id", "split"]].equals(other[["image_id", "split"]])


# --- the command line ---------------------------------------------------------------------------------

def test_cli_prepare_prints_counts_and_exits_0(fake_ham10000, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["prepare", "--ham10000", str(fake_ham10000), "--out", str(out),
                 "--size", "24", "--seed", "3", "--preset", "sample"])
    printed = capsys.readouterr().out
    assert code == 0
    assert f"Wrote 105 images and manifest.csv to {out}" in printed
    assert counts_per_split(read_manifest(out)) == {split: [5] * 7 for split in SPLITS}
    assert Image.open(next(out.rglob("*.png"))).size == (24, 24)
    assert "subgroup" not in printed  # the fake source has age, sex and body site


def test_cli_bad_source_exits_2_with_one_line(small_source, tmp_path, capsys):
    break_unknown_dx(small_source)
    out = tmp_path / "cli"
    code = main(["prepare", "--ham10000", str(small_source), "--out", str(out), "--preset", "all-test"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("prepare: ") and error.count("\n") == 1 and "melanoma" in error
    assert_nothing_written(out)


def test_cli_existing_out_exits_2(fake_ham10000, tmp_path, capsys):
    code = main(["prepare", "--ham10000", str(fake_ham10000), "--out", str(tmp_path)])
    assert code == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_rejects_an_unknown_preset(fake_ham10000, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["prepare", "--ham10000", str(fake_ham10000), "--out", str(tmp_path / "o"),
              "--preset", "everything"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_m_skinkit_prepare_end_to_end(fake_ham10000, tmp_path):
    # One subprocess only: importing skinkit (torch) dominates its time. The error path of the
    # same entry point is covered in-process above (main returns 2, which sys.exit passes on).
    out = tmp_path / "sub"
    done = subprocess.run([sys.executable, "-m", "skinkit", "prepare", "--ham10000", str(fake_ham10000),
                           "--out", str(out), "--size", "20", "--preset", "all-test"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Wrote 224 images" in done.stdout
    assert len(list((out / "test").glob("*.png"))) == 224


# --- the bundled sample (data/sample) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundled_manifest():
    return read_manifest(SAMPLE_ROOT)


def test_bundled_sample_has_five_images_per_class_per_split(bundled_manifest):
    assert bundled_manifest.columns.tolist() == MANIFEST_COLUMNS + PATIENT_COLUMNS
    assert counts_per_split(bundled_manifest) == {split: [5] * 7 for split in SPLITS}
    for split in SPLITS:
        digits = sorted(int(p.name[0]) for p in (SAMPLE_ROOT / split).glob("*.png"))
        assert digits == sorted(list(range(1, 8)) * 5)


def test_bundled_sample_carries_age_sex_and_body_site(bundled_manifest):
    assert set(bundled_manifest["sex"]) <= {"male", "female", "unknown"}
    assert bundled_manifest["age"].between(0, 100).all()
    assert bundled_manifest["localization"].notna().all()
    # one patient per lesion: a lesion's images agree on age, sex and site
    assert (bundled_manifest.groupby("lesion_id")[PATIENT_COLUMNS].nunique() <= 1).all(axis=None)


def test_bundled_sample_is_lesion_disjoint(bundled_manifest):
    assert_lesion_disjoint(bundled_manifest)


def test_bundled_sample_file_names_match_the_manifest(bundled_manifest):
    for row in bundled_manifest.itertuples():
        assert row.file == f"{DIGIT_BY_CODE[row.dx]}_{row.image_id}.png"
        assert row.label == LABEL_BY_CODE[row.dx]


def test_bundled_sample_lists_exactly_its_files(bundled_manifest):
    listed = sorted(f"{split}/{file}" for split, file in
                    zip(bundled_manifest["split"], bundled_manifest["file"]))
    on_disk = sorted(str(p.relative_to(SAMPLE_ROOT)) for p in SAMPLE_ROOT.rglob("*")
                     if p.is_file() and not any(part.startswith(".") for part in p.parts))
    assert on_disk == sorted(listed + ["manifest.csv"])


def test_bundled_sample_images_are_300px_gray_pngs():
    for path in sorted(SAMPLE_ROOT.rglob("*.png")):
        with Image.open(path) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "L", (300, 300)), path


def test_bundled_sample_is_at_most_5_mb():
    total = sum(p.stat().st_size for p in SAMPLE_ROOT.rglob("*") if p.is_file())
    assert total <= 5 * 1024**2


# --- the two layouts: Dataverse and ISIC 2018 ---------------------------------------------------------

@pytest.fixture(scope="module")
def both_layouts(fake_ham10000, tmp_path_factory):
    """The fake source's images and labels in the ISIC 2018 layout and in Dataverse part_1/part_2."""
    root = tmp_path_factory.mktemp("layouts")
    meta = pd.read_csv(fake_ham10000 / "HAM10000_metadata.csv", dtype=str)
    jpegs = fake_ham10000 / "images"
    return write_isic_layout(root / "isic", meta, jpegs), write_dataverse_layout(root / "parts", meta, jpegs)


@pytest.mark.parametrize("preset", ["sample", "all-test"])
def test_both_layouts_give_byte_identical_output(both_layouts, fake_ham10000, tmp_path, preset):
    outputs = []
    for number, source in enumerate((fake_ham10000, *both_layouts)):
        prepare(source, tmp_path / str(number), size=SIZE, seed=0, preset=preset)
        outputs.append(file_bytes(tmp_path / str(number)))
    assert len(outputs[0]) > 100
    assert outputs[0] == outputs[1] == outputs[2]


def edit_ground_truth(source, edit):
    csv = source / ISIC_GROUND_TRUTH_CSV
    edit(pd.read_csv(csv, dtype=str)).to_csv(csv, index=False)


def break_isic_two_classes_in_a_row(source):
    edit_ground_truth(source, lambda truth: truth.assign(MEL=truth["MEL"].where(truth.index != 2, "1.0"),
                                                        NV=truth["NV"].where(truth.index != 2, "1.0")))
    return "row 3 .* must hold exactly one 1"


def break_isic_missing_column(source):
    edit_ground_truth(source, lambda truth: truth.drop(columns="VASC"))
    return "GroundTruth.csv: missing column.*VASC"


def break_isic_no_groupings(source):
    (source / ISIC_GROUPINGS_CSV).unlink()
    return "LesionGroupings.csv: lesion groupings CSV not found"


def break_isic_ungrouped_image(source):
    csv = source / ISIC_GROUPINGS_CSV
    groupings = pd.read_csv(csv, dtype=str)
    groupings.iloc[1:].to_csv(csv, index=False)
    return f"no lesion_id for image {groupings['image'].iat[0]}"


def break_isic_delete_an_image(source):
    image = next((source / ISIC_IMAGES_DIR).glob("*.jpg"))
    image.unlink()
    return f"{image.stem}.jpg listed in the metadata is missing"


@pytest.mark.parametrize("breaker", [break_isic_two_classes_in_a_row, break_isic_missing_column,
                                     break_isic_no_groupings, break_isic_ungrouped_image,
                                     break_isic_delete_an_image], ids=lambda f: f.__name__)
def test_bad_isic_source_is_a_clear_error_and_writes_nothing(small_source, tmp_path, breaker):
    meta = pd.read_csv(small_source / "HAM10000_metadata.csv", dtype=str)
    source = write_isic_layout(tmp_path / "isic", meta, small_source / "images")
    message = breaker(source)
    out = tmp_path / "out"
    with pytest.raises(PrepareError, match=message):
        prepare(source, out, size=SIZE, preset="all-test")
    assert_nothing_written(out)


# --- patient metadata from the ISIC 2019 CSV (ISIC layout) and Dataverse's dataset column ---------------

def prepared_manifest(source, out):
    """manifest.csv as written by `prepare` (all-test preset) from `source` into `out`."""
    prepare(source, out, size=SIZE, preset="all-test")
    return read_manifest(out)


@pytest.fixture
def isic_source(small_source, tmp_path):
    """The small source in the ISIC layout, with the 2019 metadata CSV beside it."""
    meta = pd.read_csv(small_source / "HAM10000_metadata.csv", dtype=str)
    return write_isic_layout(tmp_path / "isic", meta, small_source / "images")


def test_isic_2019_metadata_is_mapped_to_age_sex_and_localization(isic_source, tmp_path):
    csv = isic_source / ISIC_METADATA_CSV
    table = pd.read_csv(csv, dtype=str)
    sites = ["anterior torso", "head/neck", None]  # ISIC 2019's own names; None: an empty cell
    table["anatom_site_general"] = [sites[n % 3] for n in range(len(table))]
    table.to_csv(csv, index=False)
    manifest = prepared_manifest(isic_source, tmp_path / "out")
    assert manifest.columns.tolist() == MANIFEST_COLUMNS + PATIENT_COLUMNS
    expected = table.set_index("image").loc[manifest["image_id"]]
    assert manifest["localization"].tolist() == expected["anatom_site_general"].tolist()
    assert manifest["sex"].tolist() == expected["sex"].tolist()
    assert np.allclose(manifest["age"], expected["age_approx"].astype(float), equal_nan=True)


def test_isic_layout_without_the_2019_metadata_gives_a_manifest_without_it(isic_source, tmp_path):
    (isic_source / ISIC_METADATA_CSV).unlink()
    prepare(isic_source, tmp_path / "out", size=SIZE, preset="all-test")
    assert read_manifest(tmp_path / "out").columns.tolist() == MANIFEST_COLUMNS


def test_an_image_missing_from_the_2019_metadata_gets_empty_cells(isic_source, tmp_path):
    csv = isic_source / ISIC_METADATA_CSV
    table = pd.read_csv(csv, dtype=str)
    table.iloc[1:].to_csv(csv, index=False)
    manifest = prepared_manifest(isic_source, tmp_path / "out").set_index("image_id")
    assert manifest.loc[table["image"].iat[0], PATIENT_COLUMNS].isna().all()
    assert manifest[PATIENT_COLUMNS].notna().any(axis=1).sum() > len(manifest) // 2


def test_a_broken_2019_metadata_csv_is_named(isic_source, tmp_path):
    csv = isic_source / ISIC_METADATA_CSV
    pd.read_csv(csv, dtype=str).drop(columns="anatom_site_general").to_csv(csv, index=False)
    with pytest.raises(PrepareError, match=f"{ISIC_METADATA_CSV}: missing column.*anatom_site_general"):
        prepare(isic_source, tmp_path / "out", size=SIZE, preset="all-test")
    assert_nothing_written(tmp_path / "out")


def test_dataverse_dataset_column_is_copied_when_present(small_source, tmp_path):
    csv = small_source / "HAM10000_metadata.csv"
    meta = pd.read_csv(csv, dtype=str)
    meta["dataset"] = [("vidir_modern", "rosendahl")[n % 2] for n in range(len(meta))]
    meta.to_csv(csv, index=False)
    manifest = prepared_manifest(small_source, tmp_path / "out")
    assert manifest.columns.tolist() == MANIFEST_COLUMNS + PATIENT_COLUMNS + ["dataset"]
    with_dataset = pd.read_csv(csv, dtype=str).set_index("image_id")["dataset"]
    assert manifest["dataset"].tolist() == with_dataset.loc[manifest["image_id"]].tolist()
