"""Tracing constraint functions into CasADi: values and gradients against NumPy."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import casadi as ca
import numpy as np
import pytest

from rekep.errors import ConstraintEvaluationError
from solvers.constraint_evaluator import (
    ConstraintEvaluator,
    ExactEvaluator,
    NumericConstraint,
    make_evaluator,
    numeric_constraint,
)
from solvers.numeric_callback import numeric_casadi_function
from solvers.numpy_shim import NUMPY_SHIM
from solvers.smoothing import DEFAULT_SMOOTHING
from solvers.symarray import SymArray, TracingBranchError
from solvers.tracing import as_traceable, trace_constraint, try_trace


def _load_corpus() -> Any:
    """Import the sibling data module (pytest runs with --import-mode=importlib)."""
    name = "rekep_tests_constraint_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("constraint_corpus.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


corpus = _load_corpus()
CORPUS, NUM_KEYPOINTS, UNTRACEABLE = corpus.CORPUS, corpus.NUM_KEYPOINTS, corpus.UNTRACEABLE
IDS = [f.__name__ for f, _ in CORPUS]


def _inputs(ee_shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ee = rng.uniform([0.2, -0.3, 0.0], [0.6, 0.3, 0.5], size=(*ee_shape[:-1], 3))
    kps = rng.uniform([0.2, -0.3, 0.0], [0.6, 0.3, 0.4], size=(NUM_KEYPOINTS, 3))
    return ee.reshape(ee_shape), kps


def _central_differences(fn: Any, ee: np.ndarray, kps: np.ndarray, h: float = 1e-6):
    f = numeric_constraint(fn)
    return f.value_and_gradient(ee, kps)


@pytest.mark.parametrize(("fn", "ee_shape"), CORPUS, ids=IDS)
def test_traced_value_and_gradient_match_numpy(fn: Any, ee_shape: tuple[int, ...]) -> None:
    result = try_trace(fn, ee_shape, NUM_KEYPOINTS, smoothing=1e-8)
    assert result.traced is not None, result.reason
    for seed in range(3):
        ee, kps = _inputs(ee_shape, seed)
        value, g_ee_fd, g_kp_fd = _central_differences(fn, ee, kps)
        assert result.traced.traced_value(ee, kps) == pytest.approx(value, rel=1e-9, abs=1e-9)
        g_ee, g_kp = result.traced.traced_gradient(ee, kps)
        assert g_ee.shape == ee.shape and g_kp.shape == kps.shape
        np.testing.assert_allclose(g_ee, g_ee_fd, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g_kp, g_kp_fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("fn", "ee_shape"), CORPUS, ids=IDS)
def test_default_smoothing_stays_close(fn: Any, ee_shape: tuple[int, ...]) -> None:
    evaluator = make_evaluator(fn, ee_shape, NUM_KEYPOINTS)
    assert isinstance(evaluator, ExactEvaluator) and evaluator.exact and evaluator.reason is None
    assert isinstance(evaluator, ConstraintEvaluator)
    ee, kps = _inputs(ee_shape, 7)
    value, g_ee_fd, g_kp_fd = _central_differences(fn, ee, kps)
    assert evaluator.traced.traced_value(ee, kps) == pytest.approx(value, abs=1e-4)
    v, g_ee, g_kp = evaluator.value_and_gradient(ee, kps)
    assert v == value  # reported values are the exact numeric ones
    np.testing.assert_allclose(g_ee, g_ee_fd, atol=5e-3)
    np.testing.assert_allclose(g_kp, g_kp_fd, atol=5e-3)


def test_corpus_is_large_and_covers_bimanual() -> None:
    assert len(CORPUS) >= 30
    assert any(shape == (2, 3) for _, shape in CORPUS)


@pytest.mark.parametrize(("fn", "kind"), UNTRACEABLE, ids=[f.__name__ for f, _ in UNTRACEABLE])
def test_untraceable_functions_fall_back_with_reason(fn: Any, kind: str) -> None:
    assert trace_constraint(fn, (3,), NUM_KEYPOINTS) is None
    evaluator = make_evaluator(fn, (3,), NUM_KEYPOINTS)
    assert isinstance(evaluator, NumericConstraint)
    assert not evaluator.exact
    assert evaluator.reason is not None and evaluator.reason.startswith(kind)
    if fn is corpus.returns_vector:
        with pytest.raises(ConstraintEvaluationError, match="shape"):
            evaluator.value(*_inputs((3,), 0))
        return
    ee, kps = _inputs((3,), 0)
    value, g_ee, g_kp = evaluator.value_and_gradient(ee, kps)
    assert np.isfinite(value) and g_ee.shape == (3,) and g_kp.shape == kps.shape


def test_branch_fallback_gradient_is_finite_difference() -> None:
    ee, kps = _inputs((3,), 1)
    kps[4, 2] = 0.05  # takes the norm branch
    ev = numeric_constraint(corpus.branch_on_height)
    _, g_ee, g_kp = ev.value_and_gradient(ee, kps)
    d = ee - kps[4]
    np.testing.assert_allclose(g_ee, d / np.linalg.norm(d), atol=1e-6)
    np.testing.assert_allclose(g_kp[4], -d / np.linalg.norm(d), atol=1e-6)
    _, _, g_rows = ev.value_and_gradient(ee, kps, keypoint_rows=[0])
    assert np.all(g_rows[4] == 0.0)


def test_bool_on_symbol_raises_dedicated_exception() -> None:
    x = NUMPY_SHIM.array([ca.SX.sym("a"), 1.0])
    with pytest.raises(TracingBranchError):
        bool(x[0] > 0.5)


def test_plain_function_globals_are_restored() -> None:
    trace_constraint(corpus.distance_band_builtin_max, (3,), NUM_KEYPOINTS)
    assert corpus.np is np
    assert "max" not in vars(corpus) and "float" not in vars(corpus)


def test_smoothed_norm_is_finite_at_zero_and_never_below_norm() -> None:
    def norm_cost(end_effector, keypoints):
        return np.linalg.norm(end_effector - keypoints[0])

    traced = trace_constraint(norm_cost, (3,), 1)
    assert traced is not None
    kps = np.array([[0.3, 0.1, 0.2]])
    assert traced.traced_value(kps[0], kps) == pytest.approx(DEFAULT_SMOOTHING)
    g_ee, _ = traced.traced_gradient(kps[0], kps)
    assert np.all(np.isfinite(g_ee)) and np.allclose(g_ee, 0.0)
    for d in (1e-5, 1e-3, 0.1):
        ee = kps[0] + np.array([d, 0.0, 0.0])
        assert d <= traced.traced_value(ee, kps) <= d + DEFAULT_SMOOTHING


def test_arccos_of_aligned_vectors_has_finite_gradient() -> None:
    traced = trace_constraint(corpus.upright_arccos, (3,), NUM_KEYPOINTS)
    assert traced is not None
    ee, kps = _inputs((3,), 0)
    kps[6] = kps[5] + np.array([0.0, 0.0, 0.1])  # exactly vertical
    value = traced.traced_value(ee, kps)
    _, g_kp = traced.traced_gradient(ee, kps)
    assert value == pytest.approx(-np.pi / 18, abs=2e-3)
    assert np.all(np.isfinite(g_kp))


class FakeConstraintFunction:
    """Mimics rekep.program's ConstraintFunction (call_with binds np, held sets the helper)."""

    name = "stage2_path_constraint1"

    def _run(self, np_like: Any, ee: Any, kps: Any, held: tuple[int, ...], builtins: Any) -> Any:
        grasp = 0.0 if 4 in held else 1.0
        mx = builtins["max"] if builtins else max
        return grasp + mx(0.0, np_like.linalg.norm(kps[4] - ee) - 0.1)

    def __call__(self, ee: Any, kps: Any, held_keypoints: tuple[int, ...] = ()) -> float:
        return float(self._run(np, ee, kps, tuple(held_keypoints), None))

    def call_with(self, np_like, ee, kps, held_keypoints=(), builtins=None):
        return self._run(np_like, ee, kps, tuple(held_keypoints), builtins)


