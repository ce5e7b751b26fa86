"""Propose keypoints on an RGB-D frame and save the numbered image a VLM would see.

Renders the simulated ``stack_blocks`` scene, takes the object masks from the simulator's
segmentation (any mask source works: your own masks, or ``mask_source="segmenter"`` for the
weight-free RGB-D segmenter), runs the ``features`` proposer (DINOv2 when local weights
exist, otherwise the weight-free geometric features) and writes ``out/examples/keypoints.png``.
Run: ``python examples/02_propose_keypoints.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keypoints.annotate import save_png
from keypoints.proposer import get_proposer
from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class
from rekep.sim.keypoint_modes import task_masks

OUT = Path("out/examples")


def main() -> None:
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        task = get_task_class("stack_blocks")(world)
        task.reset(seed=1000)
        rgbd, segmentation = task.camera().render(world.client)
        masks = task_masks(task, segmentation, rgbd)

    keypoints = get_proposer("features").propose(rgbd, masks)
    print(f"{len(keypoints)} keypoints on {len(set(keypoints.object_ids.tolist()))} objects")
    for i, (p, obj) in enumerate(zip(keypoints.positions, keypoints.object_ids, strict=True)):
        print(f"  {i:2d}: object {obj} at {np.round(p, 3)} m")
    if keypoints.annotated_image is None:
        print("no annotated image (install the vision extra: pip install 'rekep[vision]')")
        return
    path = save_png(OUT / "keypoints.png", keypoints.annotated_image)
    print(f"annotated image: {path}")
    print(f"success: {'true' if len(keypoints) >= 2 else 'false'}")


if __name__ == "__main__":
    main()
