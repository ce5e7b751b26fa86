"""Episode functions for the benchmark, and the choice between the open and closed loop.

``open_loop_episode`` runs :func:`rekep.episode.run_episode` (observe once, plan and
execute stage by stage; ignores ``tracker`` and ``disturb``). ``closed_loop_episode`` runs
``run_closed_loop_episode(ClosedLoopConfig)`` from :mod:`rekep.loop` (tracker, disturbances,
per-tick latencies and loop rate).

:func:`resolve_loop` decides at run time: ``auto`` (the default) is ``closed`` when
``run_closed_loop_episode`` is importable from ``rekep.loop`` (or ``rekep.loop.episode``),
else ``open``.
"""

from __future__ import annotations

import importlib
import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rekep.bench_tasks.records import EpisodeFn
from rekep.bench_tasks.spec import BenchInputError, EpisodeSpec
from rekep.errors import ConfigurationError, KeypointError, ProgramError

logger = logging.getLogger(__name__)

LOOPS = ("auto", "open", "closed")


def _plan_latencies(plan_file: Path) -> dict[str, list[float]]:
    """Sub-goal and path solve times (ms) per stage from a saved plan.json."""
    if not plan_file.is_file():
        return {}
    stages = json.loads(plan_file.read_text()).get("stages", [])
    out: dict[str, list[float]] = {"subgoal": [], "path": []}
    for stage in stages:
        for module in ("subgoal", "path"):
            seconds = (stage.get(module) or {}).get("wall_time_s")
            if seconds is not None:
                out[module].append(float(seconds) * 1000.0)
    return out


def _is_bimanual(task: str) -> bool:
    from rekep.sim.tasks.registry import get_task_class

    return bool(getattr(get_task_class(task), "bimanual", False))


def _recorder(spec: EpisodeSpec) -> Any:
    if spec.record_path is None:
        return None
    from rekep.record.rerun_recorder import RerunRecorder

    return RerunRecorder(spec.record_path)


def bimanual_episode(spec: EpisodeSpec, loop: str = "open") -> dict[str, Any]:
    """A two-arm task. ``loop="closed"``: the bimanual closed loop
    (:func:`rekep.loop.bimanual.run_bimanual_closed_loop_episode`, with ``spec.tracker``
    (None -> ``auto``), ``spec.keypoint_mode`` and ``spec.disturb`` -> disturbance ``auto``);
    ``loop="open"``: :func:`rekep.bimanual_episode.run_bimanual_episode` (both arms solved
    jointly, stage by stage; no tracker, no disturbances, ``loop_hz`` None)."""
    if loop == "closed":
        from rekep.loop.bimanual import BimanualClosedLoopConfig, run_bimanual_closed_loop_episode

        try:
            closed = run_bimanual_closed_loop_episode(BimanualClosedLoopConfig(
                task=spec.task, seed=spec.seed, keypoint_mode=spec.keypoint_mode,
                tracker=spec.tracker or "auto", disturbance="auto" if spec.disturb else None,
            ))  # fmt: skip
        except ProgramError as exc:
            return {"success": False, "failure": f"program: {exc}"}
        data = closed.to_dict()
        data["loop_hz"] = data.pop("loop_hz_median", None)
        return data
    from rekep.bimanual_episode import BimanualEpisodeConfig, run_bimanual_episode

    try:
        result = run_bimanual_episode(BimanualEpisodeConfig(
            task=spec.task, seed=spec.seed, keypoint_mode=spec.keypoint_mode,
        ))  # fmt: skip
    except ProgramError as exc:
        return {"success": False, "failure": f"program: {exc}"}
    record = result.to_dict()
    record["loop_hz"] = None
    return record


