"""Token conventions and batching for stacked students.

The environment's vocabulary is ``0..V-1``. The LM adds ``pad = V`` and
``eos = V + 1``; as in fairseq, ``eos`` also serves as beginning-of-sentence, so
a sentence is read as ``[eos] + s`` and predicted as ``s + [eos]``.
"""

from __future__ import annotations

import torch


def lm_vocab_size(vocab_size: int) -> int:
    """LM vocabulary size: environment tokens plus pad and eos."""
    return vocab_size + 2


def pad_id(vocab_size: int) -> int:
    return vocab_size


def eos_id(vocab_size: int) -> int:
    return vocab_size + 1


def pack(
    batches: list[list[list[int]]],
    vocab_size: int,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad every student's sentences into common [S, B, T] tensors.

    ``batches[s]`` is student s's list of sentences. Returns ``(inputs, targets,
    mask)``; T is the longest sentence over all students plus one, B the largest
    sentence count (at least 1). Padding positions and padding sentences have
    input/target ``pad`` and mask False, so they never contribute to a loss.
    """
    pad, eos = pad_id(vocab_size), eos_id(vocab_size)
    S = len(batches)
    B = max([len(b) for b in batches] + [1])
    T = max([len(x) for b in batches for x in b] + [0]) + 1
    inputs = [[[pad] * T for _ in range(B)] for _ in range(S)]
    targets = [[[pad] * T for _ in range(B)] for _ in range(S)]
    for s, sentences in enumerate(batches):
        for b, sent in enumerate(sentences):
            n = len(sent)
            if n and (min(sent) < 0 or max(sent) >= vocab_size):
                raise ValueError(f"token ids must lie in 0..{vocab_size - 1}, got {sent}")
            inputs[s][b][: n + 1] = [eos, *sent]
            targets[s][b][: n + 1] = [*sent, eos]
    inp = torch.tensor(inputs, dtype=torch.long)
    tgt = torch.tensor(targets, dtype=torch.long)
    mask = tgt != pad
    return inp.to(device), tgt.to(device), mask.to(device)
