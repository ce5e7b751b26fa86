"""The Ray path: same per-episode outcomes as the local path (real episodes), and crashes,
dead workers and stuck tasks become failures while the other episodes report. One local
Ray instance (2 CPUs, no dashboard) serves the module and is shut down after it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import episode_fakes as fakes
import pytest

ray = pytest.importorskip("ray")

from rekep.bench_tasks.episodes import closed_loop_episode, open_loop_episode  # noqa: E402
from rekep.bench_tasks.local_runner import run_local  # noqa: E402
from rekep.bench_tasks.ray_runner import run_ray  # noqa: E402
from rekep.bench_tasks.spec import EpisodeSpec  # noqa: E402


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    # Ray workers inherit the environment: let them import the injected episode functions.
    here = str(Path(__file__).parent)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


_TIMING = re.compile(r"\d+ ms|\[[\d.]+ s\]")


def _outcome(record: dict[str, Any]) -> dict[str, Any]:
    """Everything physical about an episode, without wall-clock timings."""
    details = record["details"]
    return {
        "seed": record["seed"],
        "success": record["success"],
        "failure": record["failure"],
        "outcome": details.get("outcome"),
        "stages": [
            (s["number"], _TIMING.sub("T", s["event"]), s["measured_subgoal_cost"])
            for s in details.get("stages", [])
        ],
    }


@pytest.mark.sim
@pytest.mark.parametrize(("episode_fn", "tracker"),
                         [(open_loop_episode, None), (closed_loop_episode, "flow")],
                         ids=["open_loop", "closed_loop_flow"])  # fmt: skip
def test_ray_and_local_agree_on_two_episodes(
    ray_instance: None, episode_fn: Any, tracker: str | None
) -> None:
    pytest.importorskip("pybullet")
    specs = [EpisodeSpec("block_in_tray", seed, tracker=tracker) for seed in (1000, 1001)]
    local = run_local(specs, episode_fn, workers=2, timeout_s=240)
    remote = run_ray(specs, episode_fn, timeout_s=240)
    assert [r["seed"] for r in local] == [r["seed"] for r in remote] == [1000, 1001]
    assert all(r["failure"] is None or not r["failure"].startswith("crash") for r in local)
    assert [_outcome(r) for r in local] == [_outcome(r) for r in remote]
    assert all(r["details"]["outcome"] for r in local)  # a real outcome was compared


@pytest.mark.parametrize(
    ("episode_fn", "prefix"),
    [
        (fakes.raising_episode, "crash: RuntimeError: injected failure"),
        (fakes.dying_episode, "crash: worker process died"),
        (fakes.stuck_episode, "timeout: no result after 5 s (task cancelled)"),
    ],
)
def test_ray_faults_are_failures_and_others_report(
    ray_instance: None, episode_fn: Any, prefix: str
) -> None:
    # Start both workers first, with a generous limit: on a loaded machine a cold worker's
    # start-up alone can exceed the short deadline below, which is meant for seed 1 only.
    warm = run_ray([EpisodeSpec("a", seed) for seed in (0, 2)], fakes.fine_episode, timeout_s=120)
    assert [r["success"] for r in warm] == [True, True]
    specs = [EpisodeSpec("a", seed) for seed in range(4)]
    records = run_ray(specs, episode_fn, timeout_s=1.0, grace_s=4.0)
    assert [r["seed"] for r in records] == [0, 1, 2, 3]
    bad = records[fakes.BAD_SEED]
    assert not bad["success"] and bad["failure"].startswith(prefix), bad["failure"]
    assert all(r["success"] for r in records if r["seed"] != fakes.BAD_SEED)
