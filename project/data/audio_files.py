"""A user's recordings as a table of (waveform, sampling rate, label): ``.wav`` files under a
folder (one subfolder per class, or labels from a file-name pattern, or a ``path,label`` CSV),
or a Parquet/CSV table with an audio array column. Every problem is one line naming the file."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import wavfile
from scipy.signal import resample_poly

WAV_SUFFIX = ".wav"


def read_wav(source, where: str) -> tuple[np.ndarray, int]:
    """One wav file (a path or bytes) -> float32 samples (frames, channels) in [-1, 1] and
    its sampling rate. Integer PCM is scaled by its type's range."""
    try:
        rate, data = wavfile.read(io.BytesIO(source) if isinstance(source, bytes) else source)
    except Exception as e:  # noqa: BLE001 - any reader failure is one line naming the file
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{where}: not a readable .wav file ({msg})") from e
    if len(data) == 0:
        raise ValueError(f"{where}: the recording is empty (0 samples)")
    data = data.reshape(len(data), -1)
    if data.dtype == np.uint8:  # 8-bit PCM is unsigned, centred on 128
        data = (data.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32) / float(-np.iinfo(data.dtype).min)
    return data.astype(np.float32), int(rate)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) the mean of the channels."""
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``) from ``rate`` to ``target`` Hz."""
    if rate == target:
        return samples
    g = math.gcd(int(rate), int(target))
    return resample_poly(samples, target // g, rate // g).astype(np.float32)


def wav_files(folder: Path, where: str) -> list[Path]:
    """Every ``.wav`` under ``folder`` (recursively, sorted); raises if the folder is missing
    or holds none."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{where}: folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() == WAV_SUFFIX
                   and p.is_file())
    if not files:
        raise ValueError(f"{where}: no .wav files under {folder}")
    return files


def labels_from_folders(folder: Path, where: str) -> pd.DataFrame:
    """``folder/<label>/*.wav`` (as torchvision's ImageFolder) -> rows ``path, label``."""
    files = wav_files(folder, where)
    loose = [p for p in files if p.parent == folder]
    if loose:
        raise ValueError(f"{where}: {loose[0]} is not in a class subfolder ({folder}/<label>/"
                         f"*.wav); or set task.data.label_pattern or a path,label CSV")
    return pd.DataFrame({"path": [str(p) for p in files],
                         "label": [p.relative_to(folder).parts[0] for p in files]})


def labels_from_pattern(folder: Path, pattern: str, where: str) -> pd.DataFrame:
    """Labels from each file name (without folder) by ``pattern``'s first group (or the whole
    match); a file whose name does not match raises, naming it."""
    try:
        regex = re.compile(pattern)
    except re.error as e:
        raise ValueError(f"{where}: label_pattern {pattern!r} is not a regular expression "
                         f"({e})") from e
    files = wav_files(folder, where)
    matches = [regex.search(p.name) for p in files]
    if not any(matches):
        raise ValueError(f"{where}: label_pattern {pattern!r} matches none of the "
                         f"{len(files)} .wav file names under {folder} (e.g. {files[0].name!r})")
    for p, m in zip(files, matches):
        if m is None:
            raise ValueError(f"{where}: label_pattern {pattern!r} does not match {p}")
    labels = [m.group(1) if m.re.groups else m.group(0) for m in matches]
    return pd.DataFrame({"path": [str(p) for p in files], "label": labels})


def labels_from_csv(table: pd.DataFrame, csv: Path, path_column: str, label_column: str,
                    where: str) -> pd.DataFrame:
    """A ``path,label`` table (paths relative to the CSV's folder, or absolute)."""
    paths = [str(p) if Path(p).is_absolute() else str(csv.parent / str(p))
             for p in table[path_column]]
    return pd.DataFrame({"path": paths, "label": table[label_column].to_numpy()})


def load_recordings(rows: pd.DataFrame, target_rate: int, where: str) -> list[np.ndarray]:
    """Read ``rows.path`` (wav files) -> mono float32 waveforms at ``target_rate``; every file
    must have the same channel count."""
    out, channels = [], None
    for path in rows["path"]:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"{where}: audio file {p} does not exist")
        samples, rate = read_wav(str(p), f"{where}: {p}")
        if channels is None:
            channels, first = samples.shape[1], p
        elif samples.shape[1] != channels:
            raise ValueError(f"{where}: mixed channel counts: {p} has {samples.shape[1]}, "
                             f"{first} has {channels}")
        out.append(resample(to_mono(samples), rate, target_rate))
    return out


def table_waveforms(values: pd.Series, rates: np.ndarray | None, target_rate: int,
                    sample_scale: float, where: str) -> list[np.ndarray]:
    """An audio column -> mono float32 waveforms at ``target_rate``.

    A cell is a sequence of samples (divided by ``sample_scale``: 32768 for int16 PCM), a
    JSON list (as a CSV holds it), or a ``datasets`` Audio cell (``{"array",
    "sampling_rate"}`` or wav ``{"bytes", "path"}``). ``rates`` (per row) defaults to
    ``target_rate``.
    """
    out = []
    for i, v in enumerate(values):
        row = f"{where}: row {i + 1}"
        rate = int(rates[i]) if rates is not None else target_rate
        if isinstance(v, dict):
            if v.get("array") is not None:
                samples = np.asarray(v["array"], dtype=np.float32)
                rate = int(v.get("sampling_rate") or rate)
            elif v.get("bytes") or v.get("path"):
                samples, rate = read_wav(v.get("bytes") or v.get("path"), row)
                samples = to_mono(samples)
            else:
                raise ValueError(f"{row}: audio cell has neither array nor bytes/path")
        else:
            if isinstance(v, str):
                try:
                    v = json.loads(v)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{row}: audio cell is not a list of samples "
                                     f"({v[:40]!r})") from e
            try:
                samples = np.asarray(v, dtype=np.float32).reshape(-1) / sample_scale
            except (TypeError, ValueError) as e:
                raise ValueError(f"{row}: audio cell is not a list of numbers") from e
        if samples.size == 0:
            raise ValueError(f"{row}: the recording is empty (0 samples)")
        if not np.isfinite(samples).all():
            raise ValueError(f"{row}: the recording has non-finite samples")
        out.append(resample(samples, rate, target_rate))
    return out
