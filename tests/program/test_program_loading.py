"""Loading, evaluating, round-tripping and symbolic calls of constraint programs."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from program_fixtures import (
    BIMANUAL_NUM_KEYPOINTS,
    BIMANUAL_PROGRAM,
    MINIMAL,
    PEN_NUM_KEYPOINTS,
    PEN_PROGRAM,
    single_function_program,
)

from rekep.errors import ConstraintEvaluationError, ProgramError
from rekep.program import ConstraintFunction, ConstraintProgram, Stage, load_program

RNG = np.random.default_rng(0)


def _reference(source: str):
    """The functions of ``source`` run by plain exec (trusted test text) for comparison."""
    ns: dict = {"np": np, "get_grasping_cost_by_keypoint_idx": lambda i: 1.0}
    exec(source, ns)
    return ns


def test_pen_program_structure():
    p = load_program(PEN_PROGRAM, num_keypoints=PEN_NUM_KEYPOINTS)
    assert isinstance(p, ConstraintProgram)
    assert p.num_stages == 3 and not p.bimanual and p.num_keypoints == 8
    assert [s.number for s in p.stages] == [1, 2, 3]
    assert [len(s.subgoal_constraints) for s in p.stages] == [1, 2, 2]
    assert [len(s.path_constraints) for s in p.stages] == [0, 1, 1]
    assert [s.grasp_keypoint for s in p.stages] == [3, -1, -1]
    assert [s.release_keypoint for s in p.stages] == [-1, -1, 3]
    assert [s.is_grasp_stage for s in p.stages] == [True, False, False]
    assert [s.is_release_stage for s in p.stages] == [False, False, True]
    first = p.stages[0].subgoal_constraints[0]
    assert (first.name, first.stage, first.kind, first.index) == (
        "stage1_subgoal_constraint1", 1, "subgoal", 1
    )
    # lines refer to the VLM answer, prose included
    assert PEN_PROGRAM.splitlines()[first.line - 1].startswith("def stage1_subgoal_constraint1")
    assert first.source.startswith("def stage1_subgoal_constraint1(end_effector, keypoints):")
    assert p.source == PEN_PROGRAM
    assert p.referenced_keypoints() == {3, 4, 5, 6, 7}
    assert [f.name for f in p.functions()][:3] == [
        "stage1_subgoal_constraint1", "stage2_subgoal_constraint1", "stage2_subgoal_constraint2"
    ]


def test_pen_program_values_match_plain_numpy():
    p = load_program(PEN_PROGRAM, num_keypoints=PEN_NUM_KEYPOINTS)
    ref = _reference(p.to_text())
    for _ in range(20):
        ee, kp = RNG.normal(size=3), RNG.normal(size=(8, 3))
        for fn in p.functions():
            assert fn(ee, kp) == pytest.approx(ref[fn.name](ee, kp), rel=1e-12, abs=1e-12)


def test_pen_goal_configuration_satisfies_stage3():
    kp = np.zeros((8, 3))
    kp[7] = [0.5, 0.0, 0.1]  # holder opening
    kp[3:7] = [[0.5, 0.0, 0.08 + 0.03 * i] for i in (3, 2, 1, 0)]  # pen upright, tip lowest
    p = load_program(PEN_PROGRAM, num_keypoints=PEN_NUM_KEYPOINTS)
    costs = [fn(kp[3], kp, held_keypoints={3, 4, 5, 6}) for fn in p.functions() if fn.stage == 3]
    assert max(costs) <= 1e-9


def test_bimanual_program():
    p = load_program(BIMANUAL_PROGRAM, num_keypoints=BIMANUAL_NUM_KEYPOINTS)
    assert p.bimanual
    assert p.stages[0].grasp_keypoint == (0, 1) and p.stages[2].release_keypoint == (0, 1)
    assert p.stages[0].is_grasp_stage and p.stages[2].is_release_stage
    ee = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    kp = RNG.normal(size=(6, 3))
    kp[0], kp[1] = ee[0], ee[1]
    assert p.stages[0].subgoal_constraints[0](ee, kp) == pytest.approx(0.0)
    with pytest.raises(ConstraintEvaluationError, match=r"\(2, 3\)"):
        p.stages[0].subgoal_constraints[0](np.zeros(3), kp)


def test_bimanual_autodetected_and_forced():
    assert load_program(BIMANUAL_PROGRAM).bimanual is True
    assert load_program(PEN_PROGRAM).bimanual is False
    with pytest.raises(ProgramError, match="bimanual=False"):
        load_program(BIMANUAL_PROGRAM, bimanual=False)
    with pytest.raises(ProgramError, match="bimanual=True"):
        load_program(PEN_PROGRAM, bimanual=True)


@pytest.mark.parametrize(
    ("text", "k", "ee_shape"),
    [(PEN_PROGRAM, PEN_NUM_KEYPOINTS, (3,)), (BIMANUAL_PROGRAM, BIMANUAL_NUM_KEYPOINTS, (2, 3))],
)
def test_to_text_round_trip(text, k, ee_shape):
    p = load_program(text, num_keypoints=k)
    q = load_program(p.to_text(), num_keypoints=k)
    assert q.to_text() == p.to_text()
    assert [f.name for f in q.functions()] == [f.name for f in p.functions()]
    assert [f.source for f in q.functions()] == [f.source for f in p.functions()]
    assert [(s.grasp_keypoint, s.release_keypoint) for s in q.stages] == [
        (s.grasp_keypoint, s.release_keypoint) for s in p.stages
    ]
    assert q.referenced_keypoints() == p.referenced_keypoints()
    for _ in range(10):
        ee, kp = RNG.normal(size=ee_shape), RNG.normal(size=(k, 3))
        held = set(RNG.choice(k, size=2, replace=False).tolist())
        for f, g in zip(p.functions(), q.functions(), strict=True):
            assert f(ee, kp, held) == g(ee, kp, held)


def test_text_without_fences_and_prose_handling():
    assert load_program(MINIMAL).num_stages == 1
    two_blocks = "Intro.\n```python\nnum_stages = 1\n```\nMore prose.\n```python\n" + "\n".join(
        MINIMAL.splitlines()[1:]
    ) + "\n```\n"
    p = load_program(two_blocks)
    fn = p.functions()[0]
    assert two_blocks.splitlines()[fn.line - 1].startswith("def stage1_subgoal_constraint1")


def test_held_keypoints_drive_grasping_helper():
    p = load_program(PEN_PROGRAM, num_keypoints=PEN_NUM_KEYPOINTS)
    path = p.stages[1].path_constraints[0]
    ee, kp = np.zeros(3), RNG.normal(size=(8, 3))
    assert path(ee, kp) == 1.0
    assert path(ee, kp, held_keypoints={3, 4, 5, 6}) == 0.0
    assert path(ee, kp, held_keypoints=[np.int64(3)]) == 0.0
    assert path(ee, kp, held_keypoints={0, 1}) == 1.0
    assert path(ee, kp) == 1.0  # the held set does not leak between calls


def test_inputs_are_not_modified():
    text = single_function_program("keypoints[0] += 5.0\nend_effector[:] = 0.0")
    fn = load_program(text).functions()[0]
    ee, kp = np.ones(3), np.ones((4, 3))
    assert fn(ee, kp) == 0.0
    assert np.all(ee == 1.0) and np.all(kp == 1.0)


def test_local_helpers_constants_and_language_features():
    module = "OFFSET = np.array([0.0, 0.0, 0.1])\nSCALE = 2 * 0.5\n\ndef helper(p, q=1.0):\n" \
             "    return np.linalg.norm(p - q)\n"
    body = (
        "total = 0.0\n"
        "for i, p in enumerate(keypoints[:2]):\n"
        "    total += helper(p, end_effector + OFFSET) * SCALE\n"
        "sq = [v ** 2 for v in range(3) if v != 1]\n"
        "d = {'a': 1}\n"
        "total = total + sum(sq) + d.get('a') + abs(-1) + (lambda t: t * 2)(1.5)\n"
        "a, b = keypoints.shape\n"
        "total += 0 if a < b < 100 else 1\n"
        "keypoints[0, 2] -= 1.0\n"
        "return total + keypoints.T.shape[0] + len(keypoints)"
    )
    text = single_function_program(body, module)
    fn = load_program(text).functions()[0]
    ee, kp = RNG.normal(size=3), RNG.normal(size=(4, 3))
    ref = _reference(text)
    assert fn(ee, kp) == pytest.approx(ref["stage1_subgoal_constraint1"](ee, kp.copy()))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("return np.nan", "non-finite"),
        ("return np.inf", "non-finite"),
        ("return np.sqrt(-1.0)", "non-finite"),
        ("return end_effector", r"not a real scalar"),
        ("return (1.0, 2.0)", "not a real scalar"),
        ("return None", "not a real scalar"),
        ("return 1j", "not a real scalar"),
        ("return keypoints[10]", "IndexError"),
        ("return 1.0 / 0", "ZeroDivisionError"),
        ("return int('abc')", "ValueError"),
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_evaluation_errors_name_function_and_line(body, match):
    text = single_function_program("x = 1\n" + body)
    fn = load_program(text).functions()[0]
    with pytest.raises(ConstraintEvaluationError, match=match) as info:
        fn(np.zeros(3), np.zeros((4, 3)))
    err = info.value
    assert err.function == "stage1_subgoal_constraint1"
    assert err.line is not None and err.line >= fn.line
    assert "stage1_subgoal_constraint1" in str(err)


def test_size_one_and_zero_d_results_are_accepted():
    fn = load_program(single_function_program("return np.array([[2.5]])")).functions()[0]
    assert fn(np.zeros(3), np.zeros((2, 3))) == 2.5
    fn = load_program(single_function_program("return np.array(1.5)")).functions()[0]
    assert fn(np.zeros(3), np.zeros((2, 3))) == 1.5
    fn = load_program(single_function_program("return 3")).functions()[0]
    assert fn(np.zeros(3), np.zeros((2, 3))) == 3.0


def test_keypoint_count_checked_when_known():
    fn = load_program(MINIMAL, num_keypoints=4).functions()[0]
    with pytest.raises(ConstraintEvaluationError, match=r"\(4, 3\)"):
        fn(np.zeros(3), np.zeros((5, 3)))


class Sym:
    """A tiny symbolic value: records the expression it stands for."""

    def __init__(self, text):
        self.text = text

    def __sub__(self, other):
        return Sym(f"({self.text} - {getattr(other, 'text', other)})")

    def __add__(self, other):
        return Sym(f"({self.text} + {getattr(other, 'text', other)})")

    def __getitem__(self, key):
        return Sym(f"{self.text}[{key}]")


class DummyNumpy:
    """NumPy-like shim with a few functions and forbidden extras that must stay hidden."""

    pi = 3.0

    class linalg:
        @staticmethod
        def norm(x):
            return Sym(f"norm({x.text})")

    @staticmethod
    def array(values):
        return Sym(f"array({values})")

    @staticmethod
    def load(*args):  # pragma: no cover - must never be reachable
        raise AssertionError("np.load reached through the shim")


def test_call_with_symbolic_numpy_shim():
    p = load_program(MINIMAL)
    fn = p.functions()[0]
    out = fn.call_with(DummyNumpy(), Sym("ee"), Sym("kp"))
    assert isinstance(out, Sym)
    assert out.text == "(norm((ee - kp[0])) - 0.01)"
    # the real-numpy namespace is untouched by the shim
    assert fn(np.zeros(3), np.zeros((1, 3))) == pytest.approx(-0.01)


def test_call_with_missing_shim_function_is_an_evaluation_error():
    text = single_function_program("return np.cross(end_effector, keypoints[0])")
    fn = load_program(text).functions()[0]
    with pytest.raises(ConstraintEvaluationError, match="AttributeError"):
        fn.call_with(DummyNumpy(), Sym("ee"), Sym("kp"))


def test_call_with_helper_and_held_keypoints():
    p = load_program(PEN_PROGRAM)
    path = p.stages[1].path_constraints[0]
    assert path.call_with(DummyNumpy(), Sym("ee"), Sym("kp"), held_keypoints={3}) == 0.0
    assert path.call_with(DummyNumpy(), Sym("ee"), Sym("kp")) == 1.0


def test_pickle_round_trip():
    p = load_program(PEN_PROGRAM, num_keypoints=PEN_NUM_KEYPOINTS)
    q = pickle.loads(pickle.dumps(p))
    fn = pickle.loads(pickle.dumps(p.functions()[1]))
    ee, kp = RNG.normal(size=3), RNG.normal(size=(8, 3))
    assert q == p
    assert fn(ee, kp) == p.functions()[1](ee, kp)


def test_model_validation_and_unbound_function():
    fn = ConstraintFunction("stage1_subgoal_constraint1", 1, "subgoal", 1, "def ...", 1)
    with pytest.raises(ProgramError, match="not bound"):
        fn(np.zeros(3), np.zeros((1, 3)))
    with pytest.raises(ProgramError):
        ConstraintFunction("stage1_subgoal_constraint1", 2, "subgoal", 1, "", 1)
    with pytest.raises(ProgramError):
        Stage(1, (), (fn,), -1, -1)  # a sub-goal function listed as a path constraint
    with pytest.raises(ProgramError):
        ConstraintProgram(2, (Stage(1, (fn,), (), -1, -1),), "", None, False)
    built = ConstraintProgram(1, (Stage(1, (fn,), (), 2, -1),), "", None, False)
    assert built.referenced_keypoints() == {2}
    assert "grasp_keypoints = [2]" in built.to_text()


@pytest.mark.parametrize(
    "kwargs",
    [{"num_keypoints": 0}, {"num_keypoints": 2.0}, {"bimanual": 1}, {"time_limit_s": 0},
     {"time_limit_s": float("nan")}],
)
def test_bad_loader_options(kwargs):
    with pytest.raises(ProgramError):
        load_program(MINIMAL, **kwargs)


def test_vlm_style_variations_load():
    text = (
        "```Python\r\n"
        "num_stages: int = 1\r\n"
        "def stage1_subgoal_constraint1(end_effector: np.ndarray, keypoints: np.ndarray) -> float:"
        "\r\n"
        "    print('debug', end_effector)  # ignored inside the sandbox\r\n"
        "    up = np.zeros(3, dtype=float)\r\n"
        "    up[2] = 1.0\r\n"
        "    if np.dot(up, end_effector) > 0:\r\n"
        "        return float(np.linalg.norm(end_effector - keypoints[0]))\r\n"
        "    return np.abs(np.maximum(end_effector, 0.0)).sum()\r\n"
        "grasp_keypoints = [-1]\r\n"
        "release_keypoints = [-1]\r\n"
        "```\r\n"
    )
    fn = load_program(text).functions()[0]
    assert fn.line == 3
    assert fn(np.array([0.0, 0.0, 2.0]), np.zeros((1, 3))) == pytest.approx(2.0)
    assert fn(np.array([1.0, 0.0, -2.0]), np.zeros((1, 3))) == pytest.approx(1.0)


def test_call_with_builtin_overrides():
    text = single_function_program("return max(keypoints[0], end_effector)")
    fn = load_program(text).functions()[0]
    overrides = {"max": lambda a, b: Sym(f"fmax({a.text}, {b.text})")}
    out = fn.call_with(DummyNumpy(), Sym("ee"), Sym("kp"), builtins=overrides)
    assert out.text == "fmax(kp[0], ee)"
    with pytest.raises(ProgramError, match="may only replace"):
        fn.call_with(DummyNumpy(), Sym("ee"), Sym("kp"), builtins={"open": open})
    # without overrides the sandbox's own max is used (and fails on symbolic values)
    with pytest.raises(ConstraintEvaluationError):
        fn.call_with(DummyNumpy(), Sym("ee"), Sym("kp"))
