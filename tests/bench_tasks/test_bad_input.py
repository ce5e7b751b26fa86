"""Bad input is a clear error before anything runs."""

from __future__ import annotations

import socket

import pytest

from rekep.bench_tasks import episodes
from rekep.bench_tasks.bench import BenchConfig, run_benchmark
from rekep.bench_tasks.spec import BenchInputError, parse_task_names, seed_range
from rekep.cli import main

KNOWN = ("a", "b")


def _never(record: dict) -> None:
    raise AssertionError(f"an episode ran: {record}")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unknown_task_lists_valid_ones() -> None:
    with pytest.raises(BenchInputError, match=r"unknown task\(s\) 'zz'.*valid tasks: a, b"):
        run_benchmark(BenchConfig(tasks="a,zz", seeds=1), known_tasks=KNOWN, on_done=_never)
    with pytest.raises(BenchInputError, match="empty"):
        parse_task_names(" , ", KNOWN)
    with pytest.raises(BenchInputError, match="twice"):
        parse_task_names("a,a", KNOWN)
    assert parse_task_names(None, ("b", "a")) == ["a", "b"]


def test_empty_or_oversized_seed_ranges() -> None:
    for n in (0, -3):
        with pytest.raises(BenchInputError, match="empty seed range"):
            BenchConfig(seeds=n)
    with pytest.raises(BenchInputError, match="disjoint"):
        seed_range(1001, "train")
    assert seed_range(3, "test") == range(1000, 1003)
    assert seed_range(2, "train") == range(0, 2)


def test_other_options_are_checked() -> None:
    with pytest.raises(BenchInputError, match="workers"):
        BenchConfig(workers=0)
    with pytest.raises(BenchInputError, match="episode-timeout"):
        BenchConfig(episode_timeout_s=0)
    with pytest.raises(BenchInputError, match="keypoints"):
        BenchConfig(keypoints="magic")
    with pytest.raises(BenchInputError, match="backend"):
        run_benchmark(BenchConfig(seeds=1, backend="magic"), known_tasks=KNOWN, on_done=_never)


def test_loop_choice_is_made_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(episodes, "closed_loop_available", lambda: False)
    assert episodes.resolve_loop("auto") == ("open", episodes.open_loop_episode)
    with pytest.raises(BenchInputError, match=r"rekep\.loop"):
        episodes.resolve_loop("closed")
    monkeypatch.setattr(episodes, "closed_loop_available", lambda: True)
    assert episodes.resolve_loop("auto") == ("closed", episodes.closed_loop_episode)
    assert episodes.resolve_loop("open")[0] == "open"


def test_unreachable_ray_address_is_a_clear_error() -> None:
    """Probed before ray.init (which would retry for minutes); no episode runs."""
    pytest.importorskip("ray")
    from rekep.bench_tasks.ray_runner import ClusterUnreachableError

    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(ClusterUnreachableError, match=f"cannot reach a Ray cluster at '{address}'"):
        run_benchmark(BenchConfig(seeds=1, ray_address=address), known_tasks=KNOWN, on_done=_never)
    with pytest.raises(ClusterUnreachableError, match="not 'host:port'"):
        run_benchmark(BenchConfig(seeds=1, ray_address="nonsense"), known_tasks=KNOWN)


def test_cli_exit_code_2_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pybullet")
    assert main(["bench", "tasks", "--tasks", "no_such_task", "--seeds", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown task(s) 'no_such_task'" in err and "block_in_tray" in err
    assert main(["bench", "tasks", "--seeds", "0"]) == 2
    assert "empty seed range" in capsys.readouterr().err
    pytest.importorskip("ray")
    port = _closed_port()
    assert main(["bench", "tasks", "--seeds", "1", "--ray", f"127.0.0.1:{port}"]) == 2
    assert "cannot reach a Ray cluster" in capsys.readouterr().err


def test_closed_loop_rejects_a_bad_tracker_before_running() -> None:
    pytest.importorskip("rekep.loop.episode")
    from rekep.bench_tasks.spec import EpisodeSpec

    with pytest.raises(BenchInputError, match="tracker"):
        episodes.validate_for_loop("closed", EpisodeSpec("a", 0, tracker="magic"))
    episodes.validate_for_loop("closed", EpisodeSpec("a", 0, tracker="sim", disturb=True))
    episodes.validate_for_loop("open", EpisodeSpec("a", 0, tracker="magic"))  # ignored


def test_closed_loop_result_becomes_a_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter passes tracker/disturb on and maps loop_hz_median and latencies."""
    pytest.importorskip("rekep.loop.episode")
    from types import SimpleNamespace

    from rekep.bench_tasks.records import make_record
    from rekep.bench_tasks.spec import EpisodeSpec

    seen: list = []

    class Result:
        def to_dict(self) -> dict:
            latency = {"tracking": 2.0, "subgoal": 9.0, "path": 3.0, "total": 15.0}
            return {"success": False, "failure": "tracking_lost: kp 1", "loop_hz_median": 21.5,
                    "latency_ms": latency}  # fmt: skip

    def fake_run(config: object, **kwargs: object) -> Result:
        seen.append(config)
        return Result()

    fake = SimpleNamespace(run_closed_loop_episode=fake_run)
    monkeypatch.setattr(episodes, "_closed_loop_module", lambda: fake)
    spec = EpisodeSpec("block_in_tray", 1000, tracker="sim", disturb=True)
    record = make_record(spec, episodes.closed_loop_episode(spec), 1.0)
    assert seen[0].tracker == "sim" and seen[0].disturbance == "auto" and seen[0].seed == 1000
    assert record["loop_hz"] == 21.5 and record["category"] == "tracking lost"
    assert record["latency_ms"]["tracking"] == [2.0] and record["latency_ms"]["proposal"] == []
