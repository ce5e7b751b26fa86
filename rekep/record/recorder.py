"""What a run reports to recorders (Rerun, video, ...), as one small interface.

Runners (``rekep demo``, the closed loop, ``rekep solve``) call these methods at the moments
they happen; :class:`Recorder` itself does nothing, so a run without ``--record`` pays
nothing. Units: metres, seconds of robot time, (4, 4) world poses, (N, 3) world points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from rekep.observation import RGBD

FloatArray = NDArray[np.float64]


class Recorder:
    """No-op base; subclasses override what they record."""

    def set_time(self, seconds: float) -> None:
        """Robot time of everything logged next, seconds."""

    def log_observation(self, rgbd: RGBD, *, name: str = "camera") -> None:
        """An RGB-D frame with its camera pose and intrinsics (and its point cloud)."""

    def log_keypoints(self, positions: FloatArray, *, object_ids: Sequence[int] | None = None,
                      name: str = "keypoints") -> None:  # fmt: skip
        """(K, 3) keypoints, labelled with their indices."""

    def log_annotated_image(self, image: NDArray[np.uint8]) -> None:
        """The numbered-keypoint image shown to the VLM, (H, W, 3) uint8 RGB."""

    def log_program(self, text: str) -> None:
        """The constraint program's text."""

    def log_stage(self, stage: int, event: str) -> None:
        """A stage change, a backtrack, a grasp or a failure, as one line of text."""

    def log_subgoal(self, stage: int, T_world_tcp: FloatArray) -> None:
        """The solved sub-goal TCP pose of ``stage``."""

    def log_path(self, positions: FloatArray, *, name: str = "planned") -> None:
        """(N, 3) TCP positions of a path (``planned`` or ``executed``)."""

    def log_hand(self, T_world_tcp: FloatArray) -> None:
        """The measured TCP pose now."""

    def log_constraint_costs(self, costs: Mapping[str, float]) -> None:
        """Constraint name -> cost now (<= tolerance means it holds)."""

    def close(self) -> None:
        """Flush and release files."""


class CompositeRecorder(Recorder):
    """Forwards every call to each of several recorders."""

    def __init__(self, recorders: Sequence[Recorder]) -> None:
        self.recorders = list(recorders)

    def __getattribute__(self, name: str):  # type: ignore[no-untyped-def]
        if name.startswith(("log_", "set_time", "close")):
            targets = object.__getattribute__(self, "recorders")

            def forward(*args, **kwargs):  # type: ignore[no-untyped-def]
                for recorder in targets:
                    getattr(recorder, name)(*args, **kwargs)

            return forward
        return object.__getattribute__(self, name)
