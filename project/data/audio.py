"""Audio classification (FSDD spoken digits; a user's own recordings): waveform -> log-mel
frames, the positions the pooling attends over, with a mask per recording's length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from project.data.audio_files import (labels_from_csv, labels_from_folders, labels_from_pattern,
                                      load_recordings, table_waveforms)
from project.data.base import DataSpec, ShuffledBatches, TensorDataModule, training_loader
from project.data.columns import class_labels, require_columns
from project.data.log_mel import log_mel_frames, stack_frames
from project.data.sources import read_tables, resolve_source
from project.data.spec_augment import MaskedBatches
from project.data.splits import SplitSource

SPLITS = ("official", "speaker")
# (source files and their modification times, feature settings) -> loaded splits and spec:
# features are computed once per process, however many DataModules a process builds.
_FEATURE_CACHE: dict[tuple, tuple[dict, DataSpec, dict]] = {}


def _stamp(path: Path) -> tuple:
    """A file's or folder's identity for the cache: path, size and modification time (of
    every file under a folder)."""
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.is_file())


class AudioClassificationDataModule(TensorDataModule):
    """Recordings -> x (N, T, context * n_mels) z-scored log-mel frames (train split's mean
    and std per mel channel), mask (N, T) of each recording's frames, y (N,).

    Sources: a folder of ``.wav`` files (``DIR/<label>/*.wav``, or labels from the file
    names by ``label_pattern``), a CSV of ``path_column,label_column``, or tables (a file,
    a folder holding ``files``, the offline copy, or ``hub_id``) whose ``audio_column``
    holds the samples (rates from ``sampling_rate_column`` when present). Everything is
    resampled to ``sample_rate``. ``split="speaker"`` makes ``test_speaker``'s recordings
    the test set (all splits pooled first) and trains on the other speakers. Each position
    stacks ``context`` consecutive frames, every ``stride`` frames. ``augment`` masks a
    band of mel channels and a run of positions per training example (off by default).
    """

    def __init__(self, name: str = "audio", files: dict | None = None, path: str | None = None,
                 offline_subdir: str | None = None, hub_id: str | None = None,
                 hub_config: str | None = None, audio_column: str = "audio",
                 label_column: str = "label", path_column: str = "path",
                 sampling_rate_column: str | None = "sampling_rate",
                 label_pattern: str | None = None, num_classes: int | None = None,
                 classes: list | None = None, sample_rate: int = 8000,
                 sample_scale: float = 32768.0, split: str = "official",
                 speaker_column: str = "speaker", test_speaker: str | None = None,
                 n_fft: int = 256, hop: int = 80, n_mels: int = 40, f_min: float = 0.0,
                 f_max: float | None = None, context: int = 1, stride: int = 1,
                 augment: bool = False, freq_mask: int = 8, time_mask: int = 5,
                 val_fraction: float = 0.1, test_fraction: float = 0.1, split_seed: int = 0,
                 batch_size: int = 64, eval_batch_size: int = 1024, seed: int = 0):
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        if split not in SPLITS:
            raise ValueError(f"{name}: split={split!r}: expected one of {', '.join(SPLITS)}")
        if split == "speaker" and test_speaker is None:
            raise ValueError(f"{name}: split=speaker needs task.data.test_speaker")
        if sample_rate < 1 or sample_scale <= 0:
            raise ValueError(f"{name}: need sample_rate >= 1 and sample_scale > 0")
        self.name, self.path, self.label_pattern = name, path, label_pattern
        self.source = SplitSource(name, files, path, offline_subdir, hub_id, hub_config,
                                  val_fraction, test_fraction, split_seed)
        self.audio_column, self.label_column, self.path_column = (audio_column, label_column,
                                                                  path_column)
        self.sampling_rate_column = sampling_rate_column
        self.num_classes, self.classes = num_classes, classes
        self.sample_rate, self.sample_scale = int(sample_rate), float(sample_scale)
        self.split, self.speaker_column, self.test_speaker = split, speaker_column, test_speaker
        self.mel = {"n_fft": n_fft, "hop": hop, "n_mels": n_mels, "f_min": f_min,
                    "f_max": f_max}
        self.context, self.stride = context, stride
        self.augment, self.freq_mask, self.time_mask = augment, freq_mask, time_mask
        self.stats: dict[str, np.ndarray] = {}

    # -- reading -------------------------------------------------------------------------
    def _wav_folder(self) -> Path | None:
        """The folder of wav files to read, or None when the source is tables."""
        if self.label_pattern is not None:
            if not self.path:
                raise ValueError(f"{self.name}: label_pattern needs task.data.path=<folder>")
            return Path(self.path).expanduser()
        if self.path:
            p = Path(self.path).expanduser()
            if p.is_dir() and not (p / self.source.files["train"]).is_file():
                return p
        return None

    def _rows(self) -> tuple[dict[str, pd.DataFrame], tuple]:
        """Per split, one row per recording (a ``path`` to a wav file, or the table's own
        row with its audio cell), and the sources' stamp for the cache."""
        folder = self._wav_folder()
        if folder is not None:
            rows = (labels_from_pattern(folder, self.label_pattern, self.name)
                    if self.label_pattern is not None else labels_from_folders(folder, self.name))
            return {"train": rows.rename(columns={"label": self.label_column})}, _stamp(folder)
        src = self.source
        source = resolve_source(src.name, src.files, src.path, src.offline_subdir, src.hub_id,
                                src.hub_config)
        source_tables = read_tables(source)
        if "train" not in source_tables:
            raise ValueError(f"{self.name}: no train split in {source.describe()} "
                             f"(found {sorted(source_tables)})")
        tables, wav_stamps = {}, []
        for split, df in source_tables.items():
            where = f"{self.name} ({split})"
            if self.audio_column in df.columns:
                tables[split] = df
            elif self.path_column in df.columns:
                require_columns(df, [self.label_column], where)
                rows = labels_from_csv(df, source.files[split], self.path_column,
                                       self.label_column, where)
                wav_stamps += [_stamp(Path(p)) for p in rows["path"] if Path(p).is_file()]
                tables[split] = rows.rename(columns={"label": self.label_column})
            else:
                raise ValueError(f"{where}: neither an audio column {self.audio_column!r} nor a "
                                 f"file path column {self.path_column!r}; available: "
                                 f"{list(df.columns)}")
        stamp = (tuple(_stamp(p) for p in source.files.values()) if source.files
                 else (source.describe(),)) + tuple(wav_stamps)
        return tables, stamp

    def _speaker_split(self, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """All splits pooled; ``test_speaker``'s recordings are the test set, the rest train
        (validation is then carved from train)."""
        pooled = pd.concat(list(tables.values()), ignore_index=True)
        require_columns(pooled, [self.speaker_column], self.name)
        speakers, held_out = pooled[self.speaker_column].astype(str), str(self.test_speaker)
        if held_out not in set(speakers):
            raise ValueError(f"{self.name}: test_speaker={held_out!r} is not one of the "
                             f"speakers {sorted(set(speakers))}")
        held = (speakers == held_out).to_numpy()
        return {"train": pooled[~held].reset_index(drop=True),
                "test": pooled[held].reset_index(drop=True)}

    def _waveforms(self, df: pd.DataFrame, split: str) -> list[np.ndarray]:
        where = f"{self.name} ({split})"
        if self.audio_column not in df.columns:
            return load_recordings(df, self.sample_rate, where)
        rates = None
        if self.sampling_rate_column and self.sampling_rate_column in df.columns:
            rates = df[self.sampling_rate_column].to_numpy()
        return table_waveforms(df[self.audio_column], rates, self.sample_rate, self.sample_scale,
                               where)

    # -- features ------------------------------------------------------------------------
    def _cache_key(self, stamp: tuple) -> tuple:
        return (self.name, stamp, self.source.val_fraction,
                self.source.test_fraction, self.source.split_seed, self.audio_column,
                self.label_column, self.path_column, self.sampling_rate_column,
                self.label_pattern, self.num_classes,
                tuple(self.classes) if self.classes is not None else None, self.sample_rate,
                self.sample_scale, self.split, self.speaker_column, self.test_speaker,
                tuple(self.mel.items()), self.context, self.stride)

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        tables, stamp = self._rows()
        key = self._cache_key(stamp)
        if key in _FEATURE_CACHE:
            out, self.spec, self.stats = _FEATURE_CACHE[key]
            return out
        if self.split == "speaker":
            tables = self._speaker_split(tables)
        tables = self.source.carve(tables)
        labels, names = class_labels(tables, self.label_column, self.num_classes, self.classes,
                                     self.name)
        order = ("train", "val", "test")
        waves = [self._waveforms(tables[s], s) for s in order]
        x, lengths = log_mel_frames([w for ws in waves for w in ws], self.sample_rate,
                                    **self.mel)
        valid = torch.arange(x.shape[1])[None, :] < lengths[:, None]
        n_train = len(waves[0])
        frames = x[:n_train][valid[:n_train]]  # the train split's real frames only
        mean, std = frames.mean(0), frames.std(0).clamp(min=1e-6)
        self.stats = {"mean": mean.numpy(), "std": std.numpy()}
        x = torch.where(valid[:, :, None], (x - mean) / std, 0.0)
        x, mask = stack_frames(x, lengths, self.context, self.stride)
        out, start = {}, 0
        for split, ws in zip(order, waves):
            rows = slice(start, start + len(ws))
            out[split] = {"x": x[rows].contiguous(), "mask": mask[rows].contiguous(),
                          "y": torch.from_numpy(labels[split])}
            start += len(ws)
        self.spec = DataSpec(task_type="classification", num_outputs=len(names),
                             input_dim=x.shape[2], max_len=x.shape[1],
                             extra={"classes": [str(c) for c in names],
                                    "frames": int(lengths.max()),
                                    "sample_rate": self.sample_rate})
        _FEATURE_CACHE[key] = (out, self.spec, self.stats)
        return out

    def train_dataloader(self):
        if not self.augment:
            return super().train_dataloader()
        self.setup()
        batches = MaskedBatches(ShuffledBatches(self.splits["train"], self.batch_size, self.seed),
                                self.mel["n_mels"], self.freq_mask, self.time_mask, self.seed)
        return training_loader(batches, self.trainer, self.updates_per_batch)
