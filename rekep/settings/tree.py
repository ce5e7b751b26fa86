"""The one typed settings tree behind the CLI: run, proposer, solver, loop (and tracker),
grasp and VLM settings.

Load it from a TOML, YAML or JSON file (:func:`load_settings`), override single values with
``--set group.name=value`` (:func:`rekep.settings.dataclass_tree.override`) and print the
effective values with ``rekep config show``. Groups reuse the library's own validated
configuration dataclasses (``VLMConfig``, ``GraspConfig``) so a setting means the same thing
in code and in a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from rekep.errors import ConfigurationError
from rekep.robot import GraspConfig
from rekep.settings.dataclass_tree import from_dict, override
from rekep.vlm.config import VLMConfig

KEYPOINT_MODES = ("proposed", "annotated")
PROPOSERS = ("simple", "features")


@dataclass(frozen=True)
class RunSettings:
    """What to run: task name (``rekep tasks``), scene seed, keypoint mode (``proposed`` from
    the rendered RGB-D, or the privileged ``annotated`` task anchors), output folder."""

    task: str = "block_in_tray"
    seed: int = 0
    keypoints: str = "proposed"
    out: Path = Path("out/demo")

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigurationError(f"run.seed must be >= 0, got {self.seed}")
        if self.keypoints not in KEYPOINT_MODES:
            raise ConfigurationError(
                f"run.keypoints must be one of {KEYPOINT_MODES}, got {self.keypoints!r}"
            )


@dataclass(frozen=True)
class ProposerSettings:
    """Keypoint proposer: ``simple`` (extremal points per mask) or ``features`` (feature
    clustering; extractor ``auto`` = DINOv2 when local weights exist, else geometric)."""

    name: str = "features"

    def __post_init__(self) -> None:
        if self.name not in PROPOSERS:
            raise ConfigurationError(f"proposer.name must be one of {PROPOSERS}, got {self.name!r}")


@dataclass(frozen=True)
class SolverSettings:
    """Sub-goal solver: backend (``casadi`` joint space, ``scipy``, ``rekep_baseline``),
    constraint tolerance (constraint units, usually metres), multi-start seeds on a cold
    solve, default grasp approach (``top_down``, ``side``, ``free``)."""

    backend: str = "casadi"
    tolerance: float = 0.01
    num_seeds: int = 4
    approach: str = "top_down"

    def __post_init__(self) -> None:
        from solvers.subgoal import APPROACHES, SUBGOAL_BACKENDS

        if self.backend not in SUBGOAL_BACKENDS:
            raise ConfigurationError(
                f"solver.backend must be one of {sorted(SUBGOAL_BACKENDS)}, got {self.backend!r}"
            )
        if self.approach not in APPROACHES:
            raise ConfigurationError(
                f"solver.approach must be one of {list(APPROACHES)}, got {self.approach!r}"
            )
        if not self.tolerance > 0:
            raise ConfigurationError(f"solver.tolerance must be > 0, got {self.tolerance}")
        if self.num_seeds < 1:
            raise ConfigurationError(f"solver.num_seeds must be >= 1, got {self.num_seeds}")


LOOP_MODES = ("closed", "open")
TRACKER_NAMES = ("auto", "sim", "flow", "cotracker")
DISTURBANCES = ("auto", "move_target", "knock_out", "rotate_object")


@dataclass(frozen=True)
class LoopSettings:
    """Execution: ``closed`` (track keypoints, re-solve every tick, backtrack) or ``open``
    (plan each stage once and execute it); the tracker (``auto`` = ``flow`` when OpenCV is
    installed; ``sim`` is privileged: debugging and upper bounds only); planner ticks per
    second of robot time; ticks between observations; the episode's robot-time limit; an
    optional disturbance (``auto`` picks one the task supports) at a stage (None: the kind's
    default stage)."""

    mode: str = "closed"
    tracker: str = "auto"
    hz: float = 20.0
    observe_every: int = 1
    episode_timeout_s: float = 120.0
    disturbance: str | None = None
    disturb_stage: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in LOOP_MODES:
            raise ConfigurationError(f"loop.mode must be one of {LOOP_MODES}, got {self.mode!r}")
        if self.tracker not in TRACKER_NAMES:
            raise ConfigurationError(
                f"loop.tracker must be one of {TRACKER_NAMES}, got {self.tracker!r}"
            )
        if self.disturbance is not None and self.disturbance not in DISTURBANCES:
            raise ConfigurationError(
                f"loop.disturbance must be one of {DISTURBANCES} or unset, got {self.disturbance!r}"
            )
        if not self.hz > 0 or self.observe_every < 1 or not self.episode_timeout_s > 0:
            raise ConfigurationError(
                "loop.hz and loop.episode_timeout_s must be > 0 and loop.observe_every >= 1"
            )
        if self.disturb_stage is not None and self.disturb_stage < 1:
            raise ConfigurationError(f"loop.disturb_stage must be >= 1, got {self.disturb_stage}")


@dataclass(frozen=True)
class RekepSettings:
    """The whole tree; ``rekep config show`` prints it."""

    run: RunSettings = field(default_factory=RunSettings)
    proposer: ProposerSettings = field(default_factory=ProposerSettings)
    solver: SolverSettings = field(default_factory=SolverSettings)
    loop: LoopSettings = field(default_factory=LoopSettings)
    grasp: GraspConfig = field(default_factory=GraspConfig)
    vlm: VLMConfig = field(default_factory=VLMConfig)


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigurationError(f"settings file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError as exc:
                raise ConfigurationError(
                    f"reading {path} needs PyYAML (pip install pyyaml), or use TOML"
                ) from exc
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigurationError(
                f"settings file {path}: use .toml, .yaml, .yml or .json, got {suffix!r}"
            )
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ConfigurationError(f"settings file {path} is not valid {suffix[1:]}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"settings file {path} must hold a table of groups")
    return data


def load_settings(path: str | Path | None = None, assignments: list[str] | None = None
                  ) -> RekepSettings:  # fmt: skip
    """Defaults, then the file at ``path`` (if any), then each ``name=value`` assignment."""
    settings = RekepSettings() if path is None else from_dict(RekepSettings, _read_file(Path(path)))
    for assignment in assignments or []:
        settings = override(settings, assignment)
    return settings
