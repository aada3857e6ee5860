"""The mood record kept and restored: persistent storage asked for and reported, the record's own
size and the room left, and Import of the JSON export (merged, no second counted twice; a bad file
refused whole)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.test_record import recording_page, stored

# Older days, written as the page writes them: 90 s on 2020-03-05 (read with the profiles "anna",
# "Zoë, at home" and none, the last 20 s without a face), summarised per minute, and two seconds of
# another model's record, not yet summarised.
OLDER_DAYS = """async () => {
    const record = window.mien.record;
    const { dayOf } = await import('/static/js/record.js');  // days are local, as the page keeps them
    const start = Date.UTC(2020, 2, 5, 10, 0, 0);
    for (let second = 0; second < 90; second += 1) {
        const profile = second < 20 ? 'anna' : second < 50 ? 'Zoë, at home' : null;
        const face = second < 70;
        await record.add({ start: start + second * 1000, day: '2020-03-05', classes: ['angry', 'happy', 'neutral', 'sad'],
                           seconds: 1, faceSeconds: face ? 1 : 0, shares: face ? [0.1, 0.6 - second / 1000, 0.2, 0.1 + second / 1000] : null, profile });
    }
    await record.compact(start + 2 * 86400000);
    for (const second of [0, 1]) {
        await record.add({ start: start + second * 1000, day: dayOf(start), classes: ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise'],
                           seconds: 1, faceSeconds: second, shares: second ? [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1] : null, profile: null });
    }
}"""

ROWS_WITHOUT_ID = "async () => (await window.mien.record.rows()).map(({ id, ...row }) => row)"
ANSWERS = {"granted": True, "refused": False}


def export_json(page, path):
    with page.expect_download() as download:
        page.click("#record-json")
    download.value.save_as(path)
    return path.read_text()


def import_file(page, path, expected: str):
    page.set_input_files("#record-import", str(path))
    expect(page.locator("#record-imported")).to_have_text(expected)


def without_export_time(text: str) -> str:
    return re.sub(r'"exported": "[^"]*"', '"exported": ""', text)


def test_an_export_imported_into_an_emptied_record_gives_the_same_file_and_importing_it_again_adds_nothing(page, tmp_path):
    recording_page(page)  # today's seconds, recorded
    page.click("#record-toggle")
    page.evaluate(OLDER_DAYS)
    before = page.evaluate(ROWS_WITHOUT_ID)
    assert {row["profile"] for row in before if row.get("minute")} == {"anna", "Zoë, at home", None}
    first = export_json(page, tmp_path / "mien-record.json")
    assert json.loads(first)["intervals"][0]["minute"] is True

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#record-delete-all")
    expect(page.locator("#record-stored")).to_have_text("Nothing is stored.")
    import_file(page, tmp_path / "mien-record.json",
                f"Imported mien-record.json: {len(before)} intervals added, 0 skipped as already there.")
    assert page.evaluate(ROWS_WITHOUT_ID) == before  # every row as it was: day, minute summaries, profiles, models
    again = export_json(page, tmp_path / "again.json")
    assert without_export_time(again) == without_export_time(first)

    import_file(page, tmp_path / "mien-record.json",
                f"Imported mien-record.json: 0 intervals added, {len(before)} skipped as already there.")
    assert page.evaluate(ROWS_WITHOUT_ID) == before
    assert without_export_time(export_json(page, tmp_path / "third.json")) == without_export_time(first)


def test_an_older_exports_seconds_now_summarised_per_minute_are_skipped_and_a_deleted_day_comes_back(page, tmp_path):
    exported = page.evaluate("""async () => {
        const record = window.mien.record;
        const start = Date.UTC(2020, 2, 5, 10, 0, 30);  // 20 s from half past the minute, and 5 s the next day
        for (let second = 0; second < 20; second += 1) {
            await record.add({ start: start + second * 1000, day: '2020-03-05', classes: ['a', 'b'], seconds: 1,
                               faceSeconds: 1, shares: [0.25, 0.75], profile: null });
        }
        for (let second = 0; second < 5; second += 1) {
            await record.add({ start: start + 86400000 + second * 1000, day: '2020-03-06', classes: ['a', 'b'], seconds: 1,
                               faceSeconds: 1, shares: [0.25, 0.75], profile: null });
        }
        const exported = await record.json();  // seconds, all of them
        await record.compact(start + 3 * 86400000);  // since summarised: a minute row of 20 s from 10:00:00, one of 5 s
        return exported;
    }""")
    (tmp_path / "old.json").write_text(exported)
    import_file(page, tmp_path / "old.json", "Imported old.json: 0 intervals added, 25 skipped as already there.")
    assert sorted((row["seconds"], row.get("minute")) for row in stored(page)) == [(5, True), (20, True)]

    page.evaluate("""async () => {  // the day of the 20 s (in this computer's time zone, as the page keeps days)
        const { day } = (await window.mien.record.rows(['a', 'b'])).find((row) => row.seconds === 20);
        await window.mien.record.deleteDay(['a', 'b'], day);
    }""")
    import_file(page, tmp_path / "old.json", "Imported old.json: 20 intervals added, 5 skipped as already there.")
    assert sum(row["seconds"] for row in stored(page)) == 25

    other_model = json.loads(exported)
    for interval in other_model["intervals"]:
        interval["classes"], interval["shares"] = ["a", "b", "c"], [0.2, 0.7, 0.1]
    (tmp_path / "other.json").write_text(json.dumps(other_model))
    import_file(page, tmp_path / "other.json", "Imported other.json: 25 intervals added, 0 skipped as already there.")
    sets = page.evaluate("async () => (await window.mien.record.index()).map((set) => set.classes)")
    assert sorted(sets) == [["a", "b"], ["a", "b", "c"]]  # kept apart, at the same times


def test_an_export_written_before_minute_summaries_were_marked_is_read_by_its_seconds(page, tmp_path):
    (tmp_path / "before.json").write_text(json.dumps({"format": "mien-record/1", "exported": "2020-03-07T10:00:00.000Z", "intervals": [
        {"time": "2020-03-05T10:00:00.000Z", "seconds": 42, "face_seconds": 40, "classes": ["a", "b"], "shares": [0.5, 0.5],
         "label": "a", "profile": "anna"},
        {"time": "2020-03-05T10:01:00.000Z", "seconds": 1, "face_seconds": 0, "classes": ["a", "b"], "shares": None,
         "label": None},  # before profiles were named
    ]}))
    import_file(page, tmp_path / "before.json", "Imported before.json: 2 intervals added, 0 skipped as already there.")
    rows = sorted(page.evaluate(ROWS_WITHOUT_ID), key=lambda row: row["start"])
    assert [(row["seconds"], row.get("minute"), row["profile"]) for row in rows] == [(42, True, "anna"), (1, None, None)]


GOOD = {"time": "2020-03-05T10:00:00.000Z", "seconds": 1, "face_seconds": 1, "classes": ["a", "b"], "shares": [0.5, 0.5],
        "label": "a", "profile": None, "minute": False}


def record_file(*intervals) -> str:
    return json.dumps({"format": "mien-record/1", "exported": "2020-03-07T10:00:00.000Z", "intervals": [GOOD, *intervals]})


@pytest.mark.parametrize("name, text, reason", [
    ("notes.json", "{", "it is not JSON; import the file Export JSON writes"),
    ("profile.json", json.dumps({"format": "mien-profile/1", "intervals": []}),
     "it is no export of the mood record (Export JSON writes one, its format mien-record/1)"),
    ("mien-record-a-b.csv", 'time,seconds,face_in_view,label,profile,"a","b"\n2020-03-05T10:00:00.000Z,1,1,"a","",0.5,0.5\n',
     "a CSV export rounds the shares and marks no minute summary, so it cannot restore the record; import the file Export JSON writes"),
    ("bad.json", record_file(7), "interval 2 of 2 is not an object"),
    ("bad.json", record_file({**GOOD, "time": "yesterday"}), "interval 2 of 2 has no time that can be read"),
    ("bad.json", record_file({**GOOD, "seconds": 0}), "interval 2 of 2 has no positive number of seconds"),
    ("bad.json", record_file({**GOOD, "seconds": "1"}), "interval 2 of 2 has no positive number of seconds"),
    ("bad.json", record_file({**GOOD, "face_seconds": 2}), "interval 2 of 2 has face seconds that are no number from 0 to its seconds"),
    ("bad.json", record_file({**GOOD, "classes": ["a", 2]}), "interval 2 of 2 has classes that are no list of names"),
    ("bad.json", record_file({**GOOD, "shares": [0.5]}), "interval 2 of 2 has shares that are neither null nor 2 numbers"),
    ("bad.json", record_file({**GOOD, "shares": [None, 1]}), "interval 2 of 2 has shares that are neither null nor 2 numbers"),
    ("bad.json", record_file({**GOOD, "label": 3}), "interval 2 of 2 has a label that is neither a name nor null"),
    ("bad.json", record_file({**GOOD, "profile": {"name": "anna"}}), "interval 2 of 2 has a profile that is neither a name nor null"),
    ("bad.json", record_file({**GOOD, "minute": "yes"}), "interval 2 of 2 has a minute mark that is neither true nor false"),
], ids=["not json", "another format", "csv", "not an object", "time", "seconds", "seconds as text", "face seconds",
        "classes", "short shares", "no number", "label", "profile", "minute"])
def test_a_malformed_file_is_refused_with_one_sentence_and_nothing_changes(page, tmp_path, name, text, reason):
    page.evaluate("""async () => await window.mien.record.add({ start: Date.UTC(2020, 2, 4, 9), day: '2020-03-04',
        classes: ['a', 'b'], seconds: 1, faceSeconds: 1, shares: [0.5, 0.5], profile: null })""")
    before = page.evaluate(ROWS_WITHOUT_ID)
    (tmp_path / name).write_text(text)
    import_file(page, tmp_path / name, f"Nothing was imported from {name}: {reason}.")
    assert page.evaluate(ROWS_WITHOUT_ID) == before


def test_a_file_over_200_mb_is_refused_unread(page, tmp_path):
    large = tmp_path / "mien-record.json"
    with open(large, "wb") as handle:
        handle.truncate(210_000_000)  # no bytes written: the file is refused by its size alone
    import_file(page, large, "Nothing was imported from mien-record.json: it is 210.0 MB, larger than the 200 MB an export of the record may be.")
    assert stored(page) == []


# --- persistent storage: persist() stubbed, since headless Chromium grants it unpredictably ------------

def stub_storage(page, answer: str):
    """Reload ``page``, a second recorded, with navigator.storage's persist() answering ``answer``
    (granted, refused) or missing, as are persisted() and estimate() (300 MB used of 1.5 GB) with it."""
    page.evaluate("""async () => await window.mien.record.add({ start: Date.UTC(2020, 2, 4, 9), day: '2020-03-04',
        classes: ['a', 'b'], seconds: 1, faceSeconds: 1, shares: [0.5, 0.5], profile: 'anna' })""")
    page.add_init_script("""(() => {
        const answer = %s;
        const storage = navigator.storage;
        let kept = false;
        window.persistAsked = 0;
        const stub = (name, value) => Object.defineProperty(storage, name, { value, configurable: true });
        if (answer === null) {
            for (const name of ['persist', 'persisted', 'estimate']) stub(name, undefined);
            return;
        }
        stub('persisted', async () => kept);
        stub('persist', async () => { window.persistAsked += 1; kept = answer; return kept; });
        stub('estimate', async () => ({ usage: 300e6, quota: 1.5e9 }));
    })();""" % json.dumps(ANSWERS.get(answer)))
    page.reload()  # opened with a second of record
    page.wait_for_function("() => window.mien && window.mien.record")


def record_size(page) -> str:
    """The stored rows' own size as the page writes it (the characters of their JSON, in kB)."""
    size, text = page.evaluate("""async () => {
        const size = (await window.mien.record.rows()).reduce((sum, row) => sum + JSON.stringify(row).length, 0);
        return [size, `${(size / 1000).toFixed(1)} kB`];
    }""")
    assert size < 1000  # far from the site's 300 MB
    return text


