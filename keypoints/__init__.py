"""Keypoint proposal: masks -> features -> clusters -> 3D keypoints and the annotated image."""

from keypoints.annotate import annotate_image, read_png, save_png
from keypoints.config import ProposalConfig
from keypoints.feature_config import FeatureProposalConfig
from keypoints.feature_proposer import FeatureProposer, ProposalReport
from keypoints.features import (
    FEATURE_EXTRACTORS,
    FeatureExtractor,
    auto_feature_extractor,
    get_feature_extractor,
)
from keypoints.mask_sources import MASK_SOURCES, resolve_masks
from keypoints.masks import filter_masks, masks_from_segmentation
from keypoints.proposer import PROPOSERS, Proposer, get_proposer
from keypoints.segmenter import SegmenterConfig, segment_rgbd
from keypoints.simple import SimpleProposer, propose_keypoints

__all__ = [
    "FEATURE_EXTRACTORS",
    "MASK_SOURCES",
    "PROPOSERS",
    "FeatureExtractor",
    "FeatureProposalConfig",
    "FeatureProposer",
    "ProposalConfig",
    "ProposalReport",
    "Proposer",
    "SegmenterConfig",
    "SimpleProposer",
    "annotate_image",
    "auto_feature_extractor",
    "filter_masks",
    "get_feature_extractor",
    "get_proposer",
    "masks_from_segmentation",
    "propose_keypoints",
    "read_png",
    "resolve_masks",
    "save_png",
    "segment_rgbd",
]
