"""Image DataModules and image feature modules: USPS, digits, and the hub layouts of MNIST
and CIFAR-10 through a local file the test writes."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from project.models.build import build_network
from project.models.image_features import ConvFeatures, PatchFeatures
from project.training.run import train
from tests.conftest import compose_train


def datamodule(task: str, tmp_path, *overrides: str, seed: int = 0):
    dm = instantiate(compose_train([f"task={task}", *overrides], tmp_path).task.data, seed=seed)
    dm.setup()
    return dm


def test_usps_shapes_and_train_only_normalisation(tmp_path):
    dm = datamodule("usps", tmp_path)
    assert {s: len(d["y"]) for s, d in dm.splits.items()} == {"train": 6562, "val": 729,
                                                             "test": 2007}
    assert dm.splits["train"]["x"].shape[1:] == (1, 16, 16) and dm.spec.image_shape == (1, 16, 16)
    train, test = dm.splits["train"]["x"], dm.splits["test"]["x"]
    assert float(train.mean()) == pytest.approx(0.0, abs=1e-4)
    assert float(train.std()) == pytest.approx(1.0, abs=1e-3)
    assert abs(float(test.mean())) > 1e-3  # test was scaled with train statistics, not its own


def test_digits_split_80_10_10_disjoint_and_fixed(tmp_path):
    a, b = datamodule("digits", tmp_path, seed=0), datamodule("digits", tmp_path, seed=3)
    assert {s: len(d["y"]) for s, d in a.splits.items()} == {"train": 1437, "val": 180,
                                                            "test": 180}
    for s in a.splits:
        assert torch.equal(a.splits[s]["x"], b.splits[s]["x"])
    flat = {s: {tuple(r.flatten().tolist()) for r in d["x"]} for s, d in a.splits.items()}
    # digits has a few duplicate images; beyond those, the splits share nothing
    assert len(flat["train"] & flat["test"]) <= 2 and len(flat["val"] & flat["test"]) <= 2


def test_patch_features_positions_match_pixels():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    f = PatchFeatures((1, 8, 8), patch_size=4)
    feats, mask = f(x, None)
    assert f.num_positions == 4 and feats.shape == (2, 4, 16) and mask.all()
    assert torch.equal(feats[0, 1], x[0, 0, :4, 4:].flatten())  # top-right patch, row-major
    with pytest.raises(ValueError, match="patch_size"):
        PatchFeatures((1, 8, 8), patch_size=3)


def test_cnn_features_and_positional_network():
    f = ConvFeatures((3, 32, 32), channels=(8, 16))
    feats, mask = f(torch.randn(2, 3, 32, 32), None)
    assert f.num_positions == 64 and feats.shape == (2, 64, 16) and f.out_dim == 16
    from project.data.base import DataSpec
    spec = DataSpec("classification", 10, "image", 3, image_shape=(3, 32, 32))
    net = build_network({"features": "cnn", "cnn_channels": [8, 16], "hidden": 12,
                         "positional": True}, {"pooling": "attention"}, spec)
    assert net.position.num_embeddings == 64
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def write_hub_layout(folder, column: str, mode: str, size: int, n: int = 40) -> None:
    """Parquet files with an encoded-image column, as ``datasets`` stores hub images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    shape = (size, size) if mode == "L" else (size, size, 3)
    feats = datasets.Features({column: datasets.Image(),
                               "label": datasets.ClassLabel(num_classes=10)})
    for split in ("train", "test"):
        imgs = [Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
                for _ in range(n)]
        ds = datasets.Dataset.from_dict({column: imgs, "label": [i % 10 for i in range(n)]},
                                        features=feats)
        ds.to_parquet(str(folder / f"{split}.parquet"))


@pytest.mark.parametrize("task,column,mode,size", [("mnist", "image", "L", 28),
                                                   ("cifar10", "img", "RGB", 32)])
def test_hub_image_configs_via_local_path(tmp_path, task, column, mode, size):
    write_hub_layout(tmp_path / "data", column, mode, size)
    over = [f"task.data.path={tmp_path / 'data'}", "task.budget.max_steps=4",
            "task.budget.val_every_n_steps=2", "task.data.batch_size=8"]
    dm = datamodule(task, tmp_path / "dm", *over)
    c = 1 if mode == "L" else 3
    assert dm.splits["train"]["x"].shape == (36, c, size, size)
    assert {s: len(d["y"]) for s, d in dm.splits.items()} == {"train": 36, "val": 4, "test": 40}
    summary = train(compose_train([f"task={task}", *over], tmp_path / "run"))
    assert summary["steps_trained"] == 4
    correct = summary["test_metrics"]["test/acc"] * 40  # a fraction of the 40 test images
    assert 0 <= correct <= 40 and correct == pytest.approx(round(correct), abs=1e-4)
