"""Failure strings -> categories."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rekep.episode as episode_module
from rekep.bench_tasks.failures import CATEGORIES, categorize_failure, count_by_category


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("perception: anchor 'tray_center' has no proposed keypoint within 3 cm", "perception"),
        ("Keypoint proposal returned nothing", "perception"),
        ("resolving anchor 'pen_tip' failed", "perception"),
        ("program: [in stage1_subgoal_constraint1, line 4] name 'foo' is not defined",
         "program"),
        ("solver infeasible: stage 2/3: max iterations (max violation 0.120)",
         "solver infeasible"),
        ("grasp missed: stage 1/2: gripper closed to 0.1 mm", "grasp missed"),
        ("grasp lost: stage 2/2: the gripper closed during transport", "grasp missed"),
        ("tracking lost: 3 of 4 keypoints invisible", "tracking lost"),
        ("timeout: the episode ran longer than 120 s", "timeout"),
        ("crash: worker process died (exit code 3)", "crash"),
        ("  CRASH: RuntimeError: boom", "crash"),
        ("sub-goal not reached: stage 2/2: measured cost 0.100", "other"),
        ("task check failed: {'xy_offset_m': 0.2}", "other"),
        ("something nobody anticipated", "other"),
    ],
)  # fmt: skip
def test_categories(reason: str, category: str) -> None:
    assert categorize_failure(reason) == category


def test_success_has_no_category() -> None:
    assert categorize_failure(None) is None


def test_counts_cover_every_category_and_skip_successes() -> None:
    counts = count_by_category([None, "grasp missed: x", "grasp lost: y", "crash: z", None])
    assert list(counts) == list(CATEGORIES)
    assert counts["grasp missed"] == 2 and counts["crash"] == 1
    assert sum(counts.values()) == 3


def test_every_failure_prefix_of_the_open_loop_runner_is_known() -> None:
    """A new failure prefix in rekep/episode.py must be given a category here on purpose."""
    source = Path(episode_module.__file__).read_text()
    prefixes = set(re.findall(r'_StageFailure\(\s*f?"([a-z][a-z -]*):', source))
    expected = {
        "solver infeasible": "solver infeasible",
        "grasp missed": "grasp missed",
        "grasp lost": "grasp missed",
        "sub-goal not reached": "other",
    }
    assert prefixes, "no failure prefixes found: the pattern no longer matches episode.py"
    assert prefixes <= set(expected), f"new failure prefixes: {prefixes - set(expected)}"
    for prefix in prefixes:
        assert categorize_failure(f"{prefix}: details") == expected[prefix]


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("grasp_missed: gripper empty after 3 tries", "grasp missed"),
        ("release_failed: object still held", "grasp missed"),
        ("tracking_lost: keypoint 2 invisible for 1.0 s", "tracking lost"),
        ("infeasible: stage 2 sub-goal infeasible for 40 ticks", "solver infeasible"),
        ("solver_error: 3 exceptions", "solver infeasible"),
        ("timeout: stage 2 took longer than 20 s", "timeout"),
        ("backtrack_limit: 5 backtracks", "other"),
        ("task_check: {'released': False}", "other"),
    ],
)
def test_closed_loop_terminals(reason: str, category: str) -> None:
    assert categorize_failure(reason) == category


def test_every_closed_loop_outcome_has_a_deliberate_category() -> None:
    stage_machine = pytest.importorskip("rekep.loop.stage_machine")
    expected = {
        "timeout": "timeout",
        "infeasible": "solver infeasible",
        "grasp_missed": "grasp missed",
        "release_failed": "grasp missed",
        "tracking_lost": "tracking lost",
        "backtrack_limit": "other",
        "solver_error": "solver infeasible",
    }
    failures = set(stage_machine.OUTCOMES) - {"success"}
    assert failures <= set(expected), f"new loop outcomes: {failures - set(expected)}"
    for outcome in failures:
        assert categorize_failure(f"{outcome}: details") == expected[outcome]
