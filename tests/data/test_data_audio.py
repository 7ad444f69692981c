"""Audio: the mel filterbank and log-mel frames against independent numpy computations, the
DataModule's contract (masks, determinism, cache, augmentation) and task=custom_audio on
.wav files the tests write with the standard library's ``wave``."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import wave

import numpy as np
import pandas as pd
import pytest
import torch
from hydra.utils import instantiate
from scipy.signal import get_window

from project.data import audio as audio_module
from project.data.audio_files import table_waveforms
from project.data.log_mel import log_mel_frames, mel_filterbank, stack_frames
from project.data.sources import offline_data_dir
from project.training.run import train
from tests.conftest import ROOT, compose_train

SHORT = ["task.budget.max_steps=6", "task.budget.val_every_n_steps=3", "task.data.batch_size=8"]


def write_wav(path, samples: np.ndarray, rate: int = 8000, channels: int = 1) -> None:
    """int16 PCM via the standard library; ``samples`` (frames,) or (frames, channels)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def tone(freq: float, seconds: float, rate: int = 8000, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (8000 * np.sin(2 * np.pi * freq * t) + 300 * noise).astype(np.int16)


def tone_folder(root, n_per_class: int = 12, rate: int = 8000):
    """root/low/*.wav (300 Hz) and root/high/*.wav (2000 Hz), lengths 0.1-0.5 s."""
    for i in range(n_per_class):
        for label, freq in (("low", 300.0), ("high", 2000.0)):
            write_wav(root / label / f"{label}_{i}.wav",
                      tone(freq, 0.1 + 0.4 * i / n_per_class, rate, seed=i), rate)
    return root


def setup_data(task: str, tmp_path, *overrides: str):
    cfg = compose_train([f"task={task}", *SHORT, *overrides], tmp_path / "run")
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup()
    return dm


@pytest.fixture(autouse=True)
def empty_cache():
    audio_module._FEATURE_CACHE.clear()
    yield
    audio_module._FEATURE_CACHE.clear()


# -- features ----------------------------------------------------------------------------
def test_mel_filterbank_matches_the_htk_formula_bin_by_bin():
    n_mels, n_fft, rate = 6, 64, 8000
    fb = mel_filterbank(n_mels, n_fft, rate).numpy()
    top = 2595 * math.log10(1 + 4000 / 700)
    centres = [700 * (10 ** (top * k / (n_mels + 1) / 2595) - 1) for k in range(n_mels + 2)]
    for j in range(n_mels):
        lo, mid, hi = centres[j], centres[j + 1], centres[j + 2]
        for b in range(n_fft // 2 + 1):
            f = b * rate / n_fft
            want = (f - lo) / (mid - lo) if lo <= f <= mid else (
                (hi - f) / (hi - mid) if mid < f <= hi else 0.0)
            assert fb[b, j] == pytest.approx(want, abs=1e-6), (b, j)


def test_a_tone_lands_in_the_band_centred_nearest_it():
    rate, n_mels = 8000, 20
    x, lengths = log_mel_frames([tone(1000.0, 0.3, rate).astype(np.float32) / 32768], rate,
                                n_fft=256, hop=80, n_mels=n_mels)
    top = 2595 * math.log10(1 + 4000 / 700)
    centres = [700 * (10 ** (top * k / (n_mels + 1) / 2595) - 1) for k in range(1, n_mels + 1)]
    nearest = int(np.argmin([abs(c - 1000.0) for c in centres]))
    assert x[0, : lengths[0]].mean(0).argmax().item() == nearest


def test_log_mel_frames_match_numpy_rfft_per_frame():
    rate, n_fft, hop, n_mels = 8000, 128, 40, 10
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (700, 128, 300, 90)]
    x, lengths = log_mel_frames(waves, rate, n_fft=n_fft, hop=hop, n_mels=n_mels, chunk=3)
    fb = mel_filterbank(n_mels, n_fft, rate).numpy().astype(np.float64)
    window = get_window("hann", n_fft)  # periodic Hann, as torch.hann_window
    for i, w in enumerate(waves):
        w = np.pad(w.astype(np.float64), (0, max(0, n_fft - len(w))))
        frames = [w[s:s + n_fft] for s in range(0, len(w) - n_fft + 1, hop)]
        assert lengths[i] == len(frames)
        power = np.abs(np.fft.rfft(np.array(frames) * window, axis=1)) ** 2
        want = np.log(np.maximum(power @ fb, 1e-10))
        np.testing.assert_allclose(x[i, : len(frames)].numpy(), want, rtol=1e-4, atol=1e-3)
        assert not x[i, len(frames):].any()  # zero after the recording's last frame


def test_stack_frames_windows_and_mask():
    x = torch.arange(1, 9, dtype=torch.float32).reshape(1, 8, 1).repeat(2, 1, 1)
    stacked, mask = stack_frames(x, torch.tensor([8, 3]), context=3, stride=2)
    # windows start at frames 0, 2, 4, 6; the last is zero-padded past frame 8
    assert stacked[0].tolist() == [[1, 2, 3], [3, 4, 5], [5, 6, 7], [7, 8, 0]]
    assert mask.tolist() == [[True, True, True, True], [True, True, False, False]]


# -- the DataModule on generated wav files ------------------------------------------------
def test_wav_folder_trains_by_config(tmp_path):
    folder = tone_folder(tmp_path / "words")
    cfg = compose_train(["task=custom_audio", *SHORT, f"task.data.path={folder}",
                         "task.data.context=2", "task.data.stride=2"], tmp_path / "run")
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup()
    assert dm.spec.extra["classes"] == ["high", "low"]
    assert {s: len(d["y"]) for s, d in dm.splits.items()} == {"train": 20, "val": 2, "test": 2}
    assert dm.spec.input_dim == 80
    # every recording's mask covers exactly its frames: 1 + (samples - 256) // 80, in pairs
    all_x = torch.cat([d["mask"].sum(1) for d in dm.splits.values()])
    samples = [int(8000 * (0.1 + 0.4 * i / 12)) for i in range(12)]
    frames = [1 + (n - 256) // 80 for n in samples]
    assert sorted(all_x.tolist()) == sorted([math.ceil(f / 2) for f in frames] * 2)
    summary = train(cfg)
    assert summary["steps_trained"] == 6 and "test/acc" in summary["test_metrics"]


def test_resampling_to_the_configured_rate(tmp_path):
    write_wav(tmp_path / "a" / "slow.wav", tone(300.0, 0.5, 16000), 16000)
    write_wav(tmp_path / "b" / "fast.wav", tone(300.0, 0.5, 8000), 8000)
    for i in range(8):
        write_wav(tmp_path / "b" / f"x{i}.wav", tone(300.0, 0.5, 8000, seed=i), 8000)
    dm = setup_data("custom_audio", tmp_path, f"task.data.path={tmp_path}",
                    "task.data.context=1", "task.data.stride=1", "task.data.val_fraction=0.1",
                    "task.data.test_fraction=0.1")
    lengths = torch.cat([d["mask"].sum(1) for d in dm.splits.values()])
    assert set(lengths.tolist()) == {1 + (4000 - 256) // 80}  # 0.5 s at 8 kHz, all files


def test_label_pattern_and_path_label_csv(tmp_path):
    for i in range(10):
        for digit, freq in ((3, 500.0), (7, 1500.0)):
            write_wav(tmp_path / "rec" / f"{digit}_anna_{i}.wav", tone(freq, 0.3, seed=i))
    dm = setup_data("custom_audio", tmp_path, f"task.data.path={tmp_path / 'rec'}",
                    "task.data.label_pattern='^(\\d+)_'")
    assert dm.spec.extra["classes"] == ["3", "7"]
    rows = pd.DataFrame({"file": [f"rec/{d}_anna_{i}.wav" for d in (3, 7) for i in range(10)],
                         "word": ["three"] * 10 + ["seven"] * 10})
    rows.to_csv(tmp_path / "labels.csv", index=False)
    dm = setup_data("custom_audio", tmp_path, f"task.data.path={tmp_path / 'labels.csv'}",
                    "task.data.path_column=file", "task.data.label_column=word")
    assert dm.spec.extra["classes"] == ["seven", "three"]
    assert sum(len(d["y"]) for d in dm.splits.values()) == 20


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_table_with_an_audio_array_column(tmp_path, suffix):
    waves = [tone(400.0 + 900 * (i % 2), 0.2 + 0.01 * i, seed=i) for i in range(20)]
    df = pd.DataFrame({"audio": [w.tolist() for w in waves], "label": [i % 2 for i in range(20)],
                       "sampling_rate": 8000})
    path = tmp_path / f"t.{suffix}"
    if suffix == "csv":
        df.assign(audio=df["audio"].map(str)).to_csv(path, index=False)
    else:
        df.to_parquet(path)
    dm = setup_data("custom_audio", tmp_path, f"task.data.path={path}")
    assert dm.spec.num_outputs == 2
    assert sum(len(d["y"]) for d in dm.splits.values()) == 20


def test_datasets_audio_cells_are_decoded_and_resampled(tmp_path):
    """The hub's Audio cells: decoded ``{"array", "sampling_rate"}`` or wav ``{"bytes"}``."""
    write_wav(tmp_path / "a.wav", tone(300.0, 0.25, 16000), 16000)
    cells = pd.Series([{"array": np.zeros(4000, dtype=np.float32), "sampling_rate": 16000},
                       {"bytes": (tmp_path / "a.wav").read_bytes(), "path": None}])
    waves = table_waveforms(cells, None, 8000, 32768.0, "t")
    assert [len(w) for w in waves] == [2000, 2000]
    assert np.abs(waves[1]).max() == pytest.approx(8000 / 32768, abs=0.06)


def test_speaker_split_holds_out_one_speaker(tmp_path):
    speakers = ["ann", "bob", "cy"]
    df = pd.DataFrame({"audio": [tone(300.0 + 200 * (i % 3), 0.2, seed=i).tolist()
                                 for i in range(30)],
                       "label": [i % 3 for i in range(30)],
                       "speaker": [speakers[i // 10] for i in range(30)]})
    df.to_parquet(tmp_path / "t.parquet")
    dm = setup_data("custom_audio", tmp_path, f"task.data.path={tmp_path / 't.parquet'}",
                    "task.data.split=speaker", "task.data.test_speaker=bob")
    assert len(dm.splits["test"]["y"]) == 10 and len(dm.splits["train"]["y"]) == 18
    with pytest.raises(ValueError, match=r"test_speaker='dan' is not one of the speakers"):
        setup_data("custom_audio", tmp_path, f"task.data.path={tmp_path / 't.parquet'}",
                   "task.data.split=speaker", "task.data.test_speaker=dan")


def test_batches_are_a_function_of_seed_and_step_and_features_are_cached(tmp_path,
                                                                           monkeypatch):
    folder = tone_folder(tmp_path / "words")
    calls = []
    original = audio_module.log_mel_frames
    monkeypatch.setattr(audio_module, "log_mel_frames",
                        lambda *a, **k: calls.append(1) or original(*a, **k))

    def batches(seed, *overrides):
        cfg = compose_train(["task=custom_audio", *SHORT, f"task.data.path={folder}",
                             *overrides], tmp_path / "run")
        dm = instantiate(cfg.task.data, seed=seed)
        return dm.train_dataloader().dataset.batches

    plain = batches(0)
    assert torch.equal(plain[5]["x"], batches(0)[5]["x"])
    assert not torch.equal(plain[5]["y"], batches(1)[5]["y"])
    assert len(calls) == 1  # three DataModules, one feature computation
    aug = batches(0, "task.data.augment=true", "task.data.freq_mask=20",
                  "task.data.time_mask=3")
    assert len(calls) == 1  # augmentation does not change the cached features
    assert torch.equal(aug[5]["x"], batches(0, "task.data.augment=true",
                                            "task.data.freq_mask=20",
                                            "task.data.time_mask=3")[5]["x"])
    assert torch.equal(aug[5]["y"], plain[5]["y"])
    changed = aug[5]["x"] != plain[5]["x"]
    assert changed.any() and torch.equal(aug[5]["mask"], plain[5]["mask"])
    assert (aug[5]["x"][changed] == 0).all()  # masked values are set to the train mean, 0


# -- bad input: one line, exit 2 -----------------------------------------------------------
def one_line_error(tmp_path, *overrides: str) -> str:
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        setup_data("custom_audio", tmp_path, *overrides)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_missing_folder_exits_2_with_one_line(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "WANDB_MODE": "offline"}
    proc = subprocess.run(
        [sys.executable, "-m", "project.train", "task=custom_audio",
         f"task.data.path={tmp_path / 'nowhere'}", f"run_dir={tmp_path / 'run'}",
         "trainer.enable_progress_bar=false"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and str(tmp_path / "nowhere") in lines[0], proc.stderr
    assert not (tmp_path / "run" / "summary.json").exists()


def test_unreadable_and_empty_files_are_named(tmp_path):
    folder = tone_folder(tmp_path / "w", n_per_class=3)
    (folder / "low" / "broken.wav").write_bytes(b"not a wav file at all")
    msg = one_line_error(tmp_path, f"task.data.path={folder}")
    assert "broken.wav" in msg and "not a readable .wav file" in msg
    (folder / "low" / "broken.wav").unlink()
    write_wav(folder / "high" / "silent.wav", np.zeros(0))
    msg = one_line_error(tmp_path, f"task.data.path={folder}")
    assert "silent.wav" in msg and "empty" in msg


def test_mixed_channel_counts(tmp_path):
    folder = tone_folder(tmp_path / "w", n_per_class=3)
    write_wav(folder / "low" / "zz_stereo.wav", np.repeat(tone(300.0, 0.2), 2), channels=2)
    msg = one_line_error(tmp_path, f"task.data.path={folder}")
    assert "mixed channel counts" in msg and "zz_stereo.wav has 2" in msg


def test_label_pattern_matching_nothing(tmp_path):
    folder = tone_folder(tmp_path / "w", n_per_class=2)
    msg = one_line_error(tmp_path, f"task.data.path={folder}", "task.data.label_pattern='^x(\\d)'")
    assert "matches none of the 4 .wav file names" in msg


def test_loose_files_without_class_folders(tmp_path):
    write_wav(tmp_path / "w" / "a.wav", tone(300.0, 0.2))
    msg = one_line_error(tmp_path, f"task.data.path={tmp_path / 'w'}")
    assert "not in a class subfolder" in msg


@pytest.mark.slow
def test_fsdd_offline_copy_official_and_speaker_splits(tmp_path):
    dm = setup_data("fsdd", tmp_path)
    assert {s: len(d["y"]) for s, d in dm.splits.items()} == {"train": 2430, "val": 270,
                                                              "test": 300}
    assert dm.spec.input_dim == 400 and dm.spec.extra["classes"] == [str(d) for d in range(10)]
    # SOURCE.txt: 1,148-18,262 samples per recording -> 12-226 frames; a position starts
    # every 5th frame and spans 10, so the longest recording fills all 1 + ceil(216 / 5)
    lengths = torch.cat([d["mask"].sum(1) for d in dm.splits.values()])
    assert lengths.min() == math.ceil((1 + (1148 - 256) // 80) / 5)
    assert lengths.max() == dm.spec.max_len == 1 + math.ceil((1 + (18262 - 256) // 80 - 10) / 5)
    test = pd.read_parquet(offline_data_dir() / "fsdd" / "test.parquet")
    assert torch.equal(dm.splits["test"]["y"], torch.from_numpy(test["label"].to_numpy()))
    held = setup_data("fsdd", tmp_path, "task.data.split=speaker", "task.data.test_speaker=theo")
    assert len(held.splits["test"]["y"]) == 500 and len(held.splits["val"]["y"]) == 250
