"""Sampling sentences from stacked students: how a student "experiments" with language."""

from __future__ import annotations

import torch

from .data import eos_id, pad_id
from .model import StackedTransformerLM
from .train import _train_mode


@torch.no_grad()
def sample_sentences(
    model: StackedTransformerLM,
    count: int,
    seeds: list[int],
    vocab_size: int,
    max_tokens: int,
    temperature: float = 1.0,
) -> list[list[list[int]]]:
    """`count` sentences per student, sampled token by token until end of sentence.

    Student s draws only from `torch.Generator().manual_seed(seeds[s])`, so its sentences do
    not depend on the other students of the stack. A sentence has 1 to `max_tokens` tokens
    (end of sentence is not allowed first; pad never).
    """
    S = model.n_students
    if len(seeds) != S:
        raise ValueError(f"need {S} seeds, got {len(seeds)}")
    dev = next(model.parameters()).device
    eos, pad = eos_id(vocab_size), pad_id(vocab_size)
    longest = max(1, min(max_tokens, model.size.max_len - 1))
    gens = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
    tokens = torch.full((S, count, 1), eos, dtype=torch.long, device=dev)
    done = torch.zeros(S, count, dtype=torch.bool)
    out: list[list[list[int]]] = [[[] for _ in range(count)] for _ in range(S)]
    with _train_mode(model, False):
        for step in range(longest):
            logits = model(tokens)[:, :, -1, :].float().cpu() / temperature  # [S, count, V+2]
            logits[..., pad] = -torch.inf
            if step == 0:
                logits[..., eos] = -torch.inf
            gumbel = torch.stack(
                [-torch.log(-torch.log(torch.rand(count, logits.shape[-1], generator=g))) for g in gens]
            )
            nxt = (logits + gumbel).argmax(-1)  # [S, count]
            for s in range(S):
                for b in range(count):
                    if not done[s, b]:
                        if nxt[s, b] == eos:
                            done[s, b] = True
                        else:
                            out[s][b].append(int(nxt[s, b]))
            if bool(done.all()):
                break
            tokens = torch.cat([tokens, nxt.to(dev).unsqueeze(-1)], dim=-1)
    return out
