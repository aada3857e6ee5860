"""python -m pipeline.collect: labelled photos in, training faces cut as the page cuts them out;
and python -m pipeline.train --extra-data, which trains on them besides --data."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from bench.pictures import astronaut_bgr
from pipeline import collect, train
from pipeline.data import load_dataset, with_extra_faces
from pipeline.expressions import parse_classes
from pipeline.faces.crop import FACE_CROP, crop_face
from pipeline.faces.finder import FaceDetector, detect_everywhere, largest_face
from tests.datasets import write_image_folders


def page_crop(bgr: np.ndarray) -> np.ndarray:
    """The largest face of a photo, found and cut as the page's photo input does."""
    faces = detect_everywhere(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), FaceDetector())
    box, _, eyes = largest_face(faces)
    return crop_face(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), box, FACE_CROP, eyes)


@pytest.fixture
def photos(tmp_path):
    """The astronaut as a happy photo, and turned a little as a sad one; a wall and a broken file."""
    folder = tmp_path / "photos"
    for name in ("happy", "Sadness", "shrug"):
        (folder / name).mkdir(parents=True)
    astronaut = astronaut_bgr()
    turned = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((256, 256), 15, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REPLICATE)
    cv2.imwrite(str(folder / "happy" / "astronaut.jpg"), astronaut)
    cv2.imwrite(str(folder / "Sadness" / "turned.png"), turned)
    cv2.imwrite(str(folder / "happy" / "wall.png"), np.full((300, 300, 3), 128, np.uint8))
    (folder / "happy" / "broken.jpg").write_bytes(b"not a picture")
    cv2.imwrite(str(folder / "shrug" / "other.png"), astronaut)
    return folder


def test_each_photo_gives_its_face_as_the_page_cuts_it_in_its_expression_folder(photos, tmp_path, capsys):
    counts = collect.main([str(photos), "--out", str(tmp_path / "faces")])
    output = capsys.readouterr()
    assert counts["happy"] == 1 and counts["sad"] == 1
    assert "Wrote 2 faces" in output.out
    assert output.err.strip() == "Left out: 1 no face; 1 unreadable; 1 labelled 'shrug', no expression"
    for folder, name, photo in (("happy", "astronaut", "happy/astronaut.jpg"), ("sad", "turned", "Sadness/turned.png")):
        face = cv2.imread(str(tmp_path / "faces" / "train" / folder / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        assert face.shape == (48, 48)
        np.testing.assert_array_equal(face, page_crop(cv2.imread(str(photos / photo))))


def test_a_labels_csv_names_each_photos_expression(photos, tmp_path, capsys):
    labels = tmp_path / "legend.csv"
    (photos / "shrug" / "other.png").rename(photos / "shrug" / "astronaut.png")
    labels.write_text("user.id,image,emotion\n1,happy/astronaut.jpg,anger\n1,Sadness/turned.png,contempt\n"
                      "1,missing.jpg,happiness\n1,shrug/astronaut.png,angry\n1,happy/astronaut.jpg,sad\n1\n")
    counts = collect.main([str(photos), "--labels", str(labels), "--out", str(tmp_path / "faces")])
    assert dict(counts) == {"angry": 2, "unreadable": 1, "listed twice": 1}
    assert "1 labelled 'contempt', no expression; 1 labelled '', no expression" in capsys.readouterr().err
    # two photos of one name, from different folders, are both kept
    assert sorted(path.name for path in (tmp_path / "faces" / "train" / "angry").iterdir()) == [
        "astronaut-2.png", "astronaut.png"]
    assert not (tmp_path / "faces" / "train" / "sad").exists()


@pytest.mark.parametrize("make, message", [
    (lambda tmp: (tmp / "nowhere", None), "is not a folder; give the folder that holds the photos."),
    (lambda tmp: (tmp, None), "has no photos in folders named by expression"),
    (lambda tmp: (tmp, tmp / "labels.csv"), "needs a column of image names"),
])
def test_wrong_photos_or_labels_are_one_sentence_and_write_nothing(tmp_path, capsys, make, message):
    (tmp_path / "labels.csv").write_text("name,mood\na.jpg,happy\n")
    folder, labels = make(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        collect.main([str(folder), *(["--labels", str(labels)] if labels else []), "--out", str(tmp_path / "faces")])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error
    assert not (tmp_path / "faces").exists()


def test_extra_faces_join_training_only_in_the_chosen_classes(tmp_path):
    classes = parse_classes(4)
    base = load_dataset(write_image_folders(tmp_path / "base", {"train": "train", "validation": "validation"},
                                            per_class=3), classes)
    extra = write_image_folders(tmp_path / "extra", {"train": "train"}, per_class=5, seed=1)
    joined = with_extra_faces(base["train"], [str(extra)], classes)
    assert len(joined.labels) == len(base["train"].labels) + 4 * 5  # all 5 of each class, the held-out tenth too
    np.testing.assert_array_equal(joined.images[: len(base["train"].labels)], base["train"].images)
    assert np.bincount(joined.labels[len(base["train"].labels):]).tolist() == [5, 5, 5, 5]
    only_fear = write_image_folders(tmp_path / "fear", {"train": "train"}, emotions=("fear",))
    with pytest.raises(Exception, match="holds no faces of the classes angry, happy, neutral, sad"):
        with_extra_faces(base["train"], [str(only_fear)], classes)


def test_a_run_trains_on_its_extra_faces_and_records_them(tmp_path, capsys):
    data = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=4)
    extra = write_image_folders(tmp_path / "more", {"train": "train"}, per_class=6, seed=2)
    run_dir = tmp_path / "run"
    train.main(["--data", str(data), "--extra-data", str(extra), "--epochs", "1", "--width", "0.125",
                "--head-units", "16", "--batch-size", "16", "--out", str(run_dir)])
    assert "Training on 40 faces, 16 of them from" in capsys.readouterr().out
    assert json.loads((run_dir / "config.json").read_text())["extra_data"] == str(extra)


def test_extra_data_that_does_not_exist_is_refused_before_anything_is_written(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train.main(["--extra-data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")])
    assert capsys.readouterr().err.strip() == (
        f"error: No data at {tmp_path / 'nowhere'}; give --extra-data folders (or files) that exist, separated by commas.")
    assert not (tmp_path / "run").exists()
