"""``rekep solve`` end to end from files: rendered RGB-D on disk -> fake OpenAI-compatible VLM
over real HTTP -> validated program -> plan.json; then the same query replayed offline."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
from vlm_fake_server import FakeOpenAIServer, Reply
from vlm_replies import GOOD_REPLY

from rekep.cli import main
from rekep.plan import Plan
from rekep.vlm import QueryStore

pytest.importorskip("openai")
pytest.importorskip("pybullet")
cv2 = pytest.importorskip("cv2")


def _write_frame(folder: Path) -> list[str]:
    from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class

    with SimWorld() as world:
        panda = Panda(world)
        task = get_task_class("block_in_tray")(world)
        panda.reset_joints(HOME_Q, width=0.08)
        task.reset(0)
        rgbd, seg = task.camera().render(world.client)
        hand = panda.hand_pose()
        objects = list(task.object_bodies().values())
    labels = np.where(np.isin(seg, objects), seg, -1)
    cv2.imwrite(str(folder / "rgb.png"), rgbd.rgb[..., ::-1])
    np.save(folder / "depth.npy", rgbd.depth)
    np.save(folder / "masks.npy", labels)
    (folder / "K.json").write_text(json.dumps(rgbd.intrinsics.tolist()))
    np.savetxt(folder / "camera.txt", rgbd.T_world_camera)
    np.savetxt(folder / "hand.txt", hand)
    return [
        "solve", "--instruction", "put the red block in the tray",
        "--rgb", str(folder / "rgb.png"), "--depth", str(folder / "depth.npy"),
        "--intrinsics", str(folder / "K.json"), "--camera-pose", str(folder / "camera.txt"),
        "--masks", str(folder / "masks.npy"), "--hand-pose", str(folder / "hand.txt"),
    ]  # fmt: skip


def test_cli_solve_against_fake_vlm_then_replay(
    fake_server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for var in list(os.environ):
        if var.startswith(("REKEP_VLM_", "OPENAI_")):
            monkeypatch.delenv(var)
    store = tmp_path / "store"
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("REKEP_VLM_MODEL", "fake-vlm")
    # the scripted reply names keypoints 0, 2 and 3 as the simple proposer numbers them
    args = [*_write_frame(tmp_path), "--vlm-store", str(store), "--proposer", "simple"]

    fake_server.push(Reply(GOOD_REPLY))
    rrd = tmp_path / "plan.rrd"
    assert main([*args, "--out", str(tmp_path / "live"), "--record", str(rrd)]) == 0
    out = capsys.readouterr().out
    assert "feasible: true" in out
    if importlib.util.find_spec("rerun") is not None:  # the viz extra (make test installs it)
        from rekep.record.viewer import verify_recording

        assert "verified" in verify_recording(rrd)
    assert len(fake_server.requests) == 1
    plan = Plan.load(tmp_path / "live" / "plan.json")
    assert plan.feasible and len(plan.stages) == 2
    assert (tmp_path / "live" / "keypoints.png").exists()
    (saved,) = QueryStore(store).queries()

    fake_server.stop()
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    replay = [*args, "--out", str(tmp_path / "replay"), "--vlm-replay", str(saved.path)]
    assert main(replay) == 0
    again = Plan.load(tmp_path / "replay" / "plan.json")
    assert again.program.to_text() == plan.program.to_text()
    assert len(fake_server.requests) == 1  # nothing new reached the (stopped) server


def test_cli_solve_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "solve", "--instruction", "x", "--rgb", str(tmp_path / "nope.png"), "--depth", "d.npy",
        "--intrinsics", "K.json", "--masks", "m.npy",
    ])  # fmt: skip
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
