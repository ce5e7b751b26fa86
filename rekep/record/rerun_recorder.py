"""Record a run to a Rerun ``.rrd`` file (open it with ``rerun FILE`` or ``rekep view FILE``).

Entity layout: ``world/camera`` (pinhole, RGB and depth), ``world/points`` (the observed
cloud, subsampled), ``world/keypoints`` (labelled with indices), ``world/hand`` and
``world/subgoal/stage_N`` (TCP poses), ``world/path/planned`` and ``world/path/executed``,
``annotated`` (the VLM's image), ``program`` (text), ``events`` (stage changes, backtracks),
``costs/<constraint>`` (scalars over time). The timeline ``robot_time`` is in seconds.
Nothing is sent anywhere: the stream only writes the file.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rekep.availability import require
from rekep.observation import RGBD
from rekep.record.recorder import FloatArray, Recorder

MAX_CLOUD_POINTS = 20000
"""The observed cloud is subsampled to at most this many points per frame."""


class RerunRecorder(Recorder):
    """Writes everything logged to ``path`` (an ``.rrd`` file)."""

    def __init__(self, path: str | Path, *, application_id: str = "rekep") -> None:
        require("rerun", purpose="recording runs to .rrd files")
        import rerun as rr

        self._rr = rr
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = rr.RecordingStream(application_id, recording_id=uuid.uuid4())
        self._stream.save(self.path)
        self._stream.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
        self._executed: list[FloatArray] = []

    def _log(self, entity: str, *components: object, static: bool = False) -> None:
        self._stream.log(entity, *components, static=static)  # type: ignore[arg-type]

    def set_time(self, seconds: float) -> None:
        self._stream.set_time("robot_time", duration=float(seconds))

    def log_observation(self, rgbd: RGBD, *, name: str = "camera") -> None:
        rr = self._rr
        T = rgbd.T_world_camera
        self._log(f"world/{name}", rr.Transform3D(translation=T[:3, 3], mat3x3=T[:3, :3]))
        self._log(f"world/{name}/image", rr.Pinhole(
            image_from_camera=rgbd.intrinsics, resolution=[rgbd.width, rgbd.height],
            camera_xyz=rr.ViewCoordinates.RDF,
        ))  # fmt: skip
        self._log(f"world/{name}/image/rgb", rr.Image(rgbd.rgb))
        depth = np.nan_to_num(np.asarray(rgbd.depth, dtype=np.float32), nan=0.0)
        self._log(f"world/{name}/image/depth", rr.DepthImage(depth, meter=1.0))
        cloud = rgbd.points_world()
        if len(cloud) > MAX_CLOUD_POINTS:
            cloud = cloud[:: int(np.ceil(len(cloud) / MAX_CLOUD_POINTS))]
        self._log("world/points", rr.Points3D(cloud, radii=0.002))

    def log_keypoints(self, positions: FloatArray, *, object_ids: Sequence[int] | None = None,
                      name: str = "keypoints") -> None:  # fmt: skip
        rr = self._rr
        pts = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        labels = [str(i) for i in range(len(pts))]
        class_ids = None if object_ids is None else np.asarray(object_ids, dtype=np.int64)
        self._log(f"world/{name}", rr.Points3D(
            pts, labels=labels, radii=0.008, class_ids=class_ids, show_labels=True,
        ))  # fmt: skip

    def log_annotated_image(self, image: np.ndarray) -> None:
        self._log("annotated", self._rr.Image(np.asarray(image, dtype=np.uint8)))

    def log_program(self, text: str) -> None:
        doc = f"```python\n{text}\n```"
        self._log("program", self._rr.TextDocument(doc, media_type="text/markdown"))

    def log_stage(self, stage: int, event: str) -> None:
        rr = self._rr
        self._log("events", rr.TextLog(f"stage {stage}: {event}", level="INFO"))
        self._log("stage", rr.Scalars(float(stage)))

    def log_subgoal(self, stage: int, T_world_tcp: FloatArray) -> None:
        T = np.asarray(T_world_tcp, dtype=np.float64)
        self._log(f"world/subgoal/stage_{stage}",
                  self._rr.Transform3D(translation=T[:3, 3], mat3x3=T[:3, :3]),
                  self._rr.TransformAxes3D(0.08))  # fmt: skip

    def log_path(self, positions: FloatArray, *, name: str = "planned") -> None:
        pts = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        if len(pts) >= 2:
            self._log(f"world/path/{name}", self._rr.LineStrips3D([pts], radii=0.003))

    def log_hand(self, T_world_tcp: FloatArray) -> None:
        T = np.asarray(T_world_tcp, dtype=np.float64)
        self._log("world/hand", self._rr.Transform3D(translation=T[:3, 3], mat3x3=T[:3, :3]),
                  self._rr.TransformAxes3D(0.06))  # fmt: skip
        self._executed.append(T[:3, 3].copy())
        self.log_path(np.array(self._executed), name="executed")

    def log_constraint_costs(self, costs: Mapping[str, float]) -> None:
        for name, value in costs.items():
            if np.isfinite(value):
                self._log(f"costs/{name}", self._rr.Scalars(float(value)))

    def close(self) -> None:
        self._stream.flush()
        self._stream.disconnect()
