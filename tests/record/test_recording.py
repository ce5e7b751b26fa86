"""Rerun recordings verify, videos decode, the composite forwards, bad input is clear."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rekep.errors import ConfigurationError
from rekep.observation import RGBD
from rekep.record.recorder import CompositeRecorder, Recorder

pytest.importorskip("rerun", reason="rerun-sdk is part of the viz extra that make test installs")
imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="viz extra")


def _frame() -> RGBD:
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 1.5, (48, 64)).astype(np.float32)
    depth[0, :5] = np.nan
    return RGBD(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), depth,
                [[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])  # fmt: skip


def test_rerun_recording_verifies_and_holds_every_kind(tmp_path: Path) -> None:
    from rekep.record.rerun_recorder import RerunRecorder
    from rekep.record.viewer import verify_recording

    path = tmp_path / "run.rrd"
    rec = RerunRecorder(path)
    for tick in range(4):
        rec.set_time(0.05 * tick)
        rec.log_observation(_frame())
        rec.log_keypoints(np.random.rand(5, 3), object_ids=[1, 1, 2, 2, 3])
        rec.log_hand(np.eye(4))
        rec.log_constraint_costs({"stage1_subgoal_constraint1": 0.1 * tick, "bad": float("nan")})
        rec.log_stage(1, "advance")
    rec.log_program("def stage1_subgoal_constraint1(end_effector, keypoints):\n    return 0.0")
    rec.log_subgoal(1, np.eye(4))
    rec.log_path(np.random.rand(6, 3))
    rec.log_annotated_image(np.zeros((10, 10, 3), np.uint8))
    rec.close()
    assert "verified" in verify_recording(path)
    assert path.stat().st_size > 10_000  # images and clouds were written, not just headers


def test_verify_rejects_a_broken_file(tmp_path: Path) -> None:
    from rekep.record.viewer import verify_recording

    bad = tmp_path / "bad.rrd"
    bad.write_bytes(b"not a recording")
    with pytest.raises(ConfigurationError, match="rejected"):
        verify_recording(bad)
    with pytest.raises(ConfigurationError, match="does not exist"):
        verify_recording(tmp_path / "missing.rrd")


def test_video_has_the_frames_written(tmp_path: Path) -> None:
    from rekep.record.video import VideoWriter

    path = tmp_path / "v.mp4"
    writer = VideoWriter(path, fps=10)
    for i in range(12):
        writer.add(np.full((61, 81, 3), 20 * i, np.uint8))  # odd sizes are cropped to even
    writer.close()
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 12 and seconds == pytest.approx(1.2, abs=0.05)


def test_sim_video_stops_filming_when_closed(tmp_path: Path) -> None:
    """Physics stepped after close (episodes settle before judging) leaves the file whole."""
    pytest.importorskip("pybullet")
    from rekep.record.sim_video import SimVideo
    from rekep.sim.camera import Camera
    from rekep.sim.world import SimWorld

    path = tmp_path / "sim.mp4"
    with SimWorld() as world:
        down = np.diag([1.0, -1.0, -1.0, 1.0])  # 1 m above the ground, looking down
        down[2, 3] = 1.0
        video = SimVideo(world, Camera(64, 48, 60.0, down), path, fps=60.0)
        world.step(48)
        video.close()
        world.step(48)
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames >= 10


def test_video_rejects_bad_frames_and_paths(tmp_path: Path) -> None:
    from rekep.record.video import VideoWriter

    with pytest.raises(ConfigurationError, match=r"\.mp4"):
        VideoWriter(tmp_path / "v.avi")
    writer = VideoWriter(tmp_path / "v.mp4")
    with pytest.raises(ConfigurationError, match="uint8"):
        writer.add(np.zeros((10, 10), np.uint8))
    writer.add(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ConfigurationError, match="differs"):
        writer.add(np.zeros((20, 10, 3), np.uint8))
    writer.close()


def test_composite_forwards_to_every_recorder() -> None:
    calls: list[tuple[str, object]] = []

    class Spy(Recorder):
        def log_stage(self, stage: int, event: str) -> None:
            calls.append(("stage", (stage, event)))

        def set_time(self, seconds: float) -> None:
            calls.append(("time", seconds))

    both = CompositeRecorder([Spy(), Spy()])
    both.set_time(1.5)
    both.log_stage(2, "backtrack")
    both.log_program("x")  # the base class ignores it
    stage = ("stage", (2, "backtrack"))
    assert calls == [("time", 1.5), ("time", 1.5), stage, stage]


def test_bench_report_writes_markdown_and_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="viz extra")
    from rekep.record.bench_report import write_bench_report

    results = {
        "tasks": {
            "block_in_tray": {"episodes": 10, "successes": 9, "success_rate": 0.9,
                              "ci95": [0.6, 0.98], "episode_s_median": 4.2,
                              "failures": {"grasp missed": 1}},
            "stack_blocks": {"episodes": 10, "successes": 10, "success_rate": 1.0,
                             "ci95": [0.72, 1.0], "episode_s_median": None, "failures": {}},
        },
        "mean_success": 0.95,
        "latency_ms": {"proposal": 80.0, "tracking": None, "subgoal": 3.0, "path": 8.0},
        "loop_hz_median": None,
        "config": {"seeds": 10},
    }  # fmt: skip
    report = write_bench_report(results, tmp_path / "rep", [{"wall_time_s": 4.0}] * 5)
    text = report.read_text()
    assert "| block_in_tray | 10 | 9 | 0.90 | 0.60-0.98 | 4.2 | grasp missed 1 |" in text
    assert "| stack_blocks | 10 | 10 | 1.00 | 0.72-1.00 | - | - |" in text
    for png in ("success_per_task.png", "latency_per_module.png", "episode_seconds.png"):
        assert (tmp_path / "rep" / png).read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigurationError, match="no tasks"):
        write_bench_report({"tasks": {}}, tmp_path / "empty")
