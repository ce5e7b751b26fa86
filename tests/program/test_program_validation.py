"""Every validation rule of the loader, one case per test (messages name cause and place)."""

from __future__ import annotations

import pytest

from rekep.errors import ProgramError, SandboxViolation
from rekep.program import load_program

SUBGOAL = "def stage{i}_subgoal_constraint{j}(end_effector, keypoints):\n    return 0.0\n"
PATH = "def stage{i}_path_constraint{j}(end_effector, keypoints):\n    return 0.0\n"


def program(num_stages="2", grasp="[-1, -1]", release="[-1, -1]", functions=None, extra=""):
    """A program text; ``functions`` lists (kind, stage, index) triples."""
    if functions is None:
        functions = [("subgoal", i, 1) for i in range(1, int(num_stages) + 1)]
    defs = "\n".join(
        (SUBGOAL if k == "subgoal" else PATH).format(i=i, j=j) for k, i, j in functions
    )
    lines = []
    if num_stages is not None:
        lines.append(f"num_stages = {num_stages}")
    lines += [defs, extra]
    if grasp is not None:
        lines.append(f"grasp_keypoints = {grasp}")
    if release is not None:
        lines.append(f"release_keypoints = {release}")
    return "\n".join(lines) + "\n"


def test_valid_baseline_loads():
    assert load_program(program(), num_keypoints=4).num_stages == 2


def test_syntax_error_reports_line():
    text = program().replace("    return 0.0", "    return (0.0", 1)
    with pytest.raises(ProgramError, match="syntax error") as info:
        load_program(text)
    assert info.value.line is not None and 2 <= info.value.line <= 4


def test_syntax_error_line_refers_to_fenced_answer():
    text = "Prose line 1\nProse line 2\n```python\nnum_stages = = 1\n```\n"
    with pytest.raises(ProgramError) as info:
        load_program(text)
    assert info.value.line == 4


def test_missing_num_stages():
    with pytest.raises(ProgramError, match="`num_stages` is missing"):
        load_program(program(num_stages=None, functions=[("subgoal", 1, 1), ("subgoal", 2, 1)]))


@pytest.mark.parametrize("value", ["0", "-1", "'2'", "2.0", "True", "1 + 1", "[2]", "100"])
def test_invalid_num_stages(value):
    with pytest.raises(ProgramError, match="num_stages"):
        load_program(program(num_stages=value, functions=[("subgoal", 1, 1)]))


@pytest.mark.parametrize("name", ["grasp", "release"])
def test_missing_grasp_or_release_list(name):
    with pytest.raises(ProgramError, match=f"`{name}_keypoints` is missing"):
        load_program(program(**{name: None}))


@pytest.mark.parametrize("name", ["grasp", "release"])
@pytest.mark.parametrize("value", ["[-1]", "[-1, -1, -1]", "[]"])
def test_list_length_must_match_num_stages(name, value):
    with pytest.raises(ProgramError, match=r"has \d entries but num_stages is 2"):
        load_program(program(**{name: value}))


@pytest.mark.parametrize("value", ["-1", "'[-1, -1]'", "[-1, 'a']", "[-1, 1.5]", "[-1, -2]",
                                   "[-1, None]", "list(range(2))"])
def test_list_entries_must_be_indices(value):
    with pytest.raises(ProgramError, match="grasp_keypoints"):
        load_program(program(grasp=value))


def test_list_index_out_of_range_with_num_keypoints():
    text = program(grasp="[4, -1]", release="[-1, 4]")
    assert load_program(text).num_keypoints is None  # unknown K: no range check
    with pytest.raises(ProgramError, match=r"refers to keypoint 4; use 0\.\.3 or -1"):
        load_program(text, num_keypoints=4)


@pytest.mark.parametrize(
    "expr", ["keypoints[7]", "keypoints[-5]", "keypoints[7, 2]", "keypoints[[0, 9]]",
             "keypoints[2:9]", "get_grasping_cost_by_keypoint_idx(12)"],
)
def test_literal_keypoint_index_out_of_range_in_body(expr):
    text = program().replace("    return 0.0", f"    x = 1\n    return {expr}", 1)
    with pytest.raises(ProgramError, match=r"out of range|only 4 keypoints") as info:
        load_program(text, num_keypoints=4)
    assert info.value.function == "stage1_subgoal_constraint1"
    assert info.value.line == 4


def test_in_range_literal_indices_are_referenced():
    text = program().replace(
        "    return 0.0", "    return keypoints[1][0] + keypoints[-1, 2] + keypoints[0:2].sum()", 1
    )
    p = load_program(text, num_keypoints=4)
    assert p.referenced_keypoints() == {0, 1, 3}


def test_stage_without_subgoal():
    text = program(functions=[("subgoal", 1, 1), ("path", 2, 1)])
    with pytest.raises(ProgramError, match="stage 2 has no sub-goal constraint"):
        load_program(text)


def test_function_for_stage_beyond_num_stages():
    text = program(functions=[("subgoal", 1, 1), ("subgoal", 2, 1), ("subgoal", 3, 1)])
    with pytest.raises(ProgramError, match="stage 3 but num_stages is 2") as info:
        load_program(text)
    assert info.value.function == "stage3_subgoal_constraint1"


