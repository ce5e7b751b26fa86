"""Crashing, dying and hanging episodes are failures with a reason; the others report."""

from __future__ import annotations

import os
import time
from pathlib import Path

import episode_fakes as fakes
import pytest

from rekep.bench_tasks.bench import BenchConfig, run_benchmark
from rekep.bench_tasks.local_runner import run_local
from rekep.bench_tasks.spec import EpisodeSpec


def _specs(n: int = 4) -> list[EpisodeSpec]:
    return [EpisodeSpec("a", seed) for seed in range(n)]


def _assert_only_bad_seed_failed(records: list[dict], prefix: str) -> dict:
    assert [r["seed"] for r in records] == [0, 1, 2, 3]  # one record per spec, in order
    bad = records[fakes.BAD_SEED]
    assert not bad["success"] and bad["failure"].startswith(prefix), bad["failure"]
    others = [r for r in records if r["seed"] != fakes.BAD_SEED]
    assert all(r["success"] and r["failure"] is None for r in others), others
    return bad


def test_raising_episode_is_a_crash_and_others_report() -> None:
    records = run_local(_specs(), fakes.raising_episode, workers=2, timeout_s=30)
    bad = _assert_only_bad_seed_failed(records, "crash: RuntimeError: injected failure")
    assert bad["category"] == "crash"
    assert "injected failure" in bad["details"]["traceback"]


def test_killed_worker_process_is_a_crash_and_others_report() -> None:
    done: list[dict] = []
    records = run_local(_specs(), fakes.dying_episode, workers=2, timeout_s=30,
                        on_done=done.append)  # fmt: skip
    bad = _assert_only_bad_seed_failed(records, "crash: worker process died")
    # the exit code is named when the pool saw it (a reaped process can race the pool)
    assert bad["failure"] in ("crash: worker process died",
                              "crash: worker process died (exit code 3)"), bad["failure"]
    assert bad["category"] == "crash"
    assert sorted(r["seed"] for r in done) == [0, 1, 2, 3]  # each reported exactly once


def test_slow_episode_times_out_in_the_worker() -> None:
    records = run_local(_specs(), fakes.sleeping_episode, workers=2, timeout_s=1.5)
    bad = _assert_only_bad_seed_failed(records, "timeout: the episode ran longer than 1.5 s")
    assert bad["category"] == "timeout"


def test_stuck_worker_is_killed_and_counted_as_timeout() -> None:
    records = run_local(_specs(), fakes.stuck_episode, workers=2, timeout_s=1.0, grace_s=2.0)
    bad = _assert_only_bad_seed_failed(records, "timeout: no result after 3 s (worker killed)")
    assert bad["category"] == "timeout"


def test_benchmark_report_counts_the_crash() -> None:
    result = run_benchmark(
        BenchConfig(tasks="a,b", seeds=2, split="train", workers=2),
        episode_fn=fakes.raising_episode,
        known_tasks=("a", "b"),
    )
    assert len(result.records) == 4
    tasks = result.report["tasks"]
    assert tasks["a"]["successes"] == 1 and tasks["a"]["failures"]["crash"] == 1
    assert tasks["b"]["successes"] == 1 and tasks["b"]["failures"]["crash"] == 1
    assert result.report["mean_success"] == 0.5
    assert result.report["config"]["seed_first"] == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a killed child not reaped yet is a zombie: dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_interrupted_run_kills_its_running_workers(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "pid"
    monkeypatch.setenv(fakes.PID_FILE_ENV, str(pid_file))

    def interrupt_once_the_sleeper_runs(record: dict) -> None:
        for _ in range(600):  # the sleeping episode's worker may still be starting
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_local(_specs(2), fakes.pid_sleeping_episode, workers=2, timeout_s=120,
                  on_done=interrupt_once_the_sleeper_runs)  # fmt: skip
    pid = int(pid_file.read_text())
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "the interrupted run left its sleeping worker running"
    time.sleep(0.5)
    assert not Path(f"{pid_file}.finished").exists(), "the run waited for the episode to end"


def test_finished_records_are_saved_as_they_come_and_survive_an_interruption(
    tmp_path: Path,
) -> None:
    seen: list[dict] = []

    def stop_after_two(record: dict) -> None:
        seen.append(record)
        if len(seen) == 2:
            raise KeyboardInterrupt

    config = BenchConfig(tasks="a", seeds=4, split="train", workers=1, out_dir=str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(config, episode_fn=fakes.fine_episode, known_tasks=("a",),
                      on_done=stop_after_two)  # fmt: skip
    partial = (tmp_path / "episodes.partial.jsonl").read_text().splitlines()
    assert len(partial) == 2 and not (tmp_path / "results.json").exists()
    for record in seen:
        assert (tmp_path / "episodes" / "a" / str(record["seed"]) / "record.json").exists()
    # a complete run writes the full set and drops the partial file
    run_benchmark(config, episode_fn=fakes.fine_episode, known_tasks=("a",))
    assert len((tmp_path / "episodes.jsonl").read_text().splitlines()) == 4
    assert not (tmp_path / "episodes.partial.jsonl").exists()
