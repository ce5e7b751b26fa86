"""``rekep.solve`` without a program asks the VLM configured in the environment."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from vlm_fake_server import FakeOpenAIServer, Reply
from vlm_replies import GOOD_CODE, MALFORMED_REPLY

import rekep
from rekep.keypoint_set import Keypoints
from rekep.vlm import QueryStore

pytest.importorskip("openai")
pytest.importorskip("rekep.program")

INSTRUCTION = "put the block into the bowl"


def _scene() -> tuple[rekep.RGBD, Keypoints]:
    """A camera 1 m above a flat table; a block (0, 1) and a bowl rim (2-5) on the table."""
    h, w = 48, 64
    intrinsics = np.array([[50.0, 0.0, 32.0], [0.0, 50.0, 24.0], [0.0, 0.0, 1.0]])
    T_world_camera = np.eye(4)
    T_world_camera[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T_world_camera[2, 3] = 1.0
    rgbd = rekep.RGBD(
        rgb=np.zeros((h, w, 3), np.uint8),
        depth=np.full((h, w), 1.0, np.float32),
        intrinsics=intrinsics,
        T_world_camera=T_world_camera,
    )
    positions = [[0, 0, 0.02], [0.02, 0, 0.02], [0.2, 0.1, 0], [0.25, 0.1, 0], [0.2, 0.15, 0],
                 [0.25, 0.15, 0]]  # fmt: skip
    image = np.random.default_rng(3).integers(0, 256, (h, w, 3), dtype=np.uint8)
    keypoints = Keypoints(
        positions=np.array(positions, dtype=float),
        pixels=np.zeros((6, 2)),
        object_ids=np.array([0, 0, 1, 1, 1, 1]),
        annotated_image=image,
    )
    return rgbd, keypoints


def test_solve_asks_the_configured_vlm_then_replays_offline(
    fake_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    for var in list(os.environ):
        if var.startswith(("REKEP_VLM_", "OPENAI_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("REKEP_VLM_MODEL", "fake-vlm")
    monkeypatch.setenv("REKEP_VLM_STORE_DIR", str(store))
    monkeypatch.setenv("REKEP_VLM_BACKOFF_INITIAL_S", "0.001")
    rgbd, keypoints = _scene()
    expected = rekep.load_program(GOOD_CODE, num_keypoints=6).to_text()

    fake_server.push(Reply(MALFORMED_REPLY), Reply(f"```python\n{GOOD_CODE}```"))
    plan = rekep.solve(INSTRUCTION, rgbd, keypoints=keypoints)
    assert plan.program.to_text() == expected
    assert len(fake_server.requests) == 2
    (saved,) = QueryStore(store).queries()
    assert saved.status == "ok" and saved.meta["model"] == "fake-vlm"

    fake_server.stop()
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("REKEP_VLM_BACKEND", "replay")
    replayed = rekep.solve(INSTRUCTION, rgbd, keypoints=keypoints)
    assert replayed.program.to_text() == expected
    assert len(fake_server.requests) == 2
