"""``rekep.solve``: from an instruction and one RGB-D frame to a :class:`~rekep.plan.Plan`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keypoints.mask_sources import resolve_masks
from keypoints.masks import filter_masks
from keypoints.proposer import get_proposer
from rekep.errors import ConfigurationError, KeypointError, ObservationError, ProgramError
from rekep.keypoint_set import Keypoints
from rekep.observation import RGBD
from rekep.plan import Plan
from rekep.planner import PlannerConfig, plan_program
from rekep.poses import as_pose, make_pose
from rekep.program import ConstraintProgram, load_program

if TYPE_CHECKING:
    from rekep.vlm.config import VLMConfig

logger = logging.getLogger(__name__)

VLM_HELP = (
    "no constraint program was given and no VLM is configured. Either pass program=<ReKep "
    "program text> to rekep.solve, or configure an OpenAI-compatible endpoint: set "
    "OPENAI_API_KEY, REKEP_VLM_MODEL (e.g. gpt-4o) and, for a local server, OPENAI_BASE_URL "
    "(e.g. http://localhost:8000/v1); install the extra with pip install 'rekep[vlm]'"
)

#: the keypoint proposer ``solve`` uses unless told otherwise
DEFAULT_PROPOSER = "features"

# Top-down tool orientation: TCP z (approach) along world -z.
_TOP_DOWN = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])


def masks_for_proposal(masks: Any, rgbd: RGBD) -> dict[int, NDArray[np.bool_]]:
    """Caller-given masks (an (H, W) int label image or ``{id: (H, W) bool}``) filtered for
    proposal: background-sized and tiny masks and invalid-depth pixels dropped."""
    if masks is None:
        raise KeypointError(
            "keypoint proposal needs object masks: pass masks= as an (H, W) integer label image "
            "or a {object_id: (H, W) bool} dict, or pass keypoints= directly"
        )
    given, _ = resolve_masks("given", rgbd, _as_masks(masks))
    return filter_masks(given, rgbd.valid_depth())


def _as_masks(masks: Any) -> Any:
    if isinstance(masks, Mapping):
        return {int(k): np.asarray(v) for k, v in masks.items()}
    return np.asarray(masks)


def _program_from(
    program: str | ConstraintProgram | None,
    instruction: str,
    keypoints: Keypoints,
    vlm: VLMConfig | None = None,
) -> ConstraintProgram:
    if isinstance(program, ConstraintProgram):
        used = program.referenced_keypoints()
        if used and max(used) >= len(keypoints):
            raise ProgramError(
                f"the program uses keypoint {max(used)} but only {len(keypoints)} keypoints "
                "were proposed; regenerate the program for these keypoints"
            )
        return program
    if isinstance(program, str):
        return load_program(program, num_keypoints=len(keypoints))
    if program is not None:
        raise ConfigurationError(
            f"program must be program text or a ConstraintProgram, got {type(program).__name__}"
        )
    from rekep.vlm.config import VLMConfig

    config = vlm or VLMConfig.from_env()
    if not config.is_configured:
        raise ConfigurationError(VLM_HELP)
    from rekep.vlm.generate import generate_program

    return generate_program(instruction, keypoints, config=config).program


def default_tcp_pose(keypoints: Keypoints) -> NDArray[np.float64]:
    """A top-down hand pose 25 cm above the keypoints' centroid (used when none is given)."""
    centre = keypoints.positions.mean(axis=0) if len(keypoints) else np.zeros(3)
    return make_pose(_TOP_DOWN, centre + np.array([0.0, 0.0, 0.25]))


def solve(
    instruction: str,
    rgbd: RGBD,
    *,
    program: str | ConstraintProgram | None = None,
    masks: Mapping[int, ArrayLike] | ArrayLike | None = None,
    keypoints: Keypoints | None = None,
    T_world_tcp: ArrayLike | None = None,
    proposer: str = DEFAULT_PROPOSER,
    planner: PlannerConfig | None = None,
    vlm: VLMConfig | None = None,
) -> Plan:
    """Plan a manipulation task from an instruction and one RGB-D frame.

    Args:
        instruction: what to do, in natural language (sent to the VLM when no program).
        rgbd: the observation (metres, world-frame camera pose).
        program: ReKep constraint-program text or a loaded program; None asks the configured
            VLM (see ``rekep.vlm``) and raises :class:`ConfigurationError` if there is none.
        masks: object masks for keypoint proposal, an (H, W) int label image (negative =
            background) or ``{object_id: (H, W) bool}``. Not needed when ``keypoints`` given.
        keypoints: skip proposal and use these keypoints.
        T_world_tcp: (4, 4) current tool-centre-point pose; default: top-down, 25 cm above the
            keypoints' centroid.
        proposer: name of the keypoint proposer (``keypoints.PROPOSERS``). The default,
            ``features``, clusters per-pixel features on each mask (the ReKep recipe plus
            each object's centre and extremities): DINOv2 features when its weights are on
            disk (``REKEP_DINOV2_PATH`` or the Hugging Face cache; nothing is downloaded),
            else the weight-free ``geometric`` features with a one-line notice that says
            how to enable DINOv2. ``simple`` is the purely geometric proposer (centre and
            principal-axis ends).
        planner: planner settings (workspace, tolerance, approach preference, backend).
        vlm: VLM settings; default ``VLMConfig.from_env()`` (OPENAI_API_KEY, OPENAI_BASE_URL,
            REKEP_VLM_MODEL, REKEP_VLM_BACKEND=replay for offline replay, ...).

    Returns:
        A :class:`Plan` with keypoints, program, per-stage sub-goals and a dense trajectory.
        Check ``plan.feasible`` before executing it.
    """
    if not isinstance(instruction, str) or not instruction.strip():
        raise ConfigurationError("instruction must be a non-empty string")
    if not isinstance(rgbd, RGBD):
        raise ObservationError(
            f"rgbd must be a rekep.RGBD(rgb=..., depth=..., intrinsics=..., T_world_camera=...), "
            f"got {type(rgbd).__name__}"
        )
    if keypoints is None:
        keypoints = get_proposer(proposer).propose(rgbd, masks_for_proposal(masks, rgbd))
    if len(keypoints) == 0:
        raise KeypointError("no keypoint was proposed; check the masks and the depth image")
    loaded = _program_from(program, instruction, keypoints, vlm)
    T_start = (
        default_tcp_pose(keypoints) if T_world_tcp is None else as_pose(T_world_tcp, "T_world_tcp")
    )
    logger.info("planning %d stages over %d keypoints", loaded.num_stages, len(keypoints))
    stages = plan_program(loaded, keypoints, T_start, planner)
    return Plan(instruction=instruction, keypoints=keypoints, program=loaded, stages=stages)
