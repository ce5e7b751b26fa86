"""Keypoints for a simulated task, in two explicitly named modes.

* ``proposed``: keypoints proposed on the rendered RGB-D with the simulator's segmentation
  as the mask source (as the original ReKep does in simulation). The reference program's
  anchors are then resolved to the nearest proposed keypoint on the anchor's object: this
  stands in for the VLM choosing keypoint numbers, and is the only use of privileged anchor
  positions. An anchor with no keypoint within the tolerance is a perception failure.
* ``annotated``: the task's semantic anchors themselves are the keypoints (PRIVILEGED, like
  the original's human-annotated setting).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keypoints.annotate import annotate_image
from keypoints.masks import filter_masks, masks_from_segmentation
from keypoints.proposer import get_proposer
from rekep.errors import ConfigurationError, KeypointError
from rekep.keypoint_set import Keypoints
from rekep.observation import RGBD
from rekep.sim.tasks.base import Task

KEYPOINT_MODES = ("proposed", "annotated")


def task_masks(
    task: Task, segmentation: NDArray[np.int64], rgbd: RGBD
) -> dict[int, NDArray[np.bool_]]:
    """Masks of the task's objects from the simulator's segmentation, keyed by body id."""
    ids = sorted(task.object_bodies().values())
    return filter_masks(masks_from_segmentation(segmentation, ids), rgbd.valid_depth())


def resolve_anchors(task: Task, keypoints: Keypoints, tolerance_m: float = 0.03) -> dict[str, int]:
    """Anchor name -> index of the nearest proposed keypoint on the anchor's object.

    Raises:
        KeypointError: an anchor has no keypoint on its object within ``tolerance_m``.
    """
    anchors = task.anchors()
    owners = task.anchor_objects()
    mapping: dict[str, int] = {}
    for name, position in anchors.items():
        on_object = np.flatnonzero(keypoints.object_ids == owners[name])
        if len(on_object) == 0:
            raise KeypointError(f"perception: no keypoint was proposed on the object of {name!r}")
        dist = np.linalg.norm(keypoints.positions[on_object] - position, axis=1)
        best = int(np.argmin(dist))
        if dist[best] > tolerance_m:
            raise KeypointError(
                f"perception: anchor {name!r} has no proposed keypoint within "
                f"{tolerance_m * 100:.0f} cm (nearest {dist[best] * 100:.1f} cm)"
            )
        mapping[name] = int(on_object[best])
    return mapping


def annotated_keypoints(task: Task, rgbd: RGBD) -> tuple[Keypoints, dict[str, int]]:
    """The task's anchors as keypoints (PRIVILEGED mode), with the identity mapping."""
    anchors = task.anchors()
    owners = task.anchor_objects()
    names = sorted(anchors)
    positions = np.stack([anchors[n] for n in names])
    pixels = rgbd.project(positions)
    image = annotate_image(rgbd.rgb, np.nan_to_num(pixels))
    keypoints = Keypoints(
        positions=positions,
        pixels=pixels,
        object_ids=np.array([owners[n] for n in names]),
        annotated_image=image,
        names=tuple(names),
    )
    return keypoints, {n: i for i, n in enumerate(names)}


def proposal_latency_ms(mode: str, seconds: float) -> dict[str, float]:
    """``{"proposal": ms}`` for the ``proposed`` mode, else empty: annotated keypoints are
    not proposed, and a benchmark must not report their lookup as proposal time."""
    return {"proposal": seconds * 1000.0} if mode == "proposed" else {}


def task_keypoints(
    task: Task,
    rgbd: RGBD,
    segmentation: NDArray[np.int64],
    mode: str = "proposed",
    proposer: str = "simple",
    tolerance_m: float = 0.03,
) -> tuple[Keypoints, dict[str, int]]:
    """Keypoints and the anchor -> keypoint index mapping for ``mode`` (see module doc)."""
    if mode == "annotated":
        return annotated_keypoints(task, rgbd)
    if mode != "proposed":
        raise ConfigurationError(f"keypoint mode must be one of {KEYPOINT_MODES}, got {mode!r}")
    keypoints = get_proposer(proposer).propose(rgbd, task_masks(task, segmentation, rgbd))
    return keypoints, resolve_anchors(task, keypoints, tolerance_m)
