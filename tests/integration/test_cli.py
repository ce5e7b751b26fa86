"""The ``rekep`` command line: task listing, bad input handling, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from rekep.cli import main


def test_tasks_lists_registered_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pybullet")
    assert main(["tasks"]) == 0
    assert "block_in_tray" in capsys.readouterr().out


def test_unknown_task_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pybullet")
    assert main(["demo", "--task", "no_such_task"]) == 2
    err = capsys.readouterr().err
    assert "no_such_task" in err and "block_in_tray" in err


def test_demo_prints_stages_and_success(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pybullet")
    code = main(["demo", "--seed", "2", "--out", str(tmp_path), "--loop", "open"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-1] == "success: true"
    assert any(line.startswith("stage 1/2") for line in out)
    assert (tmp_path / "keypoints.png").exists()


def test_closed_loop_demo_records_a_verified_rrd_and_a_video(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]
                                                              ) -> None:  # fmt: skip
    """The #8 done-when: demo --record --video --out writes what a newcomer can open."""
    pytest.importorskip("pybullet")
    pytest.importorskip("rerun")
    ffmpeg = pytest.importorskip("imageio_ffmpeg")
    from rekep.record.viewer import verify_recording

    rrd, mp4 = tmp_path / "run.rrd", tmp_path / "run.mp4"
    code = main(["demo", "--seed", "1", "--out", str(tmp_path), "--record", str(rrd),
                 "--video", str(mp4), "--tracker", "flow"])  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert out[-1] == "success: true"
    assert any(line.startswith("tracker flow;") for line in out)
    assert "verified" in verify_recording(rrd)
    frames, seconds = ffmpeg.count_frames_and_secs(str(mp4))
    assert frames > 20 and seconds > 1.0
    assert (tmp_path / "keypoints.png").read_bytes()[:4] == b"\x89PNG"


def test_negative_seed_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seed", "-1"]) == 2
    assert "seed" in capsys.readouterr().err
