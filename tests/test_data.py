"""Loading face-expression data from every layout people download, and the decoded-face cache."""

from __future__ import annotations

import numpy as np
import pytest

import pipeline.data as data_module
from pipeline.data import HOLDOUT_FRACTION, load_dataset
from pipeline.errors import UserError
from pipeline.expressions import parse_classes
from tests.datasets import write_fer2013_csv, write_image_folders, zip_folder

FOUR = parse_classes(4)
SEVEN = parse_classes(7)


def test_reads_the_kaggle_face_expression_folders(kaggle_folders):
    splits = load_dataset(kaggle_folders.parent, FOUR)  # the folder above images/ works too
    assert set(splits) == {"train", "validation"}
    train = splits["train"]
    assert train.images.shape == (24, 48, 48) and train.images.dtype == np.uint8
    assert train.class_names == ["angry", "happy", "neutral", "sad"]
    assert train.counts() == [6, 6, 6, 6]


def test_accepts_the_usual_spellings_of_class_folders(tmp_path):
    spellings = {"angry": "Anger", "happy": "happiness", "sad": "Sadness", "surprise": "surprised",
                 "fear": "fearful", "disgust": "disgusted", "neutral": "NEUTRAL"}
    root = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"},
                               folder_names=spellings, suffix=".png")
    train = load_dataset(root, SEVEN)["train"]
    assert train.counts() == [6] * 7


def test_reads_the_fer2013_folders_and_holds_out_a_validation_split(tmp_path):
    root = write_image_folders(tmp_path / "fer2013", {"train": "train", "test": "test"}, per_class=20)
    splits = load_dataset(root, SEVEN, splits=("train", "validation", "test"))
    held_out = round(20 * HOLDOUT_FRACTION)
    assert splits["validation"].counts() == [held_out] * 7
    assert splits["train"].counts() == [20 - held_out] * 7
    assert splits["test"].counts() == [20] * 7
    # The same faces are held out every time.
    again = load_dataset(root, SEVEN, splits=("validation",), cache_dir=tmp_path / "other-cache")
    assert np.array_equal(again["validation"].images, splits["validation"].images)


def test_reads_fer2013_csv_with_its_usage_column(tmp_path):
    csv_path = write_fer2013_csv(tmp_path / "fer2013.csv", per_class=3)
    splits = load_dataset(csv_path, FOUR, splits=("train", "validation", "test"))
    assert {name: split.counts() for name, split in splits.items()} == {
        "train": [3, 3, 3, 3], "validation": [3, 3, 3, 3], "test": [3, 3, 3, 3]}
    # The CSV's pixels arrive unchanged.
    first_angry = splits["train"].images[splits["train"].labels == 0][0]
    row = csv_path.read_text().splitlines()[1].split(",")
    assert np.array_equal(first_angry.ravel(), np.array(row[1].split(), dtype=np.uint8))


def test_skips_and_reports_malformed_csv_rows(tmp_path, capsys):
    csv_path = write_fer2013_csv(tmp_path / "fer2013.csv", per_class=2)
    with csv_path.open("a") as handle:
        handle.write("3,1 2 3,Training\n")  # too few pixels
    splits = load_dataset(csv_path, FOUR)
    assert splits["train"].counts() == [2, 2, 2, 2]
    assert "Skipped 1 unreadable image(s) or row(s): fer2013.csv row 44" in capsys.readouterr().err


@pytest.mark.parametrize("layout", ["kaggle", "csv"])
def test_reads_a_zip_of_any_layout(tmp_path, layout):
    if layout == "kaggle":
        folder = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"})
    else:
        folder = tmp_path / "fer2013"
        write_fer2013_csv(folder / "fer2013.csv")
    archive = zip_folder(folder, tmp_path / "download.zip")
    splits = load_dataset(archive, FOUR)
    assert splits["train"].counts() == [6, 6, 6, 6]
    assert splits["validation"].counts() == [6, 6, 6, 6]


def test_corrupt_images_are_skipped_counted_and_named(kaggle_folders, capsys):
    for index in range(4):
        (kaggle_folders / "train" / "happy" / f"broken{index}.jpg").write_bytes(b"not a jpeg at all")
    train = load_dataset(kaggle_folders, FOUR)["train"]
    assert train.counts() == [6, 6, 6, 6]
    err = capsys.readouterr().err
    assert "Skipped 4 unreadable image(s) or row(s): train/happy/broken0.jpg, train/happy/broken1.jpg, train/happy/broken2.jpg ..." in err


