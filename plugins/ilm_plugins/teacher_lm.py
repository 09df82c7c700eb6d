"""A teacher's own language model: pretrain it on a corpus, then score and embed sentences.

A public API for plugin authors (docs/writing-plugins.md, "A teacher with its own language
model"): a teacher that wants to judge or represent sentences builds a `TeacherLM` in its
`setup`, pretrains it on `context.teacher_corpus` and uses `nll`, `perplexity` and `embed`.
The reference teacher `select-bin` and the interaction `ask-for-feedback` use it the same way.

Token conventions are those of every ilm student: environment tokens are `0..V-1`; the LM adds
padding `V` and end-of-sentence `V + 1`, which also starts every sentence. Scores count the
end-of-sentence token, so a sentence of n tokens is scored on n + 1 predictions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import torch

from ilm_plugins.torchlm.data import lm_vocab_size
from ilm_plugins.torchlm.model import LMSize, StackedTransformerLM
from ilm_plugins.torchlm.train import TrainRecipe, sentence_embeddings, sentence_nll, train_students

Sentence = list[int]


class TeacherLM:
    """One causal Transformer LM over an environment's vocabulary, seeded by `seed` alone.

    Args:
        vocab_size: the environment's vocabulary size V (`len(context.vocabulary)`).
        layers, dim, heads: its size; `ffn` defaults to 4 x dim.
        seed: initialises the weights and the order in which `pretrain` samples its batches.
        device: where it lives and trains ("cpu", "cuda", ...).

    `model` is the torch module itself (a stack of one LM), for a teacher that samples from it
    or fine-tunes it.
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        layers: int = 2,
        dim: int = 64,
        heads: int = 4,
        ffn: int | None = None,
        seed: int = 0,
        device: str = "cpu",
    ):
        self.vocab_size, self.seed, self.device = vocab_size, seed, device
        size = LMSize(layers=layers, dim=dim, heads=heads, ffn=ffn if ffn is not None else 4 * dim)
        self.model = StackedTransformerLM(lm_vocab_size(vocab_size), size, seeds=[seed]).to(device)

    def pretrain(
        self,
        corpus: list[Sentence],
        *,
        updates: int = 300,
        lr: float = 1e-3,
        batch_size: int = 32,
        on_update: Callable[[int], None] | None = None,
    ) -> list[float]:
        """Train on `corpus` (e.g. `context.teacher_corpus`) for `updates` steps of AdamW on batches
        of `batch_size` sentences; return the mean token loss before each update. `on_update(step)`
        is called after every update (e.g. a set-up step's `advance`)."""
        if not corpus or not updates:
            return []
        recipe = TrainRecipe(updates=updates, lr=lr, batch_size=min(batch_size, len(corpus)))
        report = (lambda step, _losses: on_update(step)) if on_update is not None else None
        losses = train_students(
            self.model, [corpus], recipe, [self.seed], self.vocab_size, self.device, on_update=report
        )
        return losses[:, 0].tolist()

    def nll(self, sentences: list[Sentence]) -> tuple[list[float], list[int]]:
        """Summed negative log-likelihood (nats) of each sentence, end-of-sentence included, and
        the number of predictions it was scored on (its length + 1)."""
        nll, tokens = sentence_nll(self.model, sentences, self.vocab_size, self.device)
        return nll[0].tolist(), tokens.tolist()

    def perplexity(self, sentences: list[Sentence]) -> float:
        """exp(total NLL / total predictions) over all `sentences`; inf when there are none."""
        if not sentences:
            return math.inf
        nll, tokens = sentence_nll(self.model, sentences, self.vocab_size, self.device)
        return math.exp(float(nll[0].sum()) / float(tokens.sum()))

    def embed(self, sentences: list[Sentence], kind: Literal["word", "hidden"] = "hidden") -> torch.Tensor:
        """One vector per sentence, [n, dim] on the CPU: the mean last hidden state over its
        positions (`hidden`), or the mean embedding of its own tokens (`word`)."""
        return sentence_embeddings(self.model, sentences, self.vocab_size, kind, self.device)[0]

    def state_dict(self) -> dict[str, Any]:
        """The weights, for a teacher's own `state_dict` (checkpoints)."""
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)
