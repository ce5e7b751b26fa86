"""Keypoint proposal: masks -> features -> clusters -> 3D keypoints and the annotated image."""