@pytest.mark.parametrize("held", [(), (4,)])
def test_constraint_function_adapter(held: tuple[int, ...]) -> None:
    fn = FakeConstraintFunction()
    ev = make_evaluator(fn, (3,), NUM_KEYPOINTS, held_keypoints=held)
    assert ev.exact and ev.name == "stage2_path_constraint1"
    ee, kps = _inputs((3,), 3)
    expected = fn(ee, kps, held_keypoints=held)
    assert ev.value(ee, kps) == expected
    assert isinstance(ev, ExactEvaluator)
    assert ev.traced.traced_value(ee, kps) == pytest.approx(expected, abs=1e-6)


def test_expression_composes_with_symbolic_inputs() -> None:
    traced = trace_constraint(corpus.offset_below_mean_of_three, (3,), NUM_KEYPOINTS)
    assert traced is not None
    q = ca.MX.sym("q", 3)
    kps_mx = ca.MX.sym("k", NUM_KEYPOINTS, 3)
    cost = traced.expression(q + 0.1, kps_mx)
    f = ca.Function("f", [q, kps_mx], [cost])
    ee, kps = _inputs((3,), 4)
    assert float(f(ee - 0.1, kps)) == pytest.approx(traced.traced_value(ee, kps))


def test_numeric_value_rejects_non_finite() -> None:
    def nan_cost(end_effector, keypoints):
        return np.linalg.norm(end_effector) * np.nan

    with pytest.raises(ConstraintEvaluationError, match="nan"):
        numeric_constraint(nan_cost).value(np.zeros(3), np.zeros((1, 3)))


