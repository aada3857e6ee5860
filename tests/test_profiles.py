"""The shared profile fixtures (tests/profiles/): every bad one is refused by Python's one check of
a profile, with the damaged-profile sentence, and the good one is taken. The page's check is to be
held to the same files; model.json is in the form of the exported model's metadata.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import UserError
from pipeline.faces.personal import DAMAGED, profile_problem, read_profile

FIXTURES = Path(__file__).resolve().parent / "profiles"
METADATA = json.loads((FIXTURES / "model.json").read_text())
MODEL = {"sha256": METADATA["weights_sha256"], "classes": METADATA["classes"]}
WIDTH = METADATA["features"]["shape"][1]
BAD = sorted((FIXTURES / "bad").glob("*.json"))


def test_the_good_profile_is_taken():
    assert profile_problem(json.loads((FIXTURES / "good.json").read_text()), MODEL, WIDTH) is None


def test_there_is_a_fixture_for_each_case_of_the_issue():
    assert {path.stem for path in BAD} == {"bias-short", "weights-4x3", "model-string", "classes-integers", "bias-strings",
                                           "correction-list", "bias-nan-string", "bias-1e400", "name-not-string"}


@pytest.mark.parametrize("path", BAD, ids=lambda path: path.stem)
def test_each_bad_profile_is_refused_as_damaged(path):
    assert profile_problem(json.loads(path.read_text()), MODEL, WIDTH) == DAMAGED
    with pytest.raises(UserError) as refused:
        read_profile(path, MODEL, WIDTH)
    assert str(refused.value) == f"{path}: {DAMAGED}"


@pytest.mark.parametrize("bias", [float("nan"), float("inf"), True])
def test_numbers_json_cannot_carry_are_refused_too(tmp_path, bias):
    """Python's json writes NaN and Infinity, and reads them back; a bool is no number here."""
    profile = json.loads((FIXTURES / "good.json").read_text())
    profile["correction"]["bias"][0] = bias
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    with pytest.raises(UserError, match="This profile is damaged"):
        read_profile(tmp_path / "profile.json", MODEL, WIDTH)
