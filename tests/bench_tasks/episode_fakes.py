"""Injected episode functions for the runner tests (module level, so they pickle by
reference into spawned workers). Seed 1 misbehaves; every other seed succeeds."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from rekep.bench_tasks.spec import EpisodeSpec

BAD_SEED = 1


def fine_episode(spec: EpisodeSpec) -> dict[str, Any]:
    """Even seeds succeed, odd seeds miss the grasp; latencies from the seed."""
    ok = spec.seed % 2 == 0
    return {
        "success": ok,
        "failure": None if ok else f"grasp missed: stage 1/2: seed {spec.seed}",
        "latency_ms": {"subgoal": [float(spec.seed), 2.0 * spec.seed], "path": [1.0]},
        "loop_hz": 20.0 + spec.seed,
    }


def raising_episode(spec: EpisodeSpec) -> dict[str, Any]:
    if spec.seed == BAD_SEED:
        raise RuntimeError("injected failure in the episode function")
    return {"success": True, "failure": None}


def dying_episode(spec: EpisodeSpec) -> dict[str, Any]:
    if spec.seed == BAD_SEED:
        os._exit(3)  # the worker process dies without a Python exception
    time.sleep(0.2)
    return {"success": True, "failure": None}


def sleeping_episode(spec: EpisodeSpec) -> dict[str, Any]:
    if spec.seed == BAD_SEED:
        time.sleep(60)
    return {"success": True, "failure": None}


def stuck_episode(spec: EpisodeSpec) -> dict[str, Any]:
    """Seed 1 ignores the soft timeout (as code stuck in native code would)."""
    if spec.seed == BAD_SEED:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        time.sleep(60)
    return {"success": True, "failure": None}


PID_FILE_ENV = "REKEP_TEST_PID_FILE"


def pid_sleeping_episode(spec: EpisodeSpec) -> dict[str, Any]:
    """Seed 1 writes its worker's pid to the file named by ``$REKEP_TEST_PID_FILE``, sleeps
    half a minute and then writes ``<file>.finished``; the others return at once."""
    if spec.seed == BAD_SEED:
        with open(os.environ[PID_FILE_ENV], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(30)
        with open(os.environ[PID_FILE_ENV] + ".finished", "w") as f:
            f.write("slept")
    return {"success": True, "failure": None}
