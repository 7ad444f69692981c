"""Word-level tokenizer with a vocabulary built on the training split only."""

from __future__ import annotations

import re
from collections import Counter

import torch

PAD, UNK = "<pad>", "<unk>"
TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def split_words(text: str) -> list[str]:
    """Lower-cased words (with clitics like ``'s``) and single punctuation marks."""
    return TOKEN_RE.findall(text.lower())


class WordVocabulary:
    """Token <-> id map: id 0 = PAD, 1 = UNK, then training words by frequency."""

    def __init__(self, words: list[str]):
        self.itos = [PAD, UNK, *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def build(cls, texts: list[str], min_freq: int = 1, max_size: int | None = None
              ) -> "WordVocabulary":
        """Vocabulary of the words seen at least ``min_freq`` times in ``texts`` (train only)."""
        counts = Counter(w for t in texts for w in split_words(t))
        words = sorted((w for w, c in counts.items() if c >= min_freq),
                       key=lambda w: (-counts[w], w))
        return cls(words[:max_size] if max_size else words)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, texts: list[str], max_len: int) -> torch.Tensor:
        """Token ids (N, T), T = min(longest text, ``max_len``); PAD-filled, UNK for unknown."""
        ids = [[self.stoi.get(w, 1) for w in split_words(t)][:max_len] or [1] for t in texts]
        out = torch.zeros(len(ids), max(len(s) for s in ids), dtype=torch.long)
        for i, s in enumerate(ids):
            out[i, : len(s)] = torch.tensor(s)
        return out
