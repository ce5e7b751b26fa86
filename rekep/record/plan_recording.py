"""Log a whole :class:`~rekep.plan.Plan` (one ``rekep.solve`` call) to a recorder.

The timeline is the stage number (stage ``n`` at ``t = n`` seconds), so scrubbing shows each
stage's sub-goal pose, planned path and constraint values at the answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rekep.observation import RGBD
from rekep.record.recorder import Recorder


def record_plan(recorder: Recorder, rgbd: RGBD, plan: Any) -> None:
    """Observation, keypoints, annotated image, program, then per stage: sub-goal, path,
    status line and the sub-goal's constraint values."""
    recorder.set_time(0.0)
    recorder.log_observation(rgbd)
    kps = plan.keypoints
    recorder.log_keypoints(kps.positions, object_ids=np.asarray(kps.object_ids).tolist())
    if kps.annotated_image is not None:
        recorder.log_annotated_image(kps.annotated_image)
    recorder.log_program(plan.program.to_text())
    for stage in plan.stages:
        recorder.set_time(float(stage.number))
        recorder.log_subgoal(stage.number, stage.subgoal.pose)
        trajectory = np.asarray(stage.path.trajectory)
        if len(trajectory):
            recorder.log_path(trajectory[:, :3, 3])
        recorder.log_constraint_costs(dict(stage.subgoal.violations))
        recorder.log_stage(stage.number, f"sub-goal {stage.subgoal.status}, "
                           f"path {stage.path.status}: {stage.subgoal.reason}")  # fmt: skip
