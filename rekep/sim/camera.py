"""A pinhole camera that renders RGB-D and segmentation from a PyBullet client.

Camera frame: OpenCV (x right, y down, z forward), as everywhere in rekep. PyBullet's view
matrix is OpenGL's (x right, y up, z backward) and column-major; the conversion is
``T_world_gl = T_world_camera @ diag(1, -1, -1, 1)``, ``view = inv(T_world_gl)``.

Intrinsics follow the pixel-centre convention of :class:`rekep.observation.RGBD`: pixel
(u, v) covers [u, u+1) x [v, v+1) and its centre is at u + 0.5 in continuous image
coordinates, so an OpenGL frustum centred on the image gives cx = W/2 - 0.5,
cy = H/2 - 0.5 and fx = fy = (H/2) / tan(fov_y/2).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.availability import require
from rekep.errors import ObservationError, SimulationError
from rekep.observation import RGBD
from rekep.poses import as_pose, make_pose

p = require("pybullet", "simulation")

_CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def look_at(
    eye: ArrayLike, target: ArrayLike, up: ArrayLike = (0.0, 0.0, 1.0)
) -> NDArray[np.float64]:
    """(4, 4) T_world_camera (OpenCV axes) at ``eye`` looking at ``target`` (metres).

    ``up`` is the world direction that should appear upwards in the image (image -y).
    """
    e = np.asarray(eye, dtype=np.float64).reshape(3)
    z = np.asarray(target, dtype=np.float64).reshape(3) - e
    if np.linalg.norm(z) < 1e-9:
        raise SimulationError("look_at: eye and target coincide")
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, dtype=np.float64).reshape(3))
    if np.linalg.norm(x) < 1e-9:
        raise SimulationError("look_at: viewing direction is parallel to up; pick another up")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_pose(np.stack([x, y, z], axis=1), e)


class Camera:
    """A simulated pinhole camera.

    Args:
        width, height: image size in pixels.
        fov_y_deg: vertical field of view, degrees.
        T_world_camera: (4, 4) pose, OpenCV axes.
        near, far: clipping planes, metres; depth outside (near, far) is invalid (0).
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fov_y_deg: float = 55.0,
        T_world_camera: ArrayLike | None = None,
        *,
        near: float = 0.05,
        far: float = 5.0,
    ) -> None:
        if width <= 0 or height <= 0:
            raise ObservationError(f"camera size must be positive, got {width}x{height}")
        if not 1.0 < fov_y_deg < 179.0:
            raise ObservationError(f"fov_y_deg must be in (1, 179) degrees, got {fov_y_deg}")
        if not 0 < near < far:
            raise ObservationError(f"need 0 < near < far, got near={near}, far={far}")
        self.width, self.height = int(width), int(height)
        self.fov_y_deg = float(fov_y_deg)
        self.near, self.far = float(near), float(far)
        self.T_world_camera = as_pose(
            np.eye(4) if T_world_camera is None else T_world_camera, "T_world_camera"
        )

    @property
    def intrinsics(self) -> NDArray[np.float64]:
        """(3, 3) pinhole matrix in pixels."""
        f = (self.height / 2.0) / math.tan(math.radians(self.fov_y_deg) / 2.0)
        return np.array(
            [[f, 0.0, self.width / 2.0 - 0.5], [0.0, f, self.height / 2.0 - 0.5], [0, 0, 1.0]]
        )

    def view_matrix(self) -> list[float]:
        """PyBullet view matrix (16 floats, column-major OpenGL)."""
        view = np.linalg.inv(self.T_world_camera @ _CV_TO_GL)
        return [float(v) for v in view.T.reshape(-1)]

    def projection_matrix(self) -> list[float]:
        """PyBullet projection matrix (16 floats, column-major OpenGL)."""
        proj = p.computeProjectionMatrixFOV(
            fov=self.fov_y_deg, aspect=self.width / self.height, nearVal=self.near,
            farVal=self.far,
        )
        return [float(v) for v in proj]

    def depth_from_buffer(self, buffer: ArrayLike) -> NDArray[np.float32]:
        """OpenGL 0..1 depth buffer -> (H, W) metric depth along z, metres (0 = invalid)."""
        d = np.asarray(buffer, dtype=np.float64)
        z = self.far * self.near / (self.far - (self.far - self.near) * d)
        z[(d >= 1.0) | (z <= self.near) | (z >= self.far)] = 0.0
        return z.astype(np.float32)

    def render(self, client: int) -> tuple[RGBD, NDArray[np.int64]]:
        """Render with ER_TINY_RENDERER (headless) from PyBullet client ``client``.

        Returns (RGBD with metric depth, (H, W) int body unique ids, -1 = background).
        """
        obs, seg = self._capture(client, flags=0)
        shape = (self.height, self.width)
        seg_arr = np.asarray(seg, dtype=np.int64).reshape(shape)
        return obs, np.where(seg_arr < 0, -1, seg_arr & ((1 << 24) - 1))

    def observe(self, client: int) -> RGBD:
        """:meth:`render` without the segmentation (privileged, and a fifth of the time)."""
        return self._capture(client, flags=p.ER_NO_SEGMENTATION_MASK)[0]

    def _capture(self, client: int, flags: int) -> tuple[RGBD, object]:
        try:
            _, _, rgba, depth, seg = p.getCameraImage(
                self.width, self.height, viewMatrix=self.view_matrix(),
                projectionMatrix=self.projection_matrix(), renderer=p.ER_TINY_RENDERER,
                flags=flags, physicsClientId=client,
            )
        except Exception as exc:
            raise SimulationError(f"PyBullet failed to render client {client}: {exc}") from exc
        shape = (self.height, self.width)
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(self.height, self.width, 4)[..., :3]
        z = self.depth_from_buffer(np.asarray(depth, dtype=np.float64).reshape(shape))
        obs = RGBD(rgb=rgb.copy(), depth=z, intrinsics=self.intrinsics,
                   T_world_camera=self.T_world_camera)
        return obs, seg
