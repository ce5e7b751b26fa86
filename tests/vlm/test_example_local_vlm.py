"""examples/05_local_vlm.py against the fake OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from vlm_fake_server import FakeOpenAIServer, Reply

pytest.importorskip("openai")
pytest.importorskip("pybullet")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "05_local_vlm.py"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REKEP_VLM_", "OPENAI_"))}
    env.update(extra)
    return env


def _correct_reply() -> str:
    """What a good VLM would answer for the example's scene: the task's reference program
    with its anchors resolved to the keypoints the example's proposer will number."""
    from keypoints.proposer import get_proposer
    from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class
    from rekep.sim.keypoint_modes import resolve_anchors, task_masks

    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        task = get_task_class("block_in_tray")(world)
        task.reset(seed=0)
        rgbd, segmentation = task.camera().render(world.client)
        keypoints = get_proposer("features").propose(rgbd, task_masks(task, segmentation, rgbd))
        code = task.resolved_program(resolve_anchors(task, keypoints))
    return f"Grasp the block, then hold it above the tray.\n```python\n{code}```\n"


def test_local_vlm_example_plans_with_the_servers_program(
    fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    fake_server.push(Reply(_correct_reply()))
    env = _env(OPENAI_BASE_URL=fake_server.url, OPENAI_API_KEY="k", REKEP_VLM_MODEL="fake-vlm",
               REKEP_VLM_STORE_DIR=str(tmp_path / "store"))  # fmt: skip
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=300, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "feasible: True" in done.stdout and "asking fake-vlm" in done.stdout
    assert len(fake_server.requests) == 1
    assert any((tmp_path / "store").rglob("*.json"))  # the query was saved for replay


def test_local_vlm_example_says_why_it_skips_without_an_endpoint() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=120, env=_env(), check=False)  # fmt: skip
    assert done.returncode == 0
    assert "skipped: no local VLM configured" in done.stdout
