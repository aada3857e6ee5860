"""python -m pipeline.mood: a recording's expressions per hour, from pipeline.detect's CSV."""

from __future__ import annotations

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
        "camera 0,0.033,2026-11-28T10:00:00.100,,,,,,,,,,\n",
        "camera 0,0.066,2026-11-28T10:00:00.200,0,10,10,100,100,angry,0.6000,0.2000,0.1000,0.1000\n",
        "camera 0,0.099,2026-11-28T10:00:00.300,0,10,10,100,100,angry,0.8000,0.0000,0.1000,0.1000\n",
    ]))
    nine, ten = mood.main([str(recording)])
    assert (nine.label, nine.frames, nine.with_face) == ("2026-11-28 09:00", 1, 1)
    assert nine.shares.tolist() == pytest.approx([0.1, 0.7, 0.1, 0.1])
    assert (ten.label, ten.frames, ten.with_face) == ("2026-11-28 10:00", 3, 2)
    assert ten.shares.tolist() == pytest.approx([0.7, 0.1, 0.1, 0.1])
    out = capsys.readouterr().out
    assert "2026-11-28 10:00             3         66.7%     70.0%" in out
    assert (tmp_path / "today.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_video_file_is_summarised_by_hours_since_its_start(tmp_path):
    recording = tmp_path / "talk.csv"
    recording.write_text(HEADER + "talk.mp4,10.0,,0,1,1,80,80,sad,0.1,0.1,0.1,0.7\n"
                                  "talk.mp4,3700.0,,0,1,1,80,80,happy,0.1,0.7,0.1,0.1\n")
    hours = mood.main([str(recording), "--chart", str(tmp_path / "chart.png")])
    assert [hour.label for hour in hours] == ["talk.mp4, hour 1", "talk.mp4, hour 2"]
    assert (tmp_path / "chart.png").exists()


def test_a_csv_of_something_else_is_one_sentence(tmp_path, capsys):
    other = tmp_path / "other.csv"
    other.write_text("name,score\na,1\n")
    with pytest.raises(SystemExit) as stopped:
        mood.main([str(other)])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {other} is not a CSV written by python -m pipeline.detect --csv")
