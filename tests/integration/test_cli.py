"""The ``rekep`` command line: task listing, bad input handling, exit codes."""

from __future__ import annotations

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
    code = main(["demo", "--seed", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-1] == "success: true"
    assert any(line.startswith("stage 1/2") for line in out)
    assert (tmp_path / "keypoints.png").exists()


def test_negative_seed_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seed", "-1"]) == 2
    assert "seed" in capsys.readouterr().err
