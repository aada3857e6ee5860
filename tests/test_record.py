"""The mood record on the page: recorded only when asked, kept in this browser, shown, exported, deleted."""

from __future__ import annotations

import csv
import io
import time

import pytest

from tests.browser import start_camera, wait_for_faces

ROWS = "async () => await window.mien.record.rows()"


def stored(page) -> list[dict]:
    return page.evaluate(ROWS)


def wait_for_rows(page, more_than: int, condition: str = "true", timeout: float = 30) -> list[dict]:
    """The stored rows, once more than ``more_than`` of them meet ``condition`` (a JS expression of ``row``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = stored(page)
        if len(page.evaluate(f"(rows) => rows.filter((row) => {condition})", rows)) > more_than:
            return rows
        time.sleep(0.2)
    raise AssertionError(f"no more than {more_than} stored rows met {condition} in {timeout} s")


def recording_page(page):
    start_camera(page)
    wait_for_faces(page)
    page.click("#record-toggle")
    wait_for_rows(page, 2)


def test_nothing_is_stored_while_recording_is_off(page):
    start_camera(page)
    wait_for_faces(page)
    time.sleep(2.5)
    assert stored(page) == []
    assert page.text_content("#record-stored") == "Nothing is stored."
    assert page.get_attribute("#record-toggle", "aria-pressed") == "false"


def test_recording_stores_a_second_by_second_record_of_the_main_face_that_survives_a_reload(page):
    recording_page(page)
    rows = stored(page)
    assert all(row["classes"] == ["angry", "happy", "neutral", "sad"] and row["seconds"] == 1 and row["faceSeconds"] == 1
               for row in rows)
    assert all(max(range(4), key=row["shares"].__getitem__) == 1 for row in rows)  # happy, as on the page
    starts = [row["start"] for row in rows]
    assert all(0.5 <= (b - a) / 1000 <= 1.5 for a, b in zip(starts[1:], starts[2:]))  # one a second
    page.click("#record-toggle")  # off
    count = len(stored(page))
    page.reload()
    page.wait_for_function("() => window.mien && window.mien.state.ready", timeout=90_000)
    assert len(stored(page)) == count
    page.wait_for_function("() => document.querySelector('#record-summary').textContent.includes('happy')")
    assert "a face in view 100% of that time" in page.text_content("#record-summary")
    assert page.query_selector("#record-chart canvas") is not None  # the day's timeline
    assert page.text_content("#record-stored").startswith(f"Stored in this browser: {count} s over 1 day")


def test_a_hidden_tab_or_a_stopped_camera_stores_nothing(page):
    recording_page(page)
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', { value: true, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    time.sleep(1.2)  # an interval in progress may still close
    hidden_at = len(stored(page))
    time.sleep(2.5)
    assert len(stored(page)) == hidden_at
    page.evaluate("""() => { delete document.hidden; document.dispatchEvent(new Event('visibilitychange')); }""")
    wait_for_rows(page, hidden_at)
    page.click("#camera-toggle")  # stop the camera, still recording
    time.sleep(1.2)
    stopped_at = len(stored(page))
    time.sleep(2.5)
    assert len(stored(page)) == stopped_at
    assert page.get_attribute("#record-toggle", "aria-pressed") == "true"


def test_the_csv_export_is_what_was_stored(page):
    recording_page(page)
    page.click("#record-toggle")
    rows = stored(page)
    with page.expect_download() as download:
        page.click("#record-csv")
    assert download.value.suggested_filename == "mien-record-angry-happy-neutral-sad.csv"
    lines = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert list(lines[0]) == ["time", "seconds", "face_in_view", "label", "profile", "angry", "happy", "neutral", "sad"]
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows):
        assert line["label"] == "happy" and float(line["face_in_view"]) == 1 and line["seconds"] == "1"
        assert [float(line[name]) for name in ("angry", "happy", "neutral", "sad")] == pytest.approx(row["shares"], abs=1e-4)
    with page.expect_download() as download:
        page.click("#record-json")
    assert open(download.value.path()).read().count('"label": "happy"') == len(rows)


def test_python_summarises_what_the_page_exported(page, tmp_path):
    from pipeline import mood

    recording_page(page)
    page.click("#record-toggle")
    rows = stored(page)
    with page.expect_download() as download:
        page.click("#record-csv")
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    hours = mood.main([str(exported)])  # one hour, or two when the recording crossed one
    assert sum(hour.seconds for hour in hours) == len(rows) and all(hour.in_view == 1 for hour in hours)
    assert all(max(range(4), key=hour.shares.__getitem__) == 1 for hour in hours)  # happy, as the page read it
    assert exported.with_suffix(".png").exists()


def test_delete_empties_the_record_after_a_confirmation(page):
    recording_page(page)
    page.click("#record-toggle")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#record-delete-all")
    assert len(stored(page)) >= 3  # not confirmed: kept
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#record-delete-all")
    page.wait_for_function("() => document.querySelector('#record-stored').textContent === 'Nothing is stored.'")
    assert stored(page) == []


def test_records_of_another_model_are_kept_apart(page):
    recording_page(page)
    page.select_option("#model-select", "/models/model-7/")
    wait_for_rows(page, 0, "row.classes.length === 7", timeout=60)
    page.click("#record-toggle")
    sets = page.evaluate("async () => (await window.mien.record.index()).map((set) => set.classes)")
    assert sorted(sets) == [["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"],
                            ["angry", "happy", "neutral", "sad"]]
    four = page.evaluate("async () => await window.mien.record.csv(['angry', 'happy', 'neutral', 'sad'])")
    assert all(len(line.split(",")) == 9 for line in four.strip().splitlines())  # no 7-class row among them


def test_intervals_older_than_a_day_are_summarised_per_minute(page):
    summary = page.evaluate("""async () => {
        const record = window.mien.record;
        const start = Date.UTC(2026, 0, 5, 10, 0, 0);
        for (let second = 0; second < 90; second += 1) {  // 90 s: a face for the first 60, none after
            const face = second < 60;
            await record.add({ start: start + second * 1000, day: '2026-01-05', classes: ['a', 'b'], seconds: 1,
                               faceSeconds: face ? 1 : 0, shares: face ? [second < 30 ? 1 : 0, second < 30 ? 0 : 1] : null });
        }
        await record.compact(start + 2 * 24 * 3600 * 1000);
        return (await record.rows(['a', 'b'])).map(({ start, seconds, faceSeconds, shares }) => ({ start, seconds, faceSeconds, shares }));
    }""")
    assert summary == [{"start": 1767607200000, "seconds": 60, "faceSeconds": 60, "shares": [0.5, 0.5]},
                       {"start": 1767607260000, "seconds": 30, "faceSeconds": 0, "shares": None}]


def test_a_minute_read_with_two_profiles_is_summarised_per_profile(page):
    """Compaction keeps which profile each second was read with: a minute that mixes two is split."""
    summary = page.evaluate("""async () => {
        const record = window.mien.record;
        const start = Date.UTC(2026, 0, 5, 10, 0, 0);
        for (let second = 0; second < 60; second += 1) {  // anna for 20 s, ben for 30, no profile for 10
            const profile = second < 20 ? 'anna' : second < 50 ? 'ben' : null;
            await record.add({ start: start + second * 1000, day: '2026-01-05', classes: ['a', 'b'], seconds: 1,
                               faceSeconds: 1, shares: profile === 'anna' ? [1, 0] : [0, 1], profile });
        }
        await record.compact(start + 2 * 24 * 3600 * 1000);
        return (await record.rows(['a', 'b'])).map(({ seconds, shares, profile }) => ({ seconds, shares, profile }));
    }""")
    assert sorted(summary, key=lambda row: row["seconds"]) == [
        {"seconds": 10, "shares": [0, 1], "profile": None},
        {"seconds": 20, "shares": [1, 0], "profile": "anna"},
        {"seconds": 30, "shares": [0, 1], "profile": "ben"},
    ]


def test_a_record_written_by_version_two_is_upgraded_and_compacted_with_its_profiles(page):
    """Version 2 (0.2.0) wrote minute rows without a profile; opening the record gives each row one
    (null where it was not kept) and loses no second."""
    rows = page.evaluate("""async () => {
        const { default: Dexie } = await import('/vendor/dexie/dexie.min.mjs');
        const old = new Dexie('mien-record-v2');
        old.version(2).stores({ intervals: '++id, start, [classes+day], [classes+start]' });
        const classes = ['angry', 'happy', 'neutral', 'sad'];
        const start = Date.UTC(2026, 0, 4, 9);
        await old.intervals.add({ start, day: '2026-01-04', classes, minute: true, seconds: 60, faceSeconds: 60,
                                  shares: [0.1, 0.6, 0.2, 0.1] });  // compacted by version 2: no profile
        for (const [offset, profile] of [[0, 'anna'], [1, 'anna'], [2, 'ben']]) {
            await old.intervals.add({ start: start + 86400000 + offset * 1000, day: '2026-01-05', classes, seconds: 1,
                                      faceSeconds: 1, shares: [0.1, 0.6, 0.2, 0.1], profile });
        }
        old.close();
        const { MoodRecord } = await import('/static/js/record.js');
        const record = new MoodRecord('mien-record-v2');
        await record.compact(start + 4 * 86400000);
        return (await record.rows()).map(({ day, seconds, profile }) => ({ day, seconds, profile }));
    }""")
    assert sorted(rows, key=lambda row: (row["day"], row["seconds"])) == [
        {"day": "2026-01-04", "seconds": 60, "profile": None},
        {"day": "2026-01-05", "seconds": 1, "profile": "ben"},
        {"day": "2026-01-05", "seconds": 2, "profile": "anna"},
    ]


def test_class_names_with_commas_quotes_or_formulas_are_stored_and_exported_as_they_are(page):
    names = ['a,b"c', '=HYPERLINK("http://evil.example","x")', "+1", "plain"]
    exported = page.evaluate("""async (names) => {
        const record = window.mien.record;
        await record.add({ start: Date.UTC(2026, 0, 5, 10), day: '2026-01-05', classes: names, seconds: 1,
                           faceSeconds: 1, shares: [0.1, 0.6, 0.2, 0.1] });
        const [set] = (await record.index()).filter((entry) => entry.classes.length === 4 && entry.classes[0] === names[0]);
        return { classes: set.classes, csv: await record.csv(names) };
    }""", names)
    assert exported["classes"] == names  # a list, not names joined by commas
    header, row = list(csv.reader(io.StringIO(exported["csv"])))
    assert header == ["time", "seconds", "face_in_view", "label", "profile", 'a,b"c', "'=HYPERLINK(\"http://evil.example\",\"x\")", "'+1", "plain"]
    assert len(row) == len(header) and row[3] == "'=HYPERLINK(\"http://evil.example\",\"x\")"  # no formula runs


def test_a_record_written_by_the_previous_version_is_upgraded_without_losing_a_day(page):
    """Version 1 stored class names joined by commas; opening the record upgrades every row."""
    rows = page.evaluate("""async () => {
        const { default: Dexie } = await import('/vendor/dexie/dexie.min.mjs');
        const old = new Dexie('mien-record-v1');
        old.version(1).stores({ intervals: '++id, start, [classes+day], [classes+start]' });
        for (const [day, start] of [['2026-01-04', Date.UTC(2026, 0, 4, 9)], ['2026-01-05', Date.UTC(2026, 0, 5, 9)]]) {
            await old.intervals.add({ start, day, classes: 'angry,happy,neutral,sad', seconds: 1, faceSeconds: 1,
                                      shares: [0.1, 0.6, 0.2, 0.1] });
        }
        old.close();
        const { MoodRecord } = await import('/static/js/record.js');
        const record = new MoodRecord('mien-record-v1');
        const index = await record.index();
        return { rows: await record.rows(), index };
    }""")
    assert [row["classes"] for row in rows["rows"]] == [["angry", "happy", "neutral", "sad"]] * 2
    assert rows["index"] == [{"classes": ["angry", "happy", "neutral", "sad"], "days": ["2026-01-05", "2026-01-04"]}]


def test_two_tabs_recording_at_once_store_each_second_once(browser, server):
    from tests.browser import open_page

    context = browser.new_context()  # one browser profile: the tabs share the record and its recorder
    first, _, _ = open_page(context, server)
    second, _, _ = open_page(context, server)
    for tab in (first, second):
        start_camera(tab)
        wait_for_faces(tab)
        tab.click("#record-toggle")
    time.sleep(1.5)  # the second tab has asked for the recorder by now
    before = len(stored(first))
    time.sleep(6)
    rows = stored(first)
    assert 4 <= len(rows) - before <= 8  # one tab's six seconds, not both tabs'
    starts = sorted(row["start"] for row in rows)
    assert all(b - a >= 500 for a, b in zip(starts, starts[1:]))  # no second counted twice
    second.wait_for_function("() => document.querySelector('#record-status').textContent.startsWith('Another tab is recording')")
    first.close()  # the recording tab goes: the other one takes over
    wait_for_rows(second, len(rows) + 2)
    context.close()
