"""python -m pipeline.collect: labelled photos in, training faces cut as the page cuts them out;
and python -m pipeline.train --extra-data, which trains on them besides --data."""

from __future__ import annotations

import json
import os
import shutil
import tracemalloc

import cv2
import numpy as np
import pytest

from bench.pictures import astronaut_bgr
from pipeline import collect, train
from pipeline.data import load_dataset, with_extra_faces
from pipeline.expressions import parse_classes
from pipeline.faces.crop import FACE_CROP, crop_face
from pipeline.faces.finder import FaceDetector, detect_everywhere, largest_face
from tests.bad_images import not_utf8, write_png_bomb
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
    assert output.err.splitlines() == ["Left out: 1 no face; 1 unreadable; 1 labelled 'shrug', no expression",
                                       f"  {photos / 'happy' / 'broken.jpg'}: it is no image this tool reads "
                                       "(JPEG, PNG, BMP, WebP, TIFF, GIF or PGM/PPM)"]
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
    assert dict(counts) == {"angry": 2, "not found": 1, "listed twice": 1}
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


def refused(capsys, argv) -> str:
    """The one sentence (exit 2) ``python -m pipeline.collect argv`` answers with."""
    with pytest.raises(SystemExit) as stopped:
        collect.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def folder_bytes(folder):
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_out_the_same_as_the_photos_folder_is_refused_and_no_photo_is_touched(tmp_path, capsys):
    """Issue row 1: the photos in PHOTOS/train/<expression>/ (the layout --data reads), --out PHOTOS."""
    cv2.imwrite(str(tmp_path / "astronaut.jpg"), astronaut_bgr())
    (tmp_path / "photos" / "train" / "happy").mkdir(parents=True)
    (tmp_path / "astronaut.jpg").rename(tmp_path / "photos" / "train" / "happy" / "astronaut.png")
    before = folder_bytes(tmp_path / "photos")
    err = refused(capsys, [str(tmp_path / "photos"), "--out", str(tmp_path / "photos")])
    assert err == (f"error: --out {tmp_path / 'photos'} is the photos' folder {tmp_path / 'photos'}; choose an --out "
                   "outside it, so that no photo is written over or read again.\n")
    assert folder_bytes(tmp_path / "photos") == before


def test_out_inside_the_photos_folder_is_refused_every_time(photos, tmp_path, capsys):
    """Issue row 2: --out inside the photo folder, run twice: no crops of crops."""
    before = folder_bytes(photos)
    for _ in range(2):
        err = refused(capsys, [str(photos), "--out", str(photos / "faces")])
        assert "overlaps the photos' folder" in err
    assert folder_bytes(photos) == before and not (photos / "faces").exists()


def test_a_second_run_into_the_same_out_writes_over_no_face(photos, tmp_path, capsys):
    out = tmp_path / "faces"
    collect.main([str(photos), "--out", str(out)])
    first = folder_bytes(out)
    collect.main([str(photos), "--out", str(out)])
    assert "2 of them were given a new name (name-2.png...)" in capsys.readouterr().err
    assert {path: data for path, data in folder_bytes(out).items() if path in first} == first
    assert sorted(path.name for path in (out / "train" / "happy").iterdir()) == ["astronaut-2.png", "astronaut.png"]


def test_a_photo_whose_name_is_no_utf8_is_read_like_any_other(photos, tmp_path, capsys):
    """Issue row 3: bad\\xffname.png once ended the run in a segmentation fault inside cv2.imread."""
    (photos / "happy" / "astronaut.jpg").rename(not_utf8(photos / "happy", b"bad\xffname.jpg"))
    (photos / "happy" / "broken.jpg").rename(not_utf8(photos / "happy", b"broken\xff.jpg"))
    counts = collect.main([str(photos), "--out", str(tmp_path / "faces")])
    assert counts["happy"] == 1 and counts["sad"] == 1
    assert (tmp_path / "faces" / "train" / "happy" / os.fsdecode(b"bad\xffname.png")).is_file()
    assert "happy/broken\\xff.jpg: it is no image this tool reads" in capsys.readouterr().err