def test_folders_that_name_no_expression_are_ignored_and_reported(kaggle_folders, capsys):
    write_image_folders(kaggle_folders, {"train": "train"}, emotions=["happy"], folder_names={"happy": "contempt"})
    train = load_dataset(kaggle_folders, SEVEN)["train"]
    assert sum(train.counts()) == 42
    assert "Ignored folder(s) that name no expression: contempt" in capsys.readouterr().err


def test_faces_of_other_sizes_are_cropped_square_and_resized(tmp_path):
    import cv2

    root = tmp_path / "images"
    for split in ("train", "validation"):
        folder = root / split / "happy"
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / "big.png"), np.full((120, 90, 3), 200, np.uint8))
        (root / split / "sad").mkdir()
        cv2.imwrite(str(root / split / "sad" / "small.png"), np.full((30, 30), 10, np.uint8))
    train = load_dataset(root, parse_classes("happy,sad"))["train"]
    assert train.images.shape == (2, 48, 48)
    assert set(np.unique(train.images[train.labels == 0])) == {200}


def test_six_classes_merge_disgust_into_angry(kaggle_folders):
    train = load_dataset(kaggle_folders, parse_classes(6))["train"]
    assert train.class_names == ["angry", "fear", "happy", "neutral", "sad", "surprise"]
    assert train.counts() == [12, 6, 6, 6, 6, 6]


def test_the_cache_is_used_until_the_folder_changes(kaggle_folders, monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    load_dataset(kaggle_folders, FOUR, cache_dir=cache)
    assert len(list(cache.glob("faces-*.npz"))) == 1

    decoded = []
    original = data_module._decode
    monkeypatch.setattr(data_module, "_decode", lambda *args: decoded.append(1) or original(*args))
    assert load_dataset(kaggle_folders, FOUR, cache_dir=cache)["train"].counts() == [6, 6, 6, 6]
    assert decoded == []  # served from the cache

    write_image_folders(kaggle_folders, {"train": "train"}, emotions=["sad"], per_class=8, seed=1)
    assert load_dataset(kaggle_folders, FOUR, cache_dir=cache)["train"].counts() == [6, 6, 6, 8]
    assert decoded == [1]  # a changed folder is read again


def test_a_damaged_cache_is_rebuilt(kaggle_folders, tmp_path):
    cache = tmp_path / "cache"
    load_dataset(kaggle_folders, FOUR, cache_dir=cache)
    (cache_file,) = cache.glob("faces-*.npz")
    cache_file.write_bytes(b"garbage")
    assert load_dataset(kaggle_folders, FOUR, cache_dir=cache)["validation"].counts() == [6, 6, 6, 6]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: root, "No face images or CSV found"),
        (lambda root: write_image_folders(root, {"train": "train"}) / "train", "holds expression folders but no train/"),
        (lambda root: root / "missing", "Data not found at"),
        (lambda root: (root / "notes.txt").write_text("hi") and root / "notes.txt", "is neither a folder, a .zip nor a .csv"),
        (lambda root: (root / "broken.zip").write_bytes(b"PK nope") and root / "broken.zip", "is not a readable zip file"),
    ],
    ids=["empty folder", "split folder itself", "missing path", "text file", "broken zip"],
)
def test_wrong_data_is_one_clear_sentence(tmp_path, make, message):
    with pytest.raises(UserError, match=message) as caught:
        load_dataset(make(tmp_path), FOUR)
    text = str(caught.value)
    assert text.endswith(".") and "\n" not in text


def test_asking_for_a_split_the_data_lacks_names_those_it_has(kaggle_folders):
    with pytest.raises(UserError, match=r"has no test split \(it has: train, validation\)"):
        load_dataset(kaggle_folders, FOUR, splits=("test",))


def test_a_folder_whose_every_image_is_unreadable_says_so(tmp_path):
    for split in ("train", "validation"):
        for index in range(3):
            folder = tmp_path / "images" / split / "happy"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{index}.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(UserError) as raised:
        load_dataset(tmp_path / "images", parse_classes(4))
    assert str(raised.value) == (
        f"Every one of the 6 images in {tmp_path / 'images'} was unreadable (train/happy/0.jpg, train/happy/1.jpg, "
        "train/happy/2.jpg ...); check that they are image files (JPEG, PNG) and not damaged.")