def open_loop_episode(spec: EpisodeSpec) -> dict[str, Any]:
    """One open-loop episode (:func:`rekep.episode.run_episode`) as a benchmark result.

    A constraint program that fails to load is failure ``"program: ..."`` and a keypoint
    error ``"perception: ..."`` (named failures, not crashes). ``tracker`` and ``disturb``
    are ignored (the open loop neither tracks nor arms disturbances). Latencies: sub-goal
    and path solve times from the plan; proposal and tracking are not measured here.
    """
    from rekep.episode import EpisodeConfig, run_episode

    if _is_bimanual(spec.task):
        return bimanual_episode(spec)
    recorder = _recorder(spec)
    with tempfile.TemporaryDirectory(prefix="rekep-bench-") as scratch:
        out_dir = Path(spec.out_dir) if spec.out_dir else Path(scratch)
        config = EpisodeConfig(
            task=spec.task,
            seed=spec.seed,
            keypoint_mode=spec.keypoint_mode,
            backend=spec.backend,
            out_dir=out_dir,
        )
        try:
            result = run_episode(config, recorder=recorder)
        except ProgramError as exc:
            return {"success": False, "failure": f"program: {exc}"}
        except KeypointError as exc:
            text = str(exc)
            return {
                "success": False,
                "failure": text if text.startswith("perception") else f"perception: {text}",
            }
        finally:
            if recorder is not None:
                recorder.close()
        record = result.to_dict()
        record["latency_ms"] = _plan_latencies(out_dir / "plan.json")
    record["loop_hz"] = None
    return record


def _closed_loop_module() -> Any:
    """The module providing ``run_closed_loop_episode`` (``rekep.loop`` re-export first,
    then ``rekep.loop.episode``); raises ImportError when neither does."""
    for name in ("rekep.loop", "rekep.loop.episode"):
        module = importlib.import_module(name)
        if callable(getattr(module, "run_closed_loop_episode", None)):
            return module
    raise ImportError("rekep.loop provides no run_closed_loop_episode")


def closed_loop_config(spec: EpisodeSpec) -> Any:
    """The ``ClosedLoopConfig`` for ``spec``: tracker None -> ``auto``, disturb ->
    disturbance ``auto`` (one of the task's supported kinds, chosen by seed)."""
    module = importlib.import_module("rekep.loop.episode")
    return module.ClosedLoopConfig(
        task=spec.task,
        seed=spec.seed,
        keypoint_mode=spec.keypoint_mode,
        tracker=spec.tracker or "auto",
        backend=spec.backend,
        disturbance="auto" if spec.disturb else None,
        out_dir=Path(spec.out_dir) if spec.out_dir else None,
    )


def closed_loop_episode(spec: EpisodeSpec) -> Mapping[str, Any]:
    """One closed-loop episode (``rekep.loop.episode.run_closed_loop_episode``).

    Its ``latency_ms`` are per-episode medians (tracking, subgoal, path, ...) and
    ``loop_hz_median`` becomes the record's ``loop_hz``. A program that fails to load is
    failure ``"program: ..."``.
    """
    if _is_bimanual(spec.task):
        return bimanual_episode(spec, loop="closed")
    run = _closed_loop_module().run_closed_loop_episode
    recorder = _recorder(spec)
    try:
        result = run(closed_loop_config(spec), recorder=recorder)
    except ProgramError as exc:
        return {"success": False, "failure": f"program: {exc}"}
    finally:
        if recorder is not None:
            recorder.close()
    data = dict(result.to_dict()) if hasattr(result, "to_dict") else dict(result)
    if "loop_hz" not in data:
        data["loop_hz"] = data.pop("loop_hz_median", None)
    return data


def closed_loop_available() -> bool:
    """True when ``run_closed_loop_episode`` can be imported from rekep.loop now."""
    try:
        _closed_loop_module()
    except ImportError:
        return False
    return True


def resolve_loop(loop: str) -> tuple[str, EpisodeFn]:
    """``(name, episode_fn)`` for ``loop`` in :data:`LOOPS` (``auto`` checks now).

    Raises:
        BenchInputError: unknown loop, or ``closed`` while rekep.loop is missing.
    """
    if loop not in LOOPS:
        raise BenchInputError(f"unknown loop {loop!r}; choose from {LOOPS}")
    if loop == "auto":
        loop = "closed" if closed_loop_available() else "open"
    if loop == "closed":
        if not closed_loop_available():
            raise BenchInputError(
                "--loop closed needs rekep.loop.run_closed_loop_episode, which is not "
                "importable in this installation; use --loop open"
            )
        return "closed", closed_loop_episode
    return "open", open_loop_episode


def validate_for_loop(loop: str, spec: EpisodeSpec) -> None:
    """Check options the chosen loop validates itself (e.g. the tracker name) once, before
    any episode runs, so a typo is one clear error instead of a crash per episode.

    Raises:
        BenchInputError: the loop rejects the options.
    """
    if loop != "closed":
        return
    try:
        closed_loop_config(spec)
    except ConfigurationError as exc:
        raise BenchInputError(f"the closed loop rejects these options: {exc}") from exc
