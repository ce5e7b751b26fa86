"""Film a PyBullet run from a recorder camera: one frame every ``1 / fps`` s of sim time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rekep.record.video import VideoWriter

if TYPE_CHECKING:
    from rekep.sim.camera import Camera
    from rekep.sim.world import SimWorld

RECORDER_SIZE = (480, 360)
"""Recorder camera resolution (width, height), pixels: small, so filming stays cheap."""


def recorder_camera(task_camera: Camera) -> Camera:
    """A smaller copy of the task's camera (same pose and field of view) for the video."""
    from rekep.sim.camera import Camera

    return Camera(RECORDER_SIZE[0], RECORDER_SIZE[1], task_camera.fov_y_deg,
                  task_camera.T_world_camera)  # fmt: skip


class SimVideo:
    """Attach to a :class:`SimWorld`; frames are rendered as physics advances."""

    def __init__(self, world: SimWorld, camera: Camera, path: str | Path, *, fps: float = 15.0):
        self.world = world
        self.camera = camera
        self.writer = VideoWriter(path, fps=fps)
        self._period = 1.0 / fps
        self._next_time = world.sim_time
        world.add_step_listener(self._on_step)

    def _on_step(self, world: SimWorld) -> None:
        if world.sim_time + 1e-9 >= self._next_time:
            self.capture()
            self._next_time += self._period

    def capture(self) -> None:
        """Render and append one frame now."""
        rgbd, _ = self.camera.render(self.world.client)
        self.writer.add(np.asarray(rgbd.rgb))

    def close(self) -> None:
        """Finish the file and stop filming: physics stepped afterwards (the episode's
        settle before judging) must not start a new file over the finished one."""
        self.world.remove_step_listener(self._on_step)
        self.writer.close()
