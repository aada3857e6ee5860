"""python -m pipeline.mood: a recording's expressions per hour, from the page's Export CSV or
pipeline.detect's CSV."""

from __future__ import annotations

from datetime import datetime

import pytest

from pipeline import mood

HEADER = "source,time_s,clock,face,x,y,width,height,label,angry,happy,neutral,sad\n"


def test_each_hour_gets_the_main_faces_mean_shares_and_a_chart(tmp_path, capsys):
    recording = tmp_path / "today.csv"
    recording.write_text(HEADER + "".join([
        # 09:59: two faces; the larger (100x100) is the main one
        "camera 0,0.000,2026-11-28T09:59:59.500,0,10,10,100,100,happy,0.1000,0.7000,0.1000,0.1000\n",
        "camera 0,0.000,2026-11-28T09:59:59.500,1,200,10,50,50,sad,0.0000,0.0000,0.0000,1.0000\n",
        # 10:00: a frame without a face, then two angry ones
        "camera 0,0.500,2026-11-28T10:00:00.000,,,,,,,,,,\n",
        "camera 0,1.000,2026-11-28T10:00:00.500,0,10,10,100,100,angry,0.6000,0.2000,0.1000,0.1000\n",
        "camera 0,1.500,2026-11-28T10:00:01.000,0,10,10,100,100,angry,0.8000,0.0000,0.1000,0.1000\n",
    ]))
    nine, ten = mood.main([str(recording)])
    assert (nine.label, nine.seconds, nine.face_seconds) == ("2026-11-28 09:00", 0.5, 0.5)  # a frame lasts 0.5 s
    assert nine.shares.tolist() == pytest.approx([0.1, 0.7, 0.1, 0.1])
    assert (ten.label, ten.seconds, ten.face_seconds) == ("2026-11-28 10:00", 1.5, 1.0)
    assert ten.shares.tolist() == pytest.approx([0.7, 0.1, 0.1, 0.1])
    out = capsys.readouterr().out
    assert "2026-11-28 10:00               1.5 s         66.7%     70.0%" in out
    assert (tmp_path / "today.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_video_file_is_summarised_by_hours_since_its_start(tmp_path):
    recording = tmp_path / "talk.csv"
    recording.write_text(HEADER + "talk.mp4,10.0,,0,1,1,80,80,sad,0.1,0.1,0.1,0.7\n"
                                  "talk.mp4,3700.0,,0,1,1,80,80,happy,0.1,0.7,0.1,0.1\n")
    hours = mood.main([str(recording), "--chart", str(tmp_path / "chart.png")])
    assert [hour.label for hour in hours] == ["talk.mp4, hour 1", "talk.mp4, hour 2"]
    assert (tmp_path / "chart.png").exists()


def test_the_pages_export_is_summarised_by_the_time_of_each_interval(tmp_path):
    recording = tmp_path / "mien-record.csv"
    recording.write_text("time,seconds,face_in_view,label,angry,happy,neutral,sad\n"
                         "2026-11-28T09:59:59.000Z,1,1,happy,0.1,0.7,0.1,0.1\n"
                         "2026-11-28T10:00:00.000Z,1,0,,,,,\n"
                         "2026-11-28T10:01:00.000Z,60,0.5,angry,0.6,0.2,0.1,0.1\n")
    nine, ten = mood.main([str(recording)])
    local_hour = datetime.fromisoformat("2026-11-28T09:59:59.000Z").astimezone().strftime("%Y-%m-%d %H:00")
    assert (nine.label, nine.seconds, nine.face_seconds) == (local_hour, 1, 1)  # the page's days are local too
    assert (ten.seconds, ten.face_seconds, ten.in_view) == (61, 30, pytest.approx(30 / 61))
    assert ten.shares.tolist() == pytest.approx([0.6, 0.2, 0.1, 0.1])


def test_a_csv_of_something_else_is_one_sentence(tmp_path, capsys):
    other = tmp_path / "other.csv"
    other.write_text("name,score\na,1\n")
    with pytest.raises(SystemExit) as stopped:
        mood.main([str(other)])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {other} is neither the page's Export CSV nor a CSV of")


PAGE_HEADER = "time,seconds,face_in_view,label,angry,happy,neutral,sad\n"


@pytest.mark.parametrize("body", [
    PAGE_HEADER + "2026-11-28T10:00:00.000Z,1,1,happy,0.1,zero,0.1,0.1\n",  # a bad number
    PAGE_HEADER + "yesterday,1,1,happy,0.1,0.7,0.1,0.1\n",  # a bad clock
    PAGE_HEADER + "2026-11-28T10:00:00.000Z,1,1,happy,0.1,,0.1,0.1\n",  # an empty score
    PAGE_HEADER + "2026-11-28T10:00:00.000Z,1,1,happy,0.1,0.7,0.1,0.1,0.9\n",  # an extra column
    PAGE_HEADER + "2026-11-28T10:00:00.000Z,1\n",  # a short row
    HEADER + "camera 0,0.0,noon,0,10,10,100,100,happy,0.1,0.7,0.1,0.1\n",  # a bad clock in detect's CSV
    HEADER + "camera 0,0.0,,0,10,10,wide,100,happy,0.1,0.7,0.1,0.1\n",  # a bad number there
], ids=["number", "clock", "empty score", "extra column", "short row", "detect clock", "detect number"])
def test_a_row_that_does_not_fit_is_one_sentence(tmp_path, capsys, body):
    recording = tmp_path / "bad.csv"
    recording.write_text(body)
    with pytest.raises(SystemExit) as stopped:
        mood.main([str(recording)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {recording} has a row that does not fit its header (") and error.count("\n") == 1


def test_a_csv_saved_by_a_spreadsheet_with_a_byte_order_mark_is_read(tmp_path):
    recording = tmp_path / "saved.csv"
    recording.write_bytes("\ufeff".encode() + (PAGE_HEADER + "2026-11-28T10:00:00.000Z,1,1,happy,0.1,0.7,0.1,0.1\n").encode())
    (hour,) = mood.main([str(recording)])
    assert hour.shares.tolist() == pytest.approx([0.1, 0.7, 0.1, 0.1])


def test_the_chart_goes_into_a_folder_given_or_made(tmp_path, capsys):
    recording = tmp_path / "today.csv"
    recording.write_text(PAGE_HEADER + "2026-11-28T10:00:00.000Z,1,1,happy,0.1,0.7,0.1,0.1\n")
    (tmp_path / "charts").mkdir()
    mood.main([str(recording), "--chart", str(tmp_path / "charts")])
    assert (tmp_path / "charts" / "today.png").exists() and f"chart: {tmp_path / 'charts' / 'today.png'}" in capsys.readouterr().out
    mood.main([str(recording), "--chart", str(tmp_path / "new" / "folder" / "mood.png")])
    assert (tmp_path / "new" / "folder" / "mood.png").exists()


def test_formula_guarded_class_names_read_back_as_they_were(tmp_path):
    recording = tmp_path / "guarded.csv"
    recording.write_text("time,seconds,face_in_view,label,\"'=HYPERLINK(\"\"x\"\")\",\"a,b\"\n"
                         "2026-11-28T10:00:00.000Z,1,1,\"a,b\",0.3,0.7\n")
    classes, _ = mood.read_recording(recording)
    assert classes == ['=HYPERLINK("x")', "a,b"]
