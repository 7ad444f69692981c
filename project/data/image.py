"""Image classification (USPS, digits, MNIST, CIFAR-10, a user's own CSV/Parquet)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import torch
from PIL import Image

from project.data.base import DataSpec, TensorDataModule
from project.data.columns import class_labels, numeric_matrix, require_columns, select_columns
from project.data.splits import SplitSource


def decode_images(values: pd.Series, shape: tuple[int, int, int], where: str) -> np.ndarray:
    """An image column (PIL images, ``{"bytes", "path"}`` dicts as ``datasets`` stores them,
    or raw bytes) -> float32 (N, C, H, W) in [0, 255]."""
    c, h, w = shape
    mode = {1: "L", 3: "RGB"}.get(c)
    if mode is None:
        raise ValueError(f"{where}: image_shape channels must be 1 or 3, got {c}")
    out = np.empty((len(values), c, h, w), dtype=np.float32)
    for i, v in enumerate(values):  # setup only: decode once
        if isinstance(v, dict):
            v = v.get("bytes") or v.get("path")
        img = v if isinstance(v, Image.Image) else Image.open(io.BytesIO(v) if isinstance(
            v, (bytes, bytearray)) else v)
        img = img.convert(mode)
        if img.size != (w, h):
            raise ValueError(f"{where}: image at row {i + 1} is {img.size[0]}x{img.size[1]}, "
                             f"expected {w}x{h} (image_shape)")
        arr = np.asarray(img, dtype=np.float32)
        out[i] = arr[None] if c == 1 else arr.transpose(2, 0, 1)
    return out


def pixel_values(values: pd.Series, shape: tuple[int, int, int], where: str) -> np.ndarray:
    """A column whose cells are lists of C*H*W numbers -> float32 (N, C, H, W)."""
    size = int(np.prod(shape))
    lengths = values.map(len).to_numpy()
    if (lengths != size).any():
        row = int(np.flatnonzero(lengths != size)[0])
        raise ValueError(f"{where}: row {row + 1} has {lengths[row]} pixels, expected {size} "
                         f"(image_shape {list(shape)})")
    return np.stack(values.to_numpy()).astype(np.float32).reshape(-1, *shape)


class ImageClassificationDataModule(TensorDataModule):
    """Images -> x (N, C, H, W), scaled by ``pixel_scale`` then z-scored with the train
    split's mean/std (one per channel).

    Pixels come from ``pixel_columns`` (a list or a name prefix, one column per pixel,
    C-H-W order), a ``pixels_column`` holding lists, or an ``image_column`` of encoded
    images (what the hub's ``ylecun/mnist`` and ``uoft-cs/cifar10`` hold).
    """

    def __init__(self, name: str = "image", files: dict | None = None, path: str | None = None,
                 offline_subdir: str | None = None, hub_id: str | None = None,
                 hub_config: str | None = None, label_column: str = "label",
                 num_classes: int | None = None, classes: list | None = None,
                 image_shape: list | None = None, pixel_columns: list | str | None = None,
                 pixels_column: str | None = None, image_column: str | None = None,
                 pixel_scale: float = 1.0, val_fraction: float = 0.1, test_fraction: float = 0.1,
                 split_seed: int = 0, batch_size: int = 64, eval_batch_size: int = 1024,
                 seed: int = 0):
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        if image_shape is None or len(image_shape) != 3:
            raise ValueError(f"{name}: image_shape must be [C, H, W], got {image_shape}")
        chosen = {k: v for k, v in (("pixel_columns", pixel_columns),
                                    ("pixels_column", pixels_column),
                                    ("image_column", image_column)) if v is not None}
        if len(chosen) != 1:
            now = ", ".join(f"{k}={v}" for k, v in chosen.items()) or "none"
            raise ValueError(f"{name}: set exactly one of pixel_columns, pixels_column, "
                             f"image_column (now set: {now}; conf/task/custom_image.yaml sets "
                             "pixel_columns=pixel_ by default: add task.data.pixel_columns=null "
                             "to use another)")
        self.name = name
        self.source = SplitSource(name, files, path, offline_subdir, hub_id, hub_config,
                                  val_fraction, test_fraction, split_seed)
        self.label_column, self.num_classes, self.classes = label_column, num_classes, classes
        self.image_shape = tuple(int(s) for s in image_shape)
        self.pixel_columns, self.pixels_column = pixel_columns, pixels_column
        self.image_column, self.pixel_scale = image_column, float(pixel_scale)
        self.stats: dict[str, np.ndarray] = {}

    def _pixels(self, df: pd.DataFrame, split: str) -> np.ndarray:
        where = f"{self.name} ({split})"
        if self.image_column is not None:
            require_columns(df, [self.image_column], where)
            return decode_images(df[self.image_column], self.image_shape, where)
        if self.pixels_column is not None:
            require_columns(df, [self.pixels_column], where)
            return pixel_values(df[self.pixels_column], self.image_shape, where)
        cols = select_columns(df, self.pixel_columns, [self.label_column], where)
        if len(cols) != int(np.prod(self.image_shape)):
            raise ValueError(f"{where}: {len(cols)} pixel columns, expected "
                             f"{int(np.prod(self.image_shape))} (image_shape "
                             f"{list(self.image_shape)})")
        values = numeric_matrix(df, cols, where)
        if np.isnan(values).any():
            row = int(np.argwhere(np.isnan(values))[0][0])
            raise ValueError(f"{where}: missing pixel value at row {row + 1}")
        return values.reshape(-1, *self.image_shape)

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        tables = self.source.read_splits()
        labels, names = class_labels(tables, self.label_column, self.num_classes,
                                     self.classes, self.name)
        pixels = {s: self._pixels(df, s) / self.pixel_scale for s, df in tables.items()}
        mean = pixels["train"].mean(axis=(0, 2, 3), keepdims=True)
        std = np.maximum(pixels["train"].std(axis=(0, 2, 3), keepdims=True), 1e-8)
        self.stats = {"mean": mean.ravel(), "std": std.ravel()}
        out = {s: {"x": torch.from_numpy(((pixels[s] - mean) / std).astype(np.float32)),
                   "y": torch.from_numpy(labels[s])} for s in ("train", "val", "test")}
        self.spec = DataSpec(task_type="classification", num_outputs=len(names),
                             input_dim=self.image_shape[0],
                             image_shape=self.image_shape,
                             extra={"classes": [str(c) for c in names]})
        return out
