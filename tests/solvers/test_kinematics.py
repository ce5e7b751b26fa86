"""Panda kinematics: the table equals the URDF, FK equals PyBullet, CasADi equals NumPy."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import casadi as ca
import numpy as np
import pytest

from rekep.errors import SolverError
from rekep.poses import make_pose
from solvers.kinematics import RobotModel
from solvers.robots import PANDA, JointSpec, RobotSpec
from solvers.robots.panda import T_HAND_TCP, TCP_OFFSET
from solvers.robots.sphere_fit import FINGER_JOINT_Z, FINGER_OPEN, load_obj


def _data_dir() -> Path:
    pybullet_data = pytest.importorskip("pybullet_data")
    return Path(pybullet_data.getDataPath()) / "franka_panda"


def _floats(text: str | None) -> tuple[float, ...]:
    return tuple(float(v) for v in (text or "0 0 0").split())


def test_joint_table_equals_urdf() -> None:
    root = ET.parse(_data_dir() / "panda.urdf").getroot()
    urdf = {j.get("name"): j for j in root.iter("joint")}
    for spec in PANDA.joints:
        j = urdf[spec.name]
        assert j.get("type") == spec.kind
        assert j.find("parent").get("link") == spec.parent  # type: ignore[union-attr]
        assert j.find("child").get("link") == spec.child  # type: ignore[union-attr]
        origin = j.find("origin")
        assert origin is not None
        assert _floats(origin.get("xyz")) == spec.xyz
        assert _floats(origin.get("rpy")) == spec.rpy
        if spec.kind == "revolute":
            assert _floats(j.find("axis").get("xyz")) == spec.axis  # type: ignore[union-attr]
            limit = j.find("limit")
            assert limit is not None
            assert float(limit.get("lower", "nan")) == spec.lower
            assert float(limit.get("upper", "nan")) == spec.upper
            assert float(limit.get("velocity", "nan")) == spec.velocity
    revolute = [n for n, j in urdf.items() if j.get("type") == "revolute"]
    assert [j.name for j in PANDA.actuated] == revolute


def test_tcp_matches_simulator_definition() -> None:
    pytest.importorskip("pybullet")
    sim_model = pytest.importorskip("rekep.sim.panda_model")
    np.testing.assert_allclose(np.asarray(T_HAND_TCP), sim_model.T_HAND_TCP, atol=1e-12)
    assert sim_model.TCP_OFFSET == TCP_OFFSET


def test_tcp_axes_are_approach_and_closing_directions() -> None:
    T = np.asarray(T_HAND_TCP)
    np.testing.assert_allclose(T[:3, 0], [0.0, 1.0, 0.0], atol=1e-12)  # fingers slide on hand y
    np.testing.assert_allclose(T[:3, 2], [0.0, 0.0, 1.0], atol=1e-12)  # out of the hand


BASE_POS = (0.1, -0.2, 0.3)
BASE_RPY = (0.1, 0.2, 0.7)


@pytest.fixture(scope="module")
def bullet() -> Iterator[tuple[int, int, dict[str, int]]]:
    p = pytest.importorskip("pybullet")
    client = p.connect(p.DIRECT)
    body = p.loadURDF(
        str(_data_dir() / "panda.urdf"), BASE_POS, p.getQuaternionFromEuler(BASE_RPY),
        useFixedBase=True, physicsClientId=client,
    )
    links = {
        p.getJointInfo(body, i, physicsClientId=client)[12].decode(): i
        for i in range(p.getNumJoints(body, physicsClientId=client))
    }
    yield client, body, links
    p.disconnect(client)


def _angle(Ra: np.ndarray, Rb: np.ndarray) -> float:
    return float(np.arccos(np.clip((np.trace(Ra.T @ Rb) - 1.0) / 2.0, -1.0, 1.0)))


def test_fk_matches_pybullet(bullet: tuple[int, int, dict[str, int]]) -> None:
    p = pytest.importorskip("pybullet")
    client, body, links = bullet
    # loadURDF puts the URDF base frame at the given pose (getBasePosition... would return
    # the base's inertial frame, 5 cm above it)
    quat = p.getQuaternionFromEuler(BASE_RPY)
    base = make_pose(np.reshape(p.getMatrixFromQuaternion(quat), (3, 3)), BASE_POS)
    model = RobotModel(T_world_base=base)
    worst_pos = worst_rot = 0.0
    for q in model.random_configurations(50, np.random.default_rng(0)):
        for i, joint in enumerate(model.spec.actuated):
            p.resetJointState(body, links[joint.child], q[i], physicsClientId=client)
        poses = model.link_poses(q)
        for name, T in poses.items():
            if name == model.spec.base_link:
                continue
            state = p.getLinkState(body, links[name], computeForwardKinematics=True,
                                   physicsClientId=client)
            R = np.reshape(p.getMatrixFromQuaternion(state[5]), (3, 3))
            worst_pos = max(worst_pos, float(np.linalg.norm(np.array(state[4]) - T[:3, 3])))
            worst_rot = max(worst_rot, _angle(R, T[:3, :3]))
        hand = poses["panda_hand"]
        np.testing.assert_allclose(model.fk(q), hand @ np.asarray(T_HAND_TCP), atol=1e-12)
    assert worst_pos < 1e-4  # metres (requirement: 1 mm)
    assert worst_rot < 1e-4  # radians (requirement: 1e-3)


def test_casadi_fk_and_spheres_equal_numeric() -> None:
    model = RobotModel(T_world_base=make_pose(np.eye(3), [0.0, 0.5, 0.1]))
    for q in model.random_configurations(10, np.random.default_rng(1)):
        np.testing.assert_allclose(np.asarray(model.fk_casadi(q)), model.fk(q), atol=1e-12)
        np.testing.assert_allclose(
            np.asarray(model.sphere_centers_casadi(q)), model.sphere_centers(q), atol=1e-12
        )
        symbolic = model.link_poses_casadi(q, ["panda_link4"])["panda_link4"]
        np.testing.assert_allclose(np.asarray(symbolic), model.link_poses(q)["panda_link4"],
                                   atol=1e-12)
    assert model.sphere_centers(np.zeros(7)).shape == (len(PANDA.spheres), 3)


def test_casadi_jacobian_equals_finite_differences() -> None:
    model = RobotModel()
    q_sym = ca.MX.sym("q", 7)
    out = ca.vertcat(
        ca.vec(model.fk_casadi(q_sym)[:3, :]), ca.vec(model.sphere_centers_casadi(q_sym))
    )
    jac = ca.Function("fk_jacobian", [q_sym], [ca.jacobian(out, q_sym)])

    def numeric(q: np.ndarray) -> np.ndarray:
        return np.concatenate([model.fk(q)[:3, :].ravel(order="F"),
                               model.sphere_centers(q).ravel(order="F")])

    h = 1e-6
    for q in model.random_configurations(5, np.random.default_rng(2)):
        fd = np.stack([(numeric(q + h * e) - numeric(q - h * e)) / (2 * h) for e in np.eye(7)], 1)
        np.testing.assert_allclose(np.asarray(jac(q)), fd, atol=1e-7)


def _mesh_vertices(name: str) -> np.ndarray:
    verts, _ = load_obj(_data_dir() / "meshes" / "collision" / name)
    return verts


def _uncovered(points: np.ndarray, link: str) -> float:
    """Largest distance (metres) by which a point lies outside every sphere of ``link``."""
    spheres = [s for s in PANDA.spheres if s.link == link]
    centres = np.array([s.center for s in spheres])
    radii = np.array([s.radius for s in spheres])
    d = np.linalg.norm(points[:, None] - centres[None], axis=2) - radii[None]
    return float(d.min(axis=1).max())


@pytest.mark.parametrize("link", [f"panda_link{i}" for i in range(8)] + ["panda_hand"])
def test_spheres_cover_link_meshes(link: str) -> None:
    mesh = "hand.obj" if link == "panda_hand" else f"{link.removeprefix('panda_')}.obj"
    assert _uncovered(_mesh_vertices(mesh), link) <= 1e-9


def test_spheres_cover_open_fingers() -> None:
    finger = _mesh_vertices("finger.obj")
    left = finger + np.array([0.0, FINGER_OPEN, FINGER_JOINT_Z])
    right = finger * np.array([-1.0, -1.0, 1.0]) + np.array([0.0, -FINGER_OPEN, FINGER_JOINT_Z])
    assert _uncovered(np.vstack([left, right]), "panda_hand") <= 1e-9
    # the space between the open fingers, around the TCP, stays free for grasped objects
    tcp = np.array([[0.0, 0.0, TCP_OFFSET]])
    assert _uncovered(tcp, "panda_hand") > 0.015


def test_limits_and_validation() -> None:
    model = RobotModel()
    assert model.dof == 7 and model.lower.shape == (7,) and np.all(model.lower < model.upper)
    assert model.velocity_limits.shape == (7,) and np.all(model.velocity_limits > 0)
    q = model.random_configurations(1, np.random.default_rng(3))[0]
    assert model.within_limits(q)
    assert not model.within_limits(model.upper + 0.1)
    assert model.within_limits(model.clip_to_limits(model.upper + 0.1))
    with pytest.raises(SolverError, match="7 joint angles"):
        model.fk(np.zeros(6))
    bad = JointSpec("j", "nowhere", "panda_link1", (0, 0, 0), (0, 0, 0), lower=-1, upper=1,
                    velocity=1)
    with pytest.raises(SolverError, match="base to tip"):
        RobotSpec("broken", "panda_link0", (bad,), "panda_link1", PANDA.T_link_tcp)
    with pytest.raises(SolverError, match="unit vector"):
        JointSpec("j", "a", "b", (0, 0, 0), (0, 0, 0), axis=(0, 0, 2), lower=-1, upper=1,
                  velocity=1)
