"""The ESDF: distances against brute force, the CasADi interpolant, empty and bad clouds."""

from __future__ import annotations

import logging
import math

import casadi as ca
import numpy as np
import pytest
from scipy.spatial import cKDTree

from rekep.errors import SolverError
from solvers.benchmark.scenes import box_points
from solvers.esdf import Esdf, build_esdf


def _clouds() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [
        rng.uniform([0.3, -0.3, 0.0], [0.7, 0.3, 0.4], size=(300, 3)),
        rng.normal([0.5, 0.0, 0.2], 0.05, size=(2000, 3)),
        box_points((0.5, 0.1, 0.15), (0.04, 0.24, 0.3)),
    ]


@pytest.mark.parametrize("cloud", _clouds())
def test_distance_matches_brute_force_within_a_voxel(cloud: np.ndarray) -> None:
    voxel = 0.02
    esdf = build_esdf(cloud, voxel_m=voxel)
    rng = np.random.default_rng(1)
    queries = rng.uniform(esdf.lower - 0.1, esdf.upper + 0.1, size=(3000, 3))
    truth = cKDTree(cloud).query(queries)[0]
    got = esdf.distance(queries)
    near = truth < 0.12  # where collisions are decided
    # trilinear interpolation between exact node values: within a voxel's half-diagonal
    assert np.max(np.abs(got[near] - truth[near])) <= voxel * math.sqrt(3) / 2 + 1e-9
    # anywhere in the grid: beyond the refined band the EDT estimate may be off by a
    # voxel diagonal, plus interpolation
    inside = np.all((queries >= esdf.lower) & (queries <= esdf.upper), axis=1)
    assert np.max(np.abs(got - truth)[inside]) <= 2 * voxel
    # outside: d(clamp(x)) + |x - clamp(x)| is an upper estimate (triangle inequality)
    assert np.all(got[~inside] >= truth[~inside] - voxel * math.sqrt(3) / 2)
    # outside the grid the field still grows with the distance from it
    far = esdf.upper + np.array([[0.5, 0.0, 0.0]])
    assert esdf.distance(far)[0] > esdf.distance(esdf.upper[None])[0] + 0.49


def test_nearest_points_are_cloud_points_at_the_node_distance() -> None:
    cloud = _clouds()[0]
    esdf = build_esdf(cloud)
    q = np.random.default_rng(3).uniform(esdf.lower, esdf.upper, size=(200, 3))
    near = esdf.nearest(q)
    assert np.allclose(cKDTree(cloud).query(near)[0], 0.0)


@pytest.mark.parametrize("sym", [ca.SX, ca.MX])
def test_casadi_value_and_gradient(sym: type) -> None:
    esdf = build_esdf(_clouds()[2])
    rng = np.random.default_rng(5)
    pts = rng.uniform(esdf.lower - 0.05, esdf.upper + 0.05, size=(12, 3))
    x = sym.sym("x", 3, pts.shape[0])
    d = esdf.casadi_distance(x)
    f = ca.Function("f", [x], [d, ca.jacobian(ca.sum2(d), ca.vec(x))])
    value, jac = (np.asarray(v) for v in f(pts.T))
    assert np.allclose(value.ravel(), esdf.distance(pts), atol=1e-12)
    grad = jac.reshape(pts.shape[0], 3)  # vec(x) is column-major: point by point
    h = 1e-6
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd = (esdf.distance(pts + e) - esdf.distance(pts - e)) / (2 * h)
        assert np.allclose(grad[:, i], fd, atol=1e-5)
    assert np.allclose(esdf.gradient(pts), grad, atol=2e-3)  # central differences, 0.1 mm


def test_casadi_function_is_cached_and_works_inside_expanded_nlp() -> None:
    esdf = build_esdf(_clouds()[2])
    assert esdf.casadi_function(3) is esdf.casadi_function(3)
    x = ca.MX.sym("x", 3)
    d = esdf.casadi_distance(x)
    solver = ca.nlpsol("s", "ipopt", {"x": x, "f": ca.sumsqr(x - ca.DM([0.5, 0.1, 0.15])),
                                      "g": d}, {"expand": True, "print_time": False,
                                                "ipopt": {"print_level": 0, "sb": "yes"}})
    res = solver(x0=[0.3, 0.1, 0.15], lbg=0.05, ubg=np.inf)  # the goal is inside the board
    assert esdf.distance(np.asarray(res["x"]).reshape(1, 3))[0] >= 0.05 - 1e-4


def test_same_cloud_same_field() -> None:
    cloud = _clouds()[0]
    a = build_esdf(cloud)
    assert build_esdf(cloud.copy()) is a
    assert build_esdf(cloud + 0.01).key != a.key


@pytest.mark.parametrize("cloud", [None, np.zeros((0, 3)), np.full((4, 3), np.nan)])
def test_empty_cloud_means_no_obstacles(cloud: np.ndarray | None) -> None:
    esdf = build_esdf(cloud)
    assert esdf.is_empty
    assert np.all(np.isinf(esdf.distance(np.zeros((2, 3)))))
    assert np.all(np.asarray(esdf.casadi_function(2)(np.zeros((3, 2)))) > 100)
    assert Esdf.empty().is_empty


def test_nan_points_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    cloud = _clouds()[0]
    bad = cloud.copy()
    bad[::7] = np.nan
    with caplog.at_level(logging.WARNING):
        esdf = build_esdf(bad)
    assert "NaN" in caplog.text
    assert esdf.num_points == cloud.shape[0] - bad[::7].shape[0]
    q = np.random.default_rng(2).uniform(esdf.lower, esdf.upper, size=(100, 3))
    assert np.allclose(esdf.distance(q), build_esdf(cloud[~np.isnan(bad[:, 0])]).distance(q))


def test_bad_arguments_raise_solver_errors() -> None:
    with pytest.raises(SolverError, match="voxel_m"):
        build_esdf(_clouds()[0], voxel_m=0.0)
    with pytest.raises(SolverError, match=r"\(N, 3\)"):
        build_esdf(np.zeros((4, 2)))
    with pytest.raises(SolverError, match="bounds"):
        build_esdf(_clouds()[0], bounds=([1, 1, 1], [0, 0, 0]))


def test_large_grids_are_coarsened(caplog: pytest.LogCaptureFixture) -> None:
    cloud = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
    with caplog.at_level(logging.WARNING):
        esdf = build_esdf(cloud, voxel_m=0.01)
    assert esdf.voxel_m > 0.01 and "exceeds" in caplog.text
    assert np.prod(esdf.shape) <= 1_000_000
