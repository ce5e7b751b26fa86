"""The :class:`Plan` that :func:`rekep.solve` returns, serialisable to JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rekep.keypoint_set import Keypoints
from rekep.program import ConstraintProgram, load_program
from solvers.solution import Solution


@dataclass(frozen=True)
class StagePlan:
    """What the planner decided for one stage (1-based ``number``)."""

    number: int
    subgoal: Solution
    path: Solution
    grasp_keypoint: int | tuple[int, int]
    release_keypoint: int | tuple[int, int]
    held_keypoints: tuple[int, ...]

    @property
    def feasible(self) -> bool:
        return self.subgoal.feasible and self.path.feasible

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "subgoal": self.subgoal.to_dict(),
            "path": self.path.to_dict(),
            "grasp_keypoint": _jsonable_index(self.grasp_keypoint),
            "release_keypoint": _jsonable_index(self.release_keypoint),
            "held_keypoints": list(self.held_keypoints),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StagePlan:
        return cls(
            number=int(data["number"]),
            subgoal=Solution.from_dict(data["subgoal"]),
            path=Solution.from_dict(data["path"]),
            grasp_keypoint=_index_from_json(data["grasp_keypoint"]),
            release_keypoint=_index_from_json(data["release_keypoint"]),
            held_keypoints=tuple(int(i) for i in data["held_keypoints"]),
        )


def _jsonable_index(value: int | tuple[int, int]) -> int | list[int]:
    return list(value) if isinstance(value, tuple) else int(value)


def _index_from_json(value: int | list[int]) -> int | tuple[int, int]:
    if isinstance(value, list):
        return (int(value[0]), int(value[1]))
    return int(value)


@dataclass(frozen=True)
class Plan:
    """Keypoints, the constraint program, per-stage sub-goals and a dense trajectory.

    ``subgoal_poses`` is (N, 4, 4) T_world_tcp, one per stage; ``trajectory`` is (M, 4, 4),
    the stage paths concatenated in order.
    """

    instruction: str
    keypoints: Keypoints
    program: ConstraintProgram
    stages: tuple[StagePlan, ...]

    @property
    def feasible(self) -> bool:
        return all(stage.feasible for stage in self.stages)

    @property
    def subgoal_poses(self) -> NDArray[np.float64]:
        return np.stack([stage.subgoal.pose for stage in self.stages])

    @property
    def trajectory(self) -> NDArray[np.float64]:
        parts = [stage.path.trajectory for stage in self.stages if len(stage.path.trajectory)]
        return np.concatenate(parts) if parts else np.zeros((0, 4, 4))

    @property
    def solutions(self) -> tuple[Solution, ...]:
        return tuple(s for stage in self.stages for s in (stage.subgoal, stage.path))

    def to_dict(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "feasible": self.feasible,
            "keypoints": self.keypoints.to_dict(),
            "program": self.program.to_text(),
            "stages": [stage.to_dict() for stage in self.stages],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> Path:
        """Write the plan as JSON; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json())
        return target

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        keypoints = Keypoints.from_dict(data["keypoints"])
        return cls(
            instruction=str(data["instruction"]),
            keypoints=keypoints,
            program=load_program(str(data["program"]), num_keypoints=len(keypoints)),
            stages=tuple(StagePlan.from_dict(s) for s in data["stages"]),
        )

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        return cls.from_dict(json.loads(Path(path).read_text()))
