"""DINOv2 patch features (transformers ``Dinov2Model``), upsampled to pixels.

Weights are read from disk only, never downloaded: from ``path``, else the directory in
the environment variable ``REKEP_DINOV2_PATH``, else the local Hugging Face cache
(``local_files_only=True``). The image is ImageNet-normalized (the original ReKep forgot
this), resized to a multiple of the 14-pixel patch, and the (h, w, D) patch features
(last layer, after the final layer norm, class token dropped) are bilinearly upsampled
to the (H, W) pixels of the input. torch and transformers are imported lazily.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keypoints.features.base import FeatureExtractor, Image, as_rgb, check_pixels
from rekep.availability import is_available, require
from rekep.errors import ConfigurationError

logger = logging.getLogger(__name__)

ENV_VAR = "REKEP_DINOV2_PATH"
PATCH = 14
#: default short side (pixels) of the network input: 280 -> 20 x 27 patches for 640x480,
#: about 3x fewer tokens than the native 34 x 45 (so ViT-S/14 fits the 1 s per frame budget
#: on a 2-core CPU); set None for the native resolution
DEFAULT_SHORT_SIDE = 280
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Dinov2Variant:
    """One DINOv2 architecture: its Hugging Face repo id and transformer size."""

    repo_id: str
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    use_swiglu_ffn: bool = False


VARIANTS: dict[str, Dinov2Variant] = {
    "vits14": Dinov2Variant("facebook/dinov2-small", 384, 12, 6),
    "vitb14": Dinov2Variant("facebook/dinov2-base", 768, 12, 12),
    "vitl14": Dinov2Variant("facebook/dinov2-large", 1024, 24, 16),
    "vitg14": Dinov2Variant("facebook/dinov2-giant", 1536, 40, 24, use_swiglu_ffn=True),
}
_ALIASES = {"s": "vits14", "small": "vits14", "b": "vitb14", "base": "vitb14",
            "l": "vitl14", "large": "vitl14", "g": "vitg14", "giant": "vitg14"}  # fmt: skip


def variant_name(model: str) -> str:
    """Canonical name (``vits14`` ...) of ``model`` ('small', 'dinov2_vits14', 'ViT-S/14', ...)."""
    key = str(model).lower().replace("dinov2", "").replace("/", "").replace("-", "")
    key = key.strip("_ ")
    key = _ALIASES.get(key, key)
    if key not in VARIANTS:
        raise ConfigurationError(
            f"unknown DINOv2 model {model!r}; valid names: {', '.join(VARIANTS)} "
            "(or small, base, large, giant)"
        )
    return key


def _given_dir(path: str | os.PathLike[str] | None) -> Path | None:
    """The directory named by ``path`` or, failing that, ``$REKEP_DINOV2_PATH`` (or None)."""
    raw = path if path is not None else os.environ.get(ENV_VAR)
    return Path(raw).expanduser() if raw else None


def _local_dir(model: str, root: Path) -> Path | None:
    """The folder under ``root`` holding ``model``'s config.json: root itself, root/<name>
    (e.g. dinov2-small) or root/facebook/<name>."""
    repo = VARIANTS[model].repo_id
    for cand in (root, root / repo.split("/")[1], root / repo):
        if (cand / "config.json").is_file():
            return cand
    return None


def _in_hf_cache(repo_id: str, cache_dir: str | os.PathLike[str] | None) -> bool:
    if not is_available("huggingface_hub"):
        return False
    from huggingface_hub import try_to_load_from_cache

    where = None if cache_dir is None else str(cache_dir)
    found = try_to_load_from_cache(repo_id, "config.json", cache_dir=where)
    return isinstance(found, str)


def dinov2_weights_available(
    model: str = "vits14",
    path: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> bool:
    """True when torch, transformers and the weights of ``model`` are on this machine.

    Looks only at ``path`` (else ``$REKEP_DINOV2_PATH``) when one is given, otherwise at
    the local Hugging Face cache (``cache_dir``, default the standard one); never the
    network.
    """
    name = variant_name(model)
    if not (is_available("torch") and is_available("transformers")):
        return False
    root = _given_dir(path)
    if root is not None:
        return _local_dir(name, root) is not None
    return _in_hf_cache(VARIANTS[name].repo_id, cache_dir)


def dinov2_config(model: str = "vits14") -> Any:
    """The transformers ``Dinov2Config`` of the real architecture ``model``."""
    v = VARIANTS[variant_name(model)]
    tf = require("transformers", "DINOv2 features")
    return tf.Dinov2Config(
        hidden_size=v.hidden_size, num_hidden_layers=v.num_hidden_layers,
        num_attention_heads=v.num_attention_heads, mlp_ratio=4, patch_size=PATCH,
        image_size=518, layerscale_value=1.0, use_swiglu_ffn=v.use_swiglu_ffn,
    )  # fmt: skip


def _random_model(config: Any, seed: int) -> Any:
    torch = require("torch", "DINOv2 features")
    tf = require("transformers", "DINOv2 features")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return tf.Dinov2Model(config)


def bilinear_sample(
    grid: NDArray[np.float32], rows: NDArray[np.int64], cols: NDArray[np.int64],
    out_shape: tuple[int, int],
) -> NDArray[np.float32]:  # fmt: skip
    """Values of ``grid`` (h, w, D) bilinearly upsampled to ``out_shape`` (H, W), at pixels.

    Same sampling as ``torch.nn.functional.interpolate(mode="bilinear",
    align_corners=False)``; returns (N, D).
    """
    h, w = grid.shape[:2]
    H, W = out_shape

    def axis(idx: NDArray[np.int64], n_in: int, n_out: int) -> tuple[Any, Any, Any]:
        src = np.maximum((idx + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (src - i0)[:, None].astype(np.float32)

    r0, r1, fr = axis(rows, h, H)
    c0, c1, fc = axis(cols, w, W)
    top = grid[r0, c0] * (1 - fc) + grid[r0, c1] * fc
    bottom = grid[r1, c0] * (1 - fc) + grid[r1, c1] * fc
    return np.asarray(top * (1 - fr) + bottom * fr, dtype=np.float32)


class Dinov2Extractor(FeatureExtractor):
    """DINOv2 features per pixel.

    Args:
        model: a transformers ``Dinov2Model`` (build one with :meth:`from_pretrained`,
            :meth:`random_init` or :meth:`tiny`).
        short_side: resize so the image's short side is about this many pixels before the
            network (rounded to a multiple of 14; default :data:`DEFAULT_SHORT_SIDE`);
            None keeps the native resolution (rounded to a multiple of 14).
        label: a short description for logs (the variant, "random", "tiny").
    """

    name = "dinov2"

    def __init__(
        self, model: Any, *, short_side: int | None = DEFAULT_SHORT_SIDE, label: str = "custom"
    ) -> None:
        if short_side is not None and (not isinstance(short_side, int) or short_side < PATCH):
            raise ConfigurationError(f"short_side must be None or an int >= {PATCH}")
        self.model = model.eval()
        self.short_side = short_side
        self.label = label
        self._torch = require("torch", "DINOv2 features")

    @classmethod
    def from_pretrained(
        cls,
        model: str = "vits14",
        path: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> Dinov2Extractor:
        """Load ``model`` from ``path``, else ``$REKEP_DINOV2_PATH``, else the local Hugging
        Face cache (``cache_dir``, default the standard one). Never downloads.

        Raises:
            ConfigurationError: no weights on disk (the message says how to provide them).
        """
        name = variant_name(model)
        repo = VARIANTS[name].repo_id
        tf = require("transformers", "DINOv2 features")
        root = _given_dir(path)
        local = _local_dir(name, root) if root is not None else None
        where = f"{root} (from {'path' if path is not None else ENV_VAR})" if root else (
            f"the local Hugging Face cache for {repo}"
        )  # fmt: skip
        hint = (
            f"Set {ENV_VAR} to a directory holding config.json and model.safetensors of "
            f"{repo} (e.g. fetched with `huggingface-cli download {repo} --local-dir DIR` "
            "on a machine with internet), or use the weight-free 'geometric' features"
        )
        if root is not None and local is None:
            raise ConfigurationError(f"DINOv2 {name} weights not found in {where}: no "
                                     f"config.json there. {hint}")  # fmt: skip
        source = str(local) if local is not None else repo
        try:
            net = tf.Dinov2Model.from_pretrained(source, local_files_only=True, cache_dir=cache_dir)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"DINOv2 {name} weights could not be loaded from {where} (nothing is "
                f"downloaded): {exc}. {hint}"
            ) from exc
        logger.info("loaded DINOv2 %s from %s", name, source)
        return cls(net, label=name, **kwargs)

    @classmethod
    def random_init(cls, model: str = "vits14", seed: int = 0, **kwargs: Any) -> Dinov2Extractor:
        """The real architecture with random weights (for timing the compute honestly)."""
        name = variant_name(model)
        return cls(_random_model(dinov2_config(name), seed), label=f"{name}-random", **kwargs)

    @classmethod
    def tiny(cls, seed: int = 0, **kwargs: Any) -> Dinov2Extractor:
        """A 2-layer, 32-wide random DINOv2 with 14-pixel patches (for tests)."""
        tf = require("transformers", "DINOv2 features")
        cfg = tf.Dinov2Config(
            hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2,
            patch_size=PATCH, image_size=56,
        )  # fmt: skip
        return cls(_random_model(cfg, seed), label="tiny", **kwargs)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """(H', W') the network sees for an (height, width) image: multiples of 14."""
        scale = 1.0 if self.short_side is None else self.short_side / min(height, width)
        return (max(PATCH, round(height * scale / PATCH) * PATCH),
                max(PATCH, round(width * scale / PATCH) * PATCH))  # fmt: skip

    def preprocess(self, image: Image) -> Any:
        """(1, 3, H', W') float32 torch tensor: resized, ImageNet-normalized."""
        torch = self._torch
        rgb = as_rgb(image)
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255.0
        size = self.input_size(rgb.shape[0], rgb.shape[1])
        if size != tuple(rgb.shape[:2]):
            x = torch.nn.functional.interpolate(
                x, size=size, mode="bilinear", align_corners=False,
                antialias=size[0] < rgb.shape[0],
            )  # fmt: skip
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x - mean) / std

    def patch_features(self, image: Image) -> NDArray[np.float32]:
        """(h, w, D) float32 patch features, h = H' / 14 and w = W' / 14."""
        torch = self._torch
        x = self.preprocess(image)
        h, w = x.shape[2] // PATCH, x.shape[3] // PATCH
        with torch.inference_mode():
            tokens = self.model(pixel_values=x).last_hidden_state  # (1, 1 + h*w, D)
        patches = tokens[0, 1:].reshape(h, w, -1)
        return np.ascontiguousarray(patches.float().numpy(), dtype=np.float32)

    def extract(self, image: Image) -> NDArray[np.float32]:
        """(H, W, D) float32 features (D = 384 for ViT-S/14): upsampled patch features."""
        torch = self._torch
        H, W = as_rgb(image).shape[:2]
        grid = torch.from_numpy(self.patch_features(image)).permute(2, 0, 1)[None]
        up = torch.nn.functional.interpolate(grid, size=(H, W), mode="bilinear",
                                             align_corners=False)  # fmt: skip
        return np.ascontiguousarray(up[0].permute(1, 2, 0).numpy(), dtype=np.float32)

    def extract_at(self, image: Image, rows: ArrayLike, cols: ArrayLike) -> NDArray[np.float32]:
        """(N, D) features at pixels, without materializing the (H, W, D) array."""
        H, W = as_rgb(image).shape[:2]
        r, c = check_pixels(rows, cols, (H, W))
        return bilinear_sample(self.patch_features(image), r, c, (H, W))
