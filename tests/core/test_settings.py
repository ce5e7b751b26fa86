"""The settings tree: files, --set overrides, validation and `rekep config show`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import tomllib

from rekep.cli import main
from rekep.config_cli import settings_from_args
from rekep.errors import ConfigurationError
from rekep.settings import RekepSettings, load_settings, override, to_dict
from rekep.settings.apply import episode_config
from rekep.settings.dataclass_tree import from_dict
from rekep.settings.toml_text import dumps_toml


def test_overrides_are_coerced_to_the_declared_types() -> None:
    s = load_settings(None, [
        "solver.backend=scipy", "run.seed=7", "grasp.depth_m=0.03", "run.out=/tmp/x",
        "vlm.base_url=http://localhost:8000/v1", "vlm.template_version=2", "vlm.store_dir=none",
    ])  # fmt: skip
    assert s.solver.backend == "scipy" and s.run.seed == 7 and s.grasp.depth_m == 0.03
    assert s.run.out == Path("/tmp/x") and s.vlm.template_version == 2
    assert s.vlm.store_dir is None and s.vlm.base_url == "http://localhost:8000/v1"


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("solver.backnd=scipy", "did you mean 'backend'"),
        ("solvr.backend=scipy", "did you mean 'solver'"),
        ("run.seed=1.5", "run.seed must be an integer"),
        ("run.seed=-1", "run.seed must be >= 0"),
        ("solver.backend=nope", "solver.backend must be one of"),
        ("vlm.timeout_s=abc", "vlm.timeout_s must be a number"),
        ("vlm.timeout_s=nan", "must not be NaN"),
        ("solver=casadi", "is a group"),
        ("run.seed.x=1", "is a value, not a group"),
        ("no_equals_sign", "NAME=VALUE"),
        ("run.keypoints=magic", "run.keypoints must be one of"),
    ],
)
def test_bad_overrides_name_the_setting(assignment: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        override(RekepSettings(), assignment)


@pytest.mark.parametrize("suffix", [".toml", ".yaml", ".json"])
def test_settings_files_load(tmp_path: Path, suffix: str) -> None:
    data = {"solver": {"backend": "scipy", "num_seeds": 2}, "run": {"task": "stack_blocks"}}
    path = tmp_path / f"settings{suffix}"
    if suffix == ".toml":
        path.write_text(
            '[solver]\nbackend = "scipy"\nnum_seeds = 2\n[run]\ntask = "stack_blocks"\n'
        )
    elif suffix == ".yaml":
        path.write_text("solver:\n  backend: scipy\n  num_seeds: 2\nrun:\n  task: stack_blocks\n")
    else:
        path.write_text(json.dumps(data))
    s = load_settings(path, ["solver.num_seeds=3"])
    assert (s.solver.backend, s.solver.num_seeds, s.run.task) == ("scipy", 3, "stack_blocks")


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[solver\nbackend = ")
    with pytest.raises(ConfigurationError, match="not valid toml"):
        load_settings(broken)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[solver]\nspeed = 3\n")
    with pytest.raises(ConfigurationError, match=r"unknown setting 'solver\.speed'"):
        load_settings(unknown)
    other = tmp_path / "settings.ini"
    other.write_text("x")
    with pytest.raises(ConfigurationError, match=r"use \.toml"):
        load_settings(other)


def test_shown_toml_loads_back_to_the_same_settings() -> None:
    s = load_settings(None, ["solver.backend=rekep_baseline", "grasp.approach_m=0.12"])
    assert from_dict(RekepSettings, tomllib.loads(dumps_toml(to_dict(s)))) == s


def test_secrets_are_hidden() -> None:
    s = override(RekepSettings(), "vlm.api_key=sk-secret")
    assert s.vlm.api_key == "sk-secret"
    assert "sk-secret" not in dumps_toml(to_dict(s))


def test_flags_beat_set_beat_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[run]\nseed = 1\ntask = "stack_blocks"\n[solver]\nbackend = "scipy"\n')
    args = argparse.Namespace(config=str(path), assignments=["run.seed=2", "solver.tolerance=0.02"])
    s = settings_from_args(args, {"run.seed": 5, "run.task": None})
    assert (s.run.seed, s.run.task, s.solver.backend, s.solver.tolerance) == (
        5, "stack_blocks", "scipy", 0.02)  # fmt: skip


def test_episode_config_follows_the_settings() -> None:
    s = load_settings(None, ["run.task=can_in_bin", "run.keypoints=annotated",
                             "solver.tolerance=0.02", "solver.backend=scipy",
                             "grasp.depth_m=0.025"])  # fmt: skip
    config = episode_config(s)
    assert (config.task, config.keypoint_mode) == ("can_in_bin", "annotated")
    assert config.backend == "scipy"
    assert config.planner.tolerance == 0.02 and config.grasp.depth_m == 0.025
    assert config.planner_config().subgoal_backend == "scipy"


def test_config_show_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--set", "solver.backend=scipy", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["solver"]["backend"] == "scipy" and shown["run"]["task"] == "block_in_tray"
    assert main(["config", "show", "--set", "solver.backnd=scipy"]) == 2
    assert "did you mean 'backend'" in capsys.readouterr().err