SHIM_CASES = [
    lambda np_, k: k[[1, 2]],
    lambda np_, k: k[3:7],
    lambda np_, k: k[-1],
    lambda np_, k: k[:, 2],
    lambda np_, k: k[1:5:2, :2],
    lambda np_, k: k[None, 0],
    lambda np_, k: k[..., -2],
    lambda np_, k: k[np_.array([0, 3])].T,
    lambda np_, k: k[:4].reshape(2, 6),
    lambda np_, k: k[:3] @ k[3:6].T,
    lambda np_, k: np_.outer(k[0], k[1]),
    lambda np_, k: np_.cross(k[0:2], k[2:4]),
    lambda np_, k: np_.mean(k[2:5], axis=0) - np_.sum(k, axis=1)[0],
    lambda np_, k: np_.max(k[:4], axis=1) + np_.min(k[:4], axis=0)[0],
    lambda np_, k: np_.linalg.norm(k[:5], axis=1),
    lambda np_, k: np_.linalg.norm(k[0], ord=1) + np_.linalg.norm(k[1], ord=np_.inf),
    lambda np_, k: np_.concatenate([k[0], k[1], np_.zeros(2)]),
    lambda np_, k: np_.vstack([k[0], np_.ones(3)]) * 2 - 1,
    lambda np_, k: np_.hstack([k[0], k[1][:1]]) / 3.0,
    lambda np_, k: np_.stack([k[0], k[1]], axis=1),
    lambda np_, k: np_.clip(k[0], 0.3, 0.5) + np_.maximum(k[1], 0.4) - np_.minimum(k[2], 0.1),
    lambda np_, k: np_.arctan2(k[0], k[1]) + np_.square(k[2]) + np_.power(k[3], 3),
    lambda np_, k: np_.exp(k[0]) + np_.log(k[1] + 1) + np_.tan(k[2]) + np_.arctan(k[3]),
    lambda np_, k: np_.linalg.det(k[:3]) + np_.trace(np_.linalg.inv(k[:3] + np_.eye(3))),
    lambda np_, k: np_.linalg.solve(k[:3] + np_.eye(3), k[4]),
    lambda np_, k: np_.deg2rad(k[0]) + np_.std(k[:4], axis=0) + np_.var(k[:4], axis=0),
    lambda np_, k: np_.where(k[0] > k[1], k[2], -k[2]) + (k[3] > 0.3),
    lambda np_, k: np_.asarray([k[0][0], 1.0, k[1][2]]) ** 2,
    lambda np_, k: (2.0 - k[0]) * np_.float64(3.0) + np_.array([1.0, 2.0, 3.0]) @ k[:3].T,
    lambda np_, k: np_.average(k[:3], axis=0, weights=np_.array([1.0, 2.0, 3.0])),
]


@pytest.mark.parametrize("case", range(len(SHIM_CASES)))
def test_shim_matches_numpy_elementwise(case: int) -> None:
    fn = SHIM_CASES[case]
    kps = np.random.default_rng(case).uniform(0.1, 0.6, size=(NUM_KEYPOINTS, 3))
    expected = np.asarray(fn(np, kps), dtype=float)
    sym = ca.SX.sym("k", NUM_KEYPOINTS, 3)
    from solvers.symarray import to_object_array  # local: test of the internal helper

    out = fn(NUMPY_SHIM, SymArray(to_object_array(sym)))
    assert isinstance(out, SymArray) and out.shape == expected.shape
    flat = ca.vertcat(*[ca.SX(e) for e in out.a.reshape(-1)]) if out.size else ca.SX(0, 1)
    got = np.asarray(ca.Function("f", [sym], [flat])(kps)).reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-6)  # smoothing: eps^2 / (2 x)


def test_as_traceable_rejects_non_functions() -> None:
    from rekep.errors import SolverError

    with pytest.raises(SolverError, match="ConstraintFunction"):
        as_traceable(42)


def test_lambda_names_are_valid_casadi_names() -> None:
    traced = trace_constraint(lambda ee, kps: np.linalg.norm(ee - kps[0]), (3,), 1)
    assert traced is not None and traced.function.name().isidentifier()


