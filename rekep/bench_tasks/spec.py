"""What one benchmark episode is (:class:`EpisodeSpec`), and how a run's episodes are
chosen from task names, a seed count and a split (:func:`plan_episodes`).

A spec is small, frozen and picklable: it is what travels to a worker process or a Ray
task, and the worker builds everything else (its own SimWorld) from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rekep.errors import ConfigurationError

KEYPOINT_MODES = ("annotated", "proposed")
SPLITS = ("train", "test")
SPLIT_FIRST_SEED = {"train": 0, "test": 1000}
"""First seed of each split; see :mod:`rekep.sim.tasks.placement` (train 0-999, test 1000-1999)."""
SPLIT_SIZE = 1000


class BenchInputError(ConfigurationError):
    """The benchmark was asked for something impossible (unknown task, empty seed range,
    bad option); raised before any episode runs."""


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to run.

    Attributes:
        task: registered task name (``rekep tasks``).
        seed: scene randomization seed, >= 0.
        keypoint_mode: ``annotated`` (task anchors) or ``proposed`` (rendered RGB-D).
        backend: sub-goal solver backend (``casadi``, ``scipy``, ``rekep_baseline``).
        tracker: tracker name for the closed loop; None = the loop's default. The open loop
            does not track and ignores it.
        disturb: arm the task's disturbances (closed loop); recorded by the open loop.
        out_dir: directory for this episode's artefacts (plan.json, keypoints.png); None
            keeps nothing.
        record_path: write a Rerun recording of the episode to this ``.rrd`` path.
    """

    task: str
    seed: int
    keypoint_mode: str = "annotated"
    backend: str = "casadi"
    tracker: str | None = None
    disturb: bool = False
    out_dir: str | None = None
    record_path: str | None = None

    def __post_init__(self) -> None:
        if not self.task:
            raise BenchInputError("EpisodeSpec.task must be a non-empty task name")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise BenchInputError(f"EpisodeSpec.seed must be an int >= 0, got {self.seed!r}")
        if self.keypoint_mode not in KEYPOINT_MODES:
            raise BenchInputError(
                f"keypoint mode must be one of {KEYPOINT_MODES}, got {self.keypoint_mode!r}"
            )

    @property
    def key(self) -> str:
        """``"<task>/<seed>"``, unique within a run."""
        return f"{self.task}/{self.seed}"


def seed_range(num_seeds: int, split: str) -> range:
    """The first ``num_seeds`` seeds of ``split`` (test: 1000.., train: 0..).

    Raises:
        BenchInputError: unknown split, ``num_seeds < 1`` (an empty range) or more seeds
            than the split holds (the splits are disjoint).
    """
    if split not in SPLITS:
        raise BenchInputError(f"unknown split {split!r}; choose from {SPLITS}")
    if num_seeds < 1:
        raise BenchInputError(
            f"--seeds must be >= 1 (got {num_seeds}): an empty seed range runs nothing"
        )
    if num_seeds > SPLIT_SIZE:
        raise BenchInputError(
            f"--seeds {num_seeds} exceeds the {split} split's {SPLIT_SIZE} seeds; use at most "
            f"{SPLIT_SIZE} so train and test seeds stay disjoint"
        )
    first = SPLIT_FIRST_SEED[split]
    return range(first, first + num_seeds)


def parse_task_names(text: str | None, known: Sequence[str]) -> list[str]:
    """Task names from ``"a,b"`` (None or ``"all"``: every known task, sorted).

    Raises:
        BenchInputError: an unknown name (the message lists the valid ones), an empty
            list, or a name given twice.
    """
    if text is None or text.strip() == "all":
        return sorted(known)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise BenchInputError(f"--tasks is empty; valid tasks: {', '.join(sorted(known))}")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BenchInputError(
            f"unknown task(s) {', '.join(repr(n) for n in unknown)}; "
            f"valid tasks: {', '.join(sorted(known))}"
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise BenchInputError(f"task(s) given twice in --tasks: {', '.join(duplicated)}")
    return names


def plan_episodes(
    tasks: Sequence[str],
    seeds: range,
    *,
    keypoint_mode: str = "annotated",
    backend: str = "casadi",
    tracker: str | None = None,
    disturb: bool = False,
    out_dir: str | None = None,
    record_dir: str | None = None,
) -> list[EpisodeSpec]:
    """Every (task, seed) episode, task-major; each gets ``out_dir/<task>/<seed>`` when
    ``out_dir`` is given and ``record_dir/<task>_<seed>.rrd`` when ``record_dir`` is."""
    if len(seeds) == 0:
        raise BenchInputError("empty seed range: nothing to run")
    return [
        EpisodeSpec(
            task=task,
            seed=seed,
            keypoint_mode=keypoint_mode,
            backend=backend,
            tracker=tracker,
            disturb=disturb,
            out_dir=None if out_dir is None else f"{out_dir}/episodes/{task}/{seed}",
            record_path=None if record_dir is None else f"{record_dir}/{task}_{seed}.rrd",
        )
        for task in tasks
        for seed in seeds
    ]
