"""Per-pixel feature extractors for keypoint proposal: DINOv2 and weight-free geometric."""

from keypoints.features.base import FeatureExtractor
from keypoints.features.dinov2 import (
    ENV_VAR,
    VARIANTS,
    Dinov2Extractor,
    dinov2_weights_available,
)
from keypoints.features.geometric import GeometricConfig, GeometricExtractor, rgb_to_lab
from keypoints.features.registry import (
    FEATURE_EXTRACTORS,
    auto_feature_extractor,
    get_feature_extractor,
)

__all__ = [
    "ENV_VAR",
    "FEATURE_EXTRACTORS",
    "VARIANTS",
    "Dinov2Extractor",
    "FeatureExtractor",
    "GeometricConfig",
    "GeometricExtractor",
    "auto_feature_extractor",
    "dinov2_weights_available",
    "get_feature_extractor",
    "rgb_to_lab",
]