@pytest.mark.parametrize(
    "signature", ["(end_effector)", "(end_effector, keypoints, extra)", "(*args)",
                  "(end_effector, keypoints=None)", "(end_effector, keypoints, *, k=1)", "()"],
)
def test_wrong_signature(signature):
    text = program().replace("(end_effector, keypoints)", signature, 1)
    with pytest.raises(ProgramError, match="wrong signature") as info:
        load_program(text)
    assert info.value.line == 2


def test_grasp_stage_with_two_subgoals():
    text = program(grasp="[0, -1]", functions=[("subgoal", 1, 1), ("subgoal", 1, 2),
                                                ("subgoal", 2, 1)])
    with pytest.raises(ProgramError, match="grasp stage") as info:
        load_program(text)
    assert info.value.function == "stage1_subgoal_constraint2"


def test_grasp_stage_with_path_constraint():
    text = program(grasp="[0, -1]", functions=[("subgoal", 1, 1), ("path", 1, 1),
                                                ("subgoal", 2, 1)])
    with pytest.raises(ProgramError, match="no path constraint") as info:
        load_program(text)
    assert info.value.function == "stage1_path_constraint1"


def test_release_before_grasp():
    with pytest.raises(ProgramError, match="nothing is held"):
        load_program(program(grasp="[-1, 0]", release="[0, -1]"))


def test_release_without_any_grasp():
    with pytest.raises(ProgramError, match="releases keypoint 2, but nothing is held"):
        load_program(program(release="[-1, 2]"))


def test_release_of_a_keypoint_other_than_the_held_one():
    with pytest.raises(ProgramError, match="held keypoint is 0"):
        load_program(program(grasp="[0, -1]", release="[-1, 1]"))


def test_grasp_while_holding():
    text = program("3", "[0, 1, -1]", "[-1, -1, 1]")
    with pytest.raises(ProgramError, match="still held"):
        load_program(text)


def test_same_keypoint_regrasped_after_release_is_fine():
    text = program("4", "[0, -1, 0, -1]", "[-1, 0, -1, 0]")
    assert load_program(text).num_stages == 4


BI = dict(grasp="[[0, 1], [-1, -1]]", release="[[-1, -1], [0, 1]]")


def test_bimanual_autodetected():
    assert load_program(program(**BI)).bimanual
    assert not load_program(program()).bimanual


@pytest.mark.parametrize(
    ("grasp", "release", "match"),
    [
        ("[[0, 1, 2], [-1, -1]]", BI["release"], "pairs"),
        ("[[0], [-1, -1]]", BI["release"], "pairs"),
        ("[[0, 1], -1]", BI["release"], "mixes"),
        ("[[0, 'a'], [-1, -1]]", BI["release"], "pairs"),
        ("[[0, [1]], [-1, -1]]", BI["release"], "pairs"),
        (BI["grasp"], "[-1, 0]", "both"),
    ],
)
def test_bimanual_pair_shape_errors(grasp, release, match):
    with pytest.raises(ProgramError, match=match):
        load_program(program(grasp=grasp, release=release))


def test_bimanual_sequence_checked_per_arm():
    with pytest.raises(ProgramError, match="right arm"):
        load_program(program(grasp="[[0, 1], [-1, -1]]", release="[[-1, -1], [0, 0]]"))


def test_bimanual_index_range():
    with pytest.raises(ProgramError, match="refers to keypoint 5"):
        load_program(program(grasp="[[0, 5], [-1, -1]]", release="[[-1, -1], [0, 5]]"),
                     num_keypoints=3)


@pytest.mark.parametrize("name", ["stage1_constraint1", "stage1_subgoal_constraint",
                                  "stage1_subgoal1"])
def test_misnamed_constraint_function(name):
    text = program(extra=f"def {name}(end_effector, keypoints):\n    return 0.0\n")
    with pytest.raises(ProgramError, match="looks like a constraint") as info:
        load_program(text)
    assert info.value.function == name


def test_zero_based_stage_or_index():
    with pytest.raises(ProgramError, match="start at 1"):
        load_program(program(functions=[("subgoal", 1, 1), ("subgoal", 2, 1),
                                        ("subgoal", 1, 0)]))


def test_duplicate_function():
    text = program(functions=[("subgoal", 1, 1), ("subgoal", 2, 1), ("subgoal", 1, 1)])
    with pytest.raises(ProgramError, match="defined twice"):
        load_program(text)


def test_duplicate_assignment():
    with pytest.raises(ProgramError, match="assigned twice"):
        load_program(program(extra="num_stages = 2\n"))


@pytest.mark.parametrize(
    "extra",
    ["for i in range(2):\n    pass\n", "if True:\n    x = 1\n", "abs(1)\n", "x, y = 1, 2\n",
     "x = abs(-1)\n", "x = [i for i in range(3)]\n", "x = lambda: 0\n"],
)
def test_module_level_only_constants_and_functions(extra):
    with pytest.raises(SandboxViolation, match="module"):
        load_program(program(extra=extra))


def test_module_level_constants_are_allowed():
    text = program(extra="GAP = 0.05\nUP = np.array([0.0, 0.0, 1.0]) * GAP\nNAMES = {'a': 1}\n")
    assert load_program(text).num_stages == 2


def test_error_messages_name_cause_and_fix():
    with pytest.raises(ProgramError) as info:
        load_program(program(grasp="[0, -1]", release="[-1, 1]"))
    message = str(info.value)
    assert "releases keypoint 1" in message and "release keypoint 0" in message
