"""Keypoint proposal: masks -> features -> clusters -> 3D keypoints and the annotated image."""

from keypoints.annotate import annotate_image, read_png, save_png
from keypoints.config import ProposalConfig
from keypoints.masks import filter_masks, masks_from_segmentation
from keypoints.proposer import PROPOSERS, Proposer, get_proposer
from keypoints.simple import SimpleProposer, propose_keypoints

__all__ = [
    "PROPOSERS",
    "ProposalConfig",
    "Proposer",
    "SimpleProposer",
    "annotate_image",
    "filter_masks",
    "get_proposer",
    "masks_from_segmentation",
    "propose_keypoints",
    "read_png",
    "save_png",
]
