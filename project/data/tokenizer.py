"""Word-level tokenizer with a vocabulary built on the training split only.

A word is a run of letters, combining marks and digits of any script (``café``, ``naïve``,
``مرحبا``, ``हिन्दी`` and ``東京`` stay whole), with a clitic such as ``'s``; every other
non-space character is a token of its own. On ASCII text this is exactly the former rule
(``[a-z0-9]+('[a-z]+)?`` or one other character). See docs/data.md.
"""

from __future__ import annotations

from collections import Counter

import regex
import torch

PAD, UNK = "<pad>", "<unk>"
TOKEN_RE = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:'[\p{L}\p{M}]+)?|[^\s\p{L}\p{M}\p{N}]")


def split_words(text: str) -> list[str]:
    """Lower-cased words of any script (with clitics like ``'s``) and single other marks."""
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
