"""Waveforms -> log-mel frames with ``torch.stft`` and a triangular mel filterbank (HTK mel
scale), so recordings of different lengths become sequences of frames with a length each."""

from __future__ import annotations

import math

import numpy as np
import torch


def hz_to_mel(f):
    """HTK mel scale: 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float = 0.0,
                   f_max: float | None = None) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters, centres equally spaced in mel between
    ``f_min`` and ``f_max`` (default Nyquist); filter j rises from centre j-1 to 1 at centre j
    and falls to 0 at centre j+1 (peak 1, no area normalisation)."""
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sample_rate / 2 or n_mels < 1:
        raise ValueError(f"mel filterbank: need n_mels >= 1 and 0 <= f_min < f_max <= "
                         f"sample_rate / 2, got n_mels={n_mels}, f_min={f_min}, f_max={f_max}, "
                         f"sample_rate={sample_rate}")
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    rising = (freqs[:, None] - lo) / (mid - lo)
    falling = (hi - freqs[:, None]) / (hi - mid)
    return torch.from_numpy(np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32))


def frame_count(num_samples: int, n_fft: int, hop: int) -> int:
    """Frames of a recording (``center=False`` STFT; a recording shorter than ``n_fft`` is
    zero-padded to one frame)."""
    return 1 + max(num_samples - n_fft, 0) // hop


def log_mel_frames(waveforms: list[np.ndarray], sample_rate: int, n_fft: int = 256,
                   hop: int = 80, n_mels: int = 40, f_min: float = 0.0,
                   f_max: float | None = None, floor: float = 1e-10, chunk: int = 256
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Log mel power spectra of mono waveforms: ``x`` (N, T_max, n_mels) float32, zero after
    each recording's last frame, and ``lengths`` (N,) frames per recording.

    Frames are ``n_fft`` samples every ``hop``, Hann-windowed; ``log(max(mel power, floor))``.
    Computed in chunks of ``chunk`` recordings, each padded to its longest.
    """
    if n_fft < 2 or hop < 1:
        raise ValueError(f"log-mel: need n_fft >= 2 and hop >= 1, got {n_fft}, {hop}")
    fbank = mel_filterbank(n_mels, n_fft, sample_rate, f_min, f_max)
    window = torch.hann_window(n_fft)
    lengths = torch.tensor([frame_count(len(w), n_fft, hop) for w in waveforms])
    out = torch.zeros(len(waveforms), int(lengths.max()) if len(waveforms) else 0, n_mels)
    order = np.argsort([len(w) for w in waveforms], kind="stable")  # similar lengths together
    for start in range(0, len(waveforms), chunk):
        rows = order[start:start + chunk]
        width = max(n_fft, max(len(waveforms[i]) for i in rows))
        batch = torch.zeros(len(rows), width)
        for j, i in enumerate(rows):
            batch[j, : len(waveforms[i])] = torch.as_tensor(waveforms[i], dtype=torch.float32)
        spec = torch.stft(batch, n_fft, hop, window=window, center=False, return_complex=True)
        power = spec.real**2 + spec.imag**2  # (B, freqs, frames)
        mel = torch.log(torch.clamp(power.transpose(1, 2) @ fbank, min=floor))
        for j, i in enumerate(rows):
            out[i, : lengths[i]] = mel[j, : lengths[i]]
    return out, lengths


def stack_frames(x: torch.Tensor, lengths: torch.Tensor, context: int, stride: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, T, F) frames -> (N, T', context * F) positions of ``context`` consecutive frames
    every ``stride`` frames (frame-major order), with the (N, T') mask of positions whose
    first frame is a real one. The frame axis is zero-padded so that windows tile it."""
    if context < 1 or stride < 1:
        raise ValueError(f"frame stacking: need context >= 1 and stride >= 1, got {context}, "
                         f"{stride}")
    n, t, f = x.shape
    positions = 1 + math.ceil(max(t - context, 0) / stride)
    padded = torch.zeros(n, (positions - 1) * stride + context, f)
    padded[:, :t] = x
    windows = padded.unfold(1, context, stride)  # (N, T', F, context)
    stacked = windows.transpose(2, 3).reshape(n, positions, context * f)
    mask = torch.arange(positions)[None, :] * stride < lengths[:, None]
    return stacked, mask
