"""Let a local OpenAI-compatible VLM (vLLM, Ollama, LM Studio, ...) write the program.

Configure the endpoint with environment variables, e.g.::

    export OPENAI_BASE_URL=http://localhost:8000/v1   # your server
    export OPENAI_API_KEY=anything                     # local servers accept any key
    export REKEP_VLM_MODEL=Qwen2-VL-7B-Instruct        # the model it serves
    python examples/05_local_vlm.py

Without ``OPENAI_BASE_URL``/``REKEP_VLM_BASE_URL`` the example prints why it is skipped and
exits 0 (nothing is sent to a hosted service by accident). Every query is saved under the
VLM store folder, so a run can be replayed offline with ``REKEP_VLM_BACKEND=replay``.
"""

from __future__ import annotations

import sys

import numpy as np

import rekep
from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class
from rekep.sim.keypoint_modes import task_masks
from rekep.vlm.config import VLMConfig


def main() -> int:
    config = VLMConfig.from_env()
    replaying = config.backend == "replay"
    if config.base_url is None and not replaying:
        print("skipped: no local VLM configured (set OPENAI_BASE_URL to its /v1 endpoint)")
        return 0
    with SimWorld() as world:
        panda = Panda(world)
        task = get_task_class("block_in_tray")(world)
        panda.reset_joints(HOME_Q, width=0.08)
        task.reset(seed=0)
        rgbd, segmentation = task.camera().render(world.client)
        masks = task_masks(task, segmentation, rgbd)
        hand = panda.hand_pose()
    print(f"asking {config.model} at {config.base_url or 'the replay store'} ...")
    plan = rekep.solve(task.instruction, rgbd, masks=masks, T_world_tcp=hand, vlm=config)
    print(plan.program.to_text())
    for stage in plan.stages:
        print(f"stage {stage.number}: feasible={stage.feasible} "
              f"sub-goal TCP at {np.round(stage.subgoal.pose[:3, 3], 3)} m")  # fmt: skip
    print(f"trajectory: {len(plan.trajectory)} poses; feasible: {plan.feasible}")
    return 0 if plan.feasible else 1


if __name__ == "__main__":
    sys.exit(main())