def test_a_png_bomb_is_refused_by_its_header_and_the_photos_after_it_are_read(photos, tmp_path, capsys):
    """Issue row 4: a small PNG of 30000 x 30000 was decoded whole (6.2 GB), or ended the run."""
    write_png_bomb(photos / "happy" / "aaa-bomb.png")  # read first
    tracemalloc.start()
    try:
        counts = collect.main([str(photos), "--out", str(tmp_path / "faces")])
        assert tracemalloc.get_traced_memory()[1] < 200e6
    finally:
        tracemalloc.stop()
    assert counts["happy"] == 1 and counts["sad"] == 1 and counts["unreadable"] == 2
    assert (f"happy/aaa-bomb.png: it is 30000 x 30000 pixels, more than the 50,000,000 this tool reads; make it "
            "smaller first") in capsys.readouterr().err


def test_a_big_jpeg_is_read_smaller_with_shrink(tmp_path, capsys):
    (tmp_path / "photos" / "happy").mkdir(parents=True)
    big = cv2.resize(astronaut_bgr(), (8200, 8200), interpolation=cv2.INTER_NEAREST)  # 67 megapixels
    cv2.imwrite(str(tmp_path / "photos" / "happy" / "big.jpg"), big)
    with pytest.raises(SystemExit):
        collect.main([str(tmp_path / "photos"), "--out", str(tmp_path / "faces")])
    assert ("big.jpg: it is 8200 x 8200 pixels, more than the 50,000,000 this tool reads (--shrink reads a JPEG of up to "
            "64 times as many at an eighth of its size); make it smaller first") in capsys.readouterr().err
    assert collect.main([str(tmp_path / "photos"), "--out", str(tmp_path / "faces"), "--shrink"])["happy"] == 1


def test_labels_of_missing_files_are_counted_without_a_warning_each_and_writing_nothing_fails(tmp_path, capfd):
    """Issue row 19: 100,000 rows of missing files gave some 50,000 OpenCV warnings and exit 0."""
    (tmp_path / "photos").mkdir()
    labels = tmp_path / "big.csv"
    labels.write_text("image,emotion\n" + "".join(f"gone-{index}.jpg,happy\n" for index in range(100_000)))
    with pytest.raises(SystemExit) as stopped:
        collect.main([str(tmp_path / "photos"), "--labels", str(labels), "--out", str(tmp_path / "faces")])
    assert stopped.value.code == 2
    err = capfd.readouterr().err
    assert err.splitlines()[0] == "Left out: 100000 not found"
    assert err.splitlines()[-2] == "  ... and 99990 more"
    assert err.splitlines()[-1].startswith("error: No face was written to ")
    assert len(err.splitlines()) == 13 and "WARN" not in err


def test_a_labels_csv_with_a_header_only_is_told_so(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    (tmp_path / "labels.csv").write_text("image,emotion\n")
    err = refused(capsys, [str(tmp_path / "photos"), "--labels", str(tmp_path / "labels.csv"), "--out", str(tmp_path / "f")])
    assert err == f"error: {tmp_path / 'labels.csv'} lists no photos, only its header; add a row per photo.\n"


def test_extra_data_that_is_or_overlaps_data_is_refused_before_anything_is_written(tmp_path, capsys):
    """Issue row 5: --data tiny --extra-data tiny trained on the validation faces it then chose the epoch on."""
    data = write_image_folders(tmp_path / "tiny", {"train": "train", "validation": "validation"}, per_class=2)
    for extra, verb in ((data, "is"), (data / "train", "overlaps"), (tmp_path, "overlaps")):
        with pytest.raises(SystemExit) as stopped:
            train.main(["--data", str(data), "--extra-data", str(extra), "--out", str(tmp_path / "run")])
        assert stopped.value.code == 2
        assert capsys.readouterr().err == (
            f"error: --extra-data {extra} {verb} --data {data}, whose validation faces would be trained on and the epoch "
            "then chosen on them; give --extra-data faces from elsewhere.\n")
    assert not (tmp_path / "run").exists()


def test_extra_data_holding_a_copy_of_the_validation_faces_is_refused(tmp_path):
    classes = parse_classes(4)
    data = write_image_folders(tmp_path / "tiny", {"train": "train", "validation": "validation"}, per_class=2)
    base = load_dataset(data, classes)
    shutil.copytree(data, tmp_path / "copy")
    with pytest.raises(Exception, match=f"^{tmp_path / 'copy'} holds 8 of the 8 validation faces of --data, which would "
                       "be trained on and the epoch then chosen on them; leave them out of --extra-data.$"):
        with_extra_faces(base["train"], [str(tmp_path / "copy")], classes, base["validation"])
