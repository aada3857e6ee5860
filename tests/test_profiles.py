"""The shared profile fixtures (tests/profiles/): every bad one is refused by Python's one check of
a profile, with the damaged-profile sentence, and the good one is taken. The page's check is to be
held to the same files; model.json is in the form of the exported model's metadata.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import UserError
from pipeline.faces.personal import DAMAGED, SETTINGS, fit_profile, profile_problem, read_profile

FIXTURES = Path(__file__).resolve().parent / "profiles"
METADATA = json.loads((FIXTURES / "model.json").read_text())
MODEL = {"sha256": METADATA["weights_sha256"], "classes": METADATA["classes"]}
WIDTH = METADATA["features"]["shape"][1]
BAD = sorted((FIXTURES / "bad").glob("*.json"))


def test_the_good_profile_is_taken():
    assert profile_problem(json.loads((FIXTURES / "good.json").read_text()), MODEL, WIDTH) is None


def test_there_is_a_fixture_for_each_case_of_the_issue():
    assert {path.stem for path in BAD} == {"bias-short", "weights-4x3", "model-string", "classes-integers", "bias-strings",
                                           "correction-list", "bias-nan-string", "bias-1e400", "name-not-string",
                                           "verdict-passed-string", "verdict-add-unknown-class"}


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


VERDICTS = json.loads((FIXTURES / "verdicts.json").read_text())


@pytest.mark.parametrize("case", VERDICTS["cases"], ids=lambda case: case["case"])
def test_every_profile_gets_the_shared_verdict_and_one_refused_keeps_the_shipped_model(case):
    """The one rule of the check (tests/js/personal.test.mjs holds personal.js to the same file)."""
    import numpy as np

    examples = {name: [(np.array(face["scores"]), np.array(face["features"])) for face in faces]
                for name, faces in case["examples"].items()}
    profile = fit_profile(MODEL, examples, reference=VERDICTS["reference_log_scores"] if case["reference"] else None)
    assert profile["verdict"] == case["verdict"]
    assert (profile["correction"] is not None) == case["verdict"]["passed"] and profile_problem(profile, MODEL, WIDTH) is None
    if "bias" in case:
        np.testing.assert_allclose(profile["correction"]["bias"], case["bias"], atol=1e-6)
    if "correction" in case:  # the fitted correction itself, as personal.js fits it too
        for part in ("weights", "bias"):
            np.testing.assert_allclose(profile["correction"][part], case["correction"][part], atol=2e-3)


def test_the_fixture_model_fits_profiles_as_exported_models_do():
    assert METADATA["personal"] == SETTINGS


# --- the same files in the browser: the page's check, the component, the page's Import ------------------------

SHIPPED = json.loads((Path(__file__).resolve().parents[1] / "component" / "models" / "model" / "metadata.json").read_text())


def shipped_profile(**fields) -> dict:
    """A profile the shipped model takes: no correction (the shipped model's own scores)."""
    return {"format": "mien-profile/1", "model": {"sha256": SHIPPED["weights_sha256"], "classes": SHIPPED["classes"]},
            "method": "logit-correction", "created": "2026-01-01T00:00:00+00:00", "examples": {"happy": 2}, "skipped": 0,
            "strength": 0.01, "check": None, "correction": None, **fields}


def test_the_pages_check_refuses_each_bad_profile_as_python_does(blank):
    """personal.js's profileProblem, given the files' own text: JSON.parse makes 1e400 Infinity there too."""
    problems = blank.evaluate("""async ([model, files]) => {
        const { profileProblem } = await import('/static/js/personal.js');
        return Object.fromEntries(Object.entries(files).map(([name, text]) => [name, profileProblem(JSON.parse(text), JSON.parse(model))]));
    }""", [(FIXTURES / "model.json").read_text(), {path.stem: path.read_text() for path in [*BAD, FIXTURES / "good.json"]}])
    assert problems == {**{path.stem: DAMAGED for path in BAD}, "good": None}


def test_the_component_refuses_bad_profiles_and_examples_with_a_sentence_and_a_topic(blank):
    """useProfile of each bad file, and personalise of faces whose features are not the model's
    (3 numbers, or NaN): one sentence each, with the topic 'argument'; the profile in use is kept."""
    from tests.test_component import evaluate

    result = evaluate(blank, """
        const mien = await Mien.create({ features: true });
        const refused = (promise) => promise.then(() => null, (error) => [error.message, error.topic]);
        const profiles = {};
        for (const [name, text] of Object.entries(arg.files)) profiles[name] = await refused(mien.useProfile(JSON.parse(text)));
        await mien.useProfile(arg.good);
        const face = (features) => ({ features, frameScores: { angry: 0.1, happy: 0.6, neutral: 0.2, sad: 0.1 } });
        const short = await refused(mien.personalise({ happy: [face([1, 2, 3])] }));
        const nan = await refused(mien.personalise({ happy: [face(Array(256).fill(NaN))] }));
        const inUse = mien.profile.name;
        mien.dispose();
        return { profiles, short, nan, inUse };""", {"files": {path.stem: path.read_text() for path in BAD},
                                                      "good": shipped_profile(name="kept")})
    assert result["profiles"] == {path.stem: [DAMAGED, "argument"] for path in BAD}
    features = ('A face given as an example of "happy" has no features of this model (256 finite numbers) or scores of its '
                '4 classes; give faces from results of a Mien created with {features: true} and this model, or pictures.')
    assert result["short"] == result["nan"] == [features, "argument"]
    assert result["inUse"] == "kept"


def test_the_page_refuses_bad_profile_files_trims_long_names_and_renames_the_profile_in_use(page, tmp_path):
    from playwright.sync_api import expect

    from tests.browser import start_camera, wait_for_faces

    start_camera(page)
    wait_for_faces(page)
    page.evaluate("() => { window.persistAsked = 0; navigator.storage.persist = async () => { window.persistAsked += 1; return true; }; }")
    said = page.locator('#messages [data-topic="profile"]')
    options = page.locator("#profile-select option")
    for path in BAD:  # row by row, made for the shipped model: refused with the one sentence, nothing kept
        made_for_ours = tmp_path / path.name
        made_for_ours.write_text(path.read_text().replace('"sha256": "fixture"', f'"sha256": "{SHIPPED["weights_sha256"]}"'))
        page.set_input_files("#profile-import", str(made_for_ours))
        expect(said).to_have_text(f"{path.name}: {DAMAGED}")
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(shipped_profile(name="huge", padding="x" * 2_000_000)))
    page.set_input_files("#profile-import", str(huge))
    expect(said).to_have_text("huge.json is 2.0 MB, too large for a profile (at most 1 MB); choose a file the page exported.")
    expect(options).to_have_count(1)  # "none (the shipped model)" alone
    assert page.evaluate("() => window.persistAsked") == 0  # nothing kept, nothing asked
    # A name longer than the page keeps is cut to 60 characters, and the page says so.
    long = tmp_path / "long.json"
    long.write_text(json.dumps(shipped_profile(name="L" * 10_000)))
    page.set_input_files("#profile-import", str(long))
    expect(said).to_have_text(f"The profile's name was longer than 60 characters: it is kept as \"{'L' * 60}\".")
    page.wait_for_function("() => window.mien.state.profile === 'L'.repeat(60) && window.mien.state.faces[0]?.profile === 'L'.repeat(60)")
    page.wait_for_function("() => window.persistAsked === 1")  # a profile kept: the browser is asked to keep the site's data
    # A good file after a refused one: the old message goes.
    page.set_input_files("#profile-import", str(BAD[0]))
    expect(said).to_have_text(f"{BAD[0].name}: {DAMAGED}")
    short = tmp_path / "ana.json"
    short.write_text(json.dumps(shipped_profile(name="Ana")))
    page.set_input_files("#profile-import", str(short))
    expect(said).to_have_count(0)
    page.wait_for_function("() => window.mien.state.profile === 'Ana'")
    # Renaming the profile in use: the list, the faces and what is recorded from now on take the new name.
    page.once("dialog", lambda dialog: dialog.accept("  Bea  "))
    page.click("#profile-rename")
    page.wait_for_function("() => window.mien.state.profile === 'Bea' && window.mien.state.faces[0]?.profile === 'Bea'")
    expect(page.locator("#profile-select option:checked")).to_have_text("Bea (unchecked)")  # made without a verdict
    page.click("#record-toggle")
    page.wait_for_function("async () => (await window.mien.record.rows()).some((row) => row.profile === 'Bea')")
    assert not page.evaluate("async () => (await window.mien.record.rows()).some((row) => row.profile === 'Ana')")
