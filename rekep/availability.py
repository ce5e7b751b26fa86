"""Lazy imports of heavy optional dependencies, with errors that name the extra to install."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from rekep.errors import MissingDependencyError

# module name -> extra of this distribution that provides it
EXTRA_FOR_MODULE: dict[str, str] = {
    "pybullet": "sim",
    "pybullet_data": "sim",
    "cv2": "vision",
    "torch": "dinov2",
    "transformers": "dinov2",
    "open3d": "segment",
    "openai": "vlm",
    "RestrictedPython": "vlm",
    "rerun": "viz",
    "imageio_ffmpeg": "viz",
    "matplotlib": "viz",
    "ray": "bench",
    "tqdm": "bench",
}


def is_available(module: str) -> bool:
    """True when ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRA_FOR_MODULE.get(module.split(".")[0])
        hint = f"pip install 'rekep[{extra}]'" if extra else f"pip install {module}"
        what = f" for {purpose}" if purpose else ""
        raise MissingDependencyError(
            f"{module} is needed{what} but could not be imported ({exc}); install it with: {hint}"
        ) from exc