@pytest.mark.parametrize("ee_shape", [(3,), (2, 3)])
def test_numeric_casadi_function_jacobian_matches_traced(ee_shape: tuple[int, ...]) -> None:
    fn = corpus.bimanual_level_object if ee_shape == (2, 3) else corpus.point_into_hole
    traced = trace_constraint(fn, ee_shape, NUM_KEYPOINTS, smoothing=1e-8)
    assert traced is not None
    cb = numeric_casadi_function(numeric_constraint(fn), ee_shape, NUM_KEYPOINTS)
    ee_sym = ca.MX.sym("ee", *(3, 1) if ee_shape == (3,) else ee_shape)
    kp_sym = ca.MX.sym("kp", NUM_KEYPOINTS, 3)
    cost = cb(ee_sym, kp_sym)
    grad = ca.Function("g", [ee_sym, kp_sym], [cost, ca.gradient(cost, ee_sym),
                                               ca.gradient(cost, kp_sym)])
    ee, kps = _inputs(ee_shape, 5)
    ee_in = ee.reshape(-1, 1) if ee_shape == (3,) else ee
    value, g_ee, g_kp = grad(ee_in, kps)
    t_ee, t_kp = traced.traced_gradient(ee, kps)
    assert float(value) == pytest.approx(traced.traced_value(ee, kps), abs=1e-6)
    np.testing.assert_allclose(np.asarray(g_ee).reshape(ee_shape), t_ee, atol=1e-6)
    np.testing.assert_allclose(np.asarray(g_kp), t_kp, atol=1e-6)


def test_ipopt_solves_mixed_exact_and_numeric_constraints() -> None:
    """A tiny NLP: reach 3 cm above keypoint 3 (traced) without going below z = 0.25
    (untraceable, branches), from a start far away."""

    def branchy_floor(end_effector, keypoints):
        if end_effector[2] > 0.25:
            return 0.0
        return 0.25 - end_effector[2]

    kps = np.zeros((NUM_KEYPOINTS, 3))
    kps[3] = [0.5, 0.1, 0.2]
    reach = make_evaluator(corpus.setitem_copy, (3,), NUM_KEYPOINTS)
    floor = make_evaluator(branchy_floor, (3,), NUM_KEYPOINTS)
    assert isinstance(reach, ExactEvaluator) and isinstance(floor, NumericConstraint)
    cb = numeric_casadi_function(floor, (3,), NUM_KEYPOINTS)
    x = ca.MX.sym("x", 3)
    nlp = {"x": x, "f": reach.traced.expression(x, ca.DM(kps)), "g": cb(x, ca.DM(kps))}
    opts = {"print_time": False, "ipopt": {"print_level": 0, "sb": "yes",
                                           "hessian_approximation": "limited-memory"}}
    solver = ca.nlpsol("s", "ipopt", nlp, opts)
    sol = solver(x0=[0.2, -0.2, 0.6], ubg=1e-6)
    got = np.asarray(sol["x"]).ravel()
    np.testing.assert_allclose(got, [0.5, 0.1, 0.28], atol=2e-3)


PROGRAM = '''
num_stages = 2

def stage1_subgoal_constraint1(end_effector, keypoints):
    """Grasp the pen tail (keypoint 1)."""
    return np.linalg.norm(end_effector - keypoints[1])

def stage2_subgoal_constraint1(end_effector, keypoints):
    """The pen tip (keypoint 0) 10 cm above the holder opening (mean of 2..5)."""
    offsetted_point = np.mean(keypoints[2:6], axis=0) + np.array([0, 0, 0.1])
    return np.linalg.norm(keypoints[0] - offsetted_point) - 0.01

def stage2_subgoal_constraint2(end_effector, keypoints):
    """The pen is upright."""
    pen = keypoints[0] - keypoints[1]
    pen = pen / np.linalg.norm(pen)
    return np.arccos(np.dot(pen, np.array([0, 0, -1]))) - 0.1

def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(1)

grasp_keypoints = [1, -1]
release_keypoints = [-1, 1]
'''


@pytest.mark.parametrize("held", [(), (1,)])
def test_loaded_program_functions_trace(held: tuple[int, ...]) -> None:
    program_module = pytest.importorskip("rekep.program")
    program = program_module.load_program(PROGRAM, num_keypoints=8)
    ee, kps = _inputs((3,), 11)
    kps = kps[:8]
    for fn in program.functions():
        ev = make_evaluator(fn, (3,), 8, held_keypoints=held, smoothing=1e-8)
        assert ev.exact, ev.reason
        assert isinstance(ev, ExactEvaluator)
        expected = fn(ee, kps, held_keypoints=held)
        assert ev.value(ee, kps) == expected
        assert ev.traced.traced_value(ee, kps) == pytest.approx(expected, abs=1e-6)
        _, g_ee, g_kp = ev.value_and_gradient(ee, kps)
        _, f_ee, f_kp = numeric_constraint(fn, held_keypoints=held).value_and_gradient(ee, kps)
        np.testing.assert_allclose(g_ee, f_ee, atol=1e-5)
        np.testing.assert_allclose(g_kp, f_kp, atol=1e-5)