def test_the_first_record_asks_to_keep_the_record_and_the_page_says_it_was_granted(page):
    stub_storage(page, "granted")
    expect(page.locator("#record-kept")).to_have_text(re.compile("^Persistent storage not granted"))  # not asked yet
    page.click("#record-toggle")
    expect(page.locator("#record-kept")).to_have_text(
        "Persistent storage granted: the browser will not clear the record to make room; it goes only when you delete it "
        "or clear this site's data.")
    expect(page.locator("#record-stored")).to_have_text(  # the record's own size, not the site's 300 MB
        f"Stored in this browser: 1 s over 1 day (1 interval, {record_size(page)}; room for 1.2 GB more).")
    page.click("#record-toggle")
    page.click("#record-toggle")
    expect(page.locator("#record-toggle")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("() => window.persistAsked") == 1  # asked once


def test_a_refused_request_is_said_with_the_advice_to_export_and_the_last_exports_date(page, tmp_path):
    stub_storage(page, "refused")
    page.click("#record-toggle")
    page.wait_for_function("() => window.persistAsked === 1")
    advice = "Persistent storage not granted: the browser may clear the record when the disk runs low, so keep a copy with Export JSON now and then"
    expect(page.locator("#record-kept")).to_have_text(f"{advice} (last export: never).")
    page.click("#record-toggle")
    export_json(page, tmp_path / "mien-record.json")
    today = page.evaluate("async () => (await import('/static/js/record.js')).dayOf(Date.now())")
    expect(page.locator("#record-kept")).to_have_text(f"{advice} (last export: {today}).")
    page.reload()  # the date is remembered
    expect(page.locator("#record-kept")).to_have_text(f"{advice} (last export: {today}).")


def test_keeping_a_profile_asks_through_the_same_call(page):
    stub_storage(page, "granted")
    page.evaluate("async () => await (await import('/static/js/storage.js')).askToKeep()")  # what teach.js calls
    expect(page.locator("#record-kept")).to_have_text(re.compile("^Persistent storage granted: "))
    assert page.evaluate("() => window.persistAsked") == 1


def test_a_browser_that_cannot_be_asked_is_named_plainly(page):
    stub_storage(page, "missing")
    page.click("#record-toggle")
    expect(page.locator("#record-kept")).to_have_text(
        "This browser cannot be asked for persistent storage (it has no navigator.storage.persist) and may clear the record "
        "when the disk runs low, so keep a copy with Export JSON now and then (last export: never).")
    expect(page.locator("#record-stored")).to_have_text(
        f"Stored in this browser: 1 s over 1 day (1 interval, {record_size(page)}; the browser does not say how much room is left).")
