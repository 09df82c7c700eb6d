"""Training and scoring of stacked students, keeping every student independent.

Independence holds because the students' parameters are disjoint slices of the
stacked tensors, the loss is a sum of per-student losses, gradient clipping is
per student, and AdamW is elementwise. Training seeds ``[a, b, c]`` together thus
matches training each alone, up to floating-point summation order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pydantic
import torch
import torch.nn.functional as F

from .data import lm_vocab_size, pack
from .model import StackedTransformerLM
from .optim import FusedAdam


class TrainRecipe(pydantic.BaseModel, extra="forbid"):
    """How a lesson is taught: number of updates, optimiser and schedule."""

    updates: int = pydantic.Field(20, ge=0)
    lr: float = pydantic.Field(1e-3, gt=0.0)
    batch_size: int | None = pydantic.Field(None, ge=1)
    clip_norm: float | None = pydantic.Field(1.0, gt=0.0)
    weight_decay: float = pydantic.Field(0.0, ge=0.0)
    betas: tuple[float, float] = (0.9, 0.98)
    warmup: int = pydantic.Field(0, ge=0)
    schedule: Literal["constant", "inverse_sqrt"] = "constant"


def lr_schedule(recipe: TrainRecipe) -> Callable[[int], float]:
    """Multiplier of the base lr at (0-based) update ``step``."""

    def factor(step: int) -> float:
        n = step + 1
        warm = min(1.0, n / recipe.warmup) if recipe.warmup else 1.0
        if recipe.schedule == "inverse_sqrt":
            base = max(recipe.warmup, 1)
            return warm * math.sqrt(base / max(n, base))
        return warm

    return factor


def _device(model: StackedTransformerLM, device: str | torch.device | None) -> torch.device:
    return torch.device(device) if device is not None else next(model.parameters()).device


@contextmanager
def _train_mode(model: StackedTransformerLM, training: bool) -> Iterator[None]:
    """Put the model in train or eval mode for a block, then restore the mode it had."""
    was_training = model.training
    model.train(training)
    try:
        yield
    finally:
        model.train(was_training)


def _check_vocab(model: StackedTransformerLM, vocab_size: int) -> None:
    if model.vocab_size != lm_vocab_size(vocab_size):
        raise ValueError(f"model vocab {model.vocab_size} != lm_vocab_size({vocab_size}) = {lm_vocab_size(vocab_size)}")


def _per_student_loss(
    model: StackedTransformerLM, inputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean token NLL per student, [S]; a student without tokens gets 0."""
    logits = model(inputs)
    nll = F.cross_entropy(logits.flatten(0, 2), targets.flatten(), reduction="none")
    nll = nll.view(targets.shape) * mask
    return nll.sum(dim=(1, 2)) / mask.sum(dim=(1, 2)).clamp(min=1)


def sample_batches(lessons: list[list[Any]], gens: list[torch.Generator], size: int) -> list[list[Any]]:
    """One update's minibatch per student: `size` of its lesson's sentences in the order its own
    generator draws (every student path draws them this way, so their numbers agree)."""
    picked = []
    for lesson, g in zip(lessons, gens, strict=True):
        order = torch.randperm(len(lesson), generator=g)[:size]
        picked.append([lesson[i] for i in order.tolist()])
    return picked


@torch.no_grad()
def clip_per_student(params: list[torch.Tensor], clip: float) -> None:
    """Scale each student's gradient slices so its global norm is at most ``clip``."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    sq = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0)  # [S]
    scale = (clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))


class Trainer:
    """The training state of a stack that outlives one lesson: optimiser, schedule step, samplers.

    Each `train` call continues where the last one stopped, so students trained on lessons
    in rounds keep their Adam moments and learning-rate schedule. One call on a fresh trainer
    is exactly `train_students`.
    """

    def __init__(self, model: StackedTransformerLM, recipe: TrainRecipe, seeds: list[int]):
        S = model.n_students
        if len(seeds) != S:
            raise ValueError(f"need {S} seeds, got {len(seeds)}")
        self.model, self.recipe = model, recipe
        self.params: list[torch.Tensor] = [p for p in model.parameters() if p.requires_grad]
        self.opt = FusedAdam(self.params, lr=recipe.lr, betas=recipe.betas, weight_decay=recipe.weight_decay)
        self.factor = lr_schedule(recipe)
        self.gens = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
        self.step = 0  # updates so far, over every lesson

    def train(
        self,
        lessons: list[list[list[int]]],
        vocab_size: int,
        device: str | torch.device | None = None,
        on_update: Callable[[int, torch.Tensor], bool | None] | None = None,
        updates: int | None = None,
        extra: Callable[[], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Train student s on ``lessons[s]`` for `updates` (default: the recipe's); losses [updates, S].

        ``on_update(step, losses[S])`` runs after every update; when it returns True training
        stops there (the losses returned end at that update). ``extra()``, when given, is a
        per-student loss [S] added to the lesson's at every update (e.g. unlikelihood on sentences
        a student was told are wrong); the losses returned are the lesson's alone.
        """
        model, recipe = self.model, self.recipe
        S = model.n_students
        if len(lessons) != S:
            raise ValueError(f"need {S} lessons, got {len(lessons)}")
        _check_vocab(model, vocab_size)
        dev = _device(model, device)
        n = recipe.updates if updates is None else updates
        full = recipe.batch_size is None or all(len(x) <= recipe.batch_size for x in lessons)
        fixed = pack(lessons, vocab_size, dev) if full else None
        losses = torch.zeros(n, S)
        with _train_mode(model, True):
            for step in range(n):
                if fixed is not None:
                    batch = fixed
                else:
                    assert recipe.batch_size is not None
                    batch = pack(sample_batches(lessons, self.gens, recipe.batch_size), vocab_size, dev)
                loss = _per_student_loss(model, *batch)
                self.opt.zero_grad()
                (loss if extra is None else loss + extra()).sum().backward()
                if recipe.clip_norm is not None:
                    clip_per_student(self.params, recipe.clip_norm)
                self.opt.lr = recipe.lr * self.factor(self.step)
                self.opt.step()
                self.step += 1
                losses[step] = loss.detach().cpu()
                if on_update is not None and on_update(step, losses[step]):
                    return losses[: step + 1]
        return losses

    def state_dict(self) -> dict[str, Any]:
        return {"opt": self.opt.state_dict(), "step": self.step, "gens": [g.get_state() for g in self.gens]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt.load_state_dict(state["opt"])
        self.step = int(state["step"])
        for g, saved in zip(self.gens, state["gens"], strict=True):
            g.set_state(saved)


def train_students(
    model: StackedTransformerLM,
    lessons: list[list[list[int]]],
    recipe: TrainRecipe,
    seeds: list[int],
    vocab_size: int,
    device: str | torch.device | None = None,
    on_update: Callable[[int, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Train student s on ``lessons[s]``; return mean token losses [updates, S].

    ``seeds[s]`` seeds student s's own sentence sampler (used when
    ``recipe.batch_size`` is set). Losses are computed before each update and are
    returned as they are: a non-finite loss (NaN/inf) is left for the caller to
    judge; it only affects that student. ``on_update(step, losses[S])`` is called
    after every update. ``device`` defaults to the model's device.
    """
    S = model.n_students
    if len(lessons) != S or len(seeds) != S:
        raise ValueError(f"need {S} lessons and seeds, got {len(lessons)} and {len(seeds)}")
    return Trainer(model, recipe, seeds).train(lessons, vocab_size, device, on_update)


def _score_chunks(
    model: StackedTransformerLM,
    sentences: list[list[int]],
    vocab_size: int,
    device: torch.device,
    chunk: int,
) -> Iterator[tuple[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]:
    """Yield (inputs, targets, mask) for ``sentences`` shared by all students."""
    for start in range(0, len(sentences), chunk):
        part = sentences[start : start + chunk]
        yield len(part), pack([part] * model.n_students, vocab_size, device)


@torch.no_grad()
def sentence_nll(
    model: StackedTransformerLM,
    sentences: list[list[int]],
    vocab_size: int,
    device: str | torch.device | None = None,
    chunk: int = 256,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed NLL of each sentence incl. its eos under every student.

    Returns ``(nll [S, n], ntokens [n])`` on CPU with ``ntokens = len(sentence) + 1``.
    """
    _check_vocab(model, vocab_size)
    dev = _device(model, device)
    out = []
    with _train_mode(model, False):
        for n, (inp, tgt, mask) in _score_chunks(model, sentences, vocab_size, dev, chunk):
            logits = model(inp)
            nll = F.cross_entropy(logits.flatten(0, 2), tgt.flatten(), reduction="none")
            nll = (nll.view(tgt.shape) * mask).sum(-1)[:, :n]
            out.append(nll.cpu())
    S = model.n_students
    nll_all = torch.cat(out, dim=1) if out else torch.zeros(S, 0)
    ntokens = torch.tensor([len(s) + 1 for s in sentences], dtype=torch.long)
    return nll_all, ntokens


@torch.no_grad()
def sentence_embeddings(
    model: StackedTransformerLM,
    sentences: list[list[int]],
    vocab_size: int,
    kind: Literal["word", "hidden"] = "hidden",
    device: str | torch.device | None = None,
    chunk: int = 256,
) -> torch.Tensor:
    """Mean sentence representation per student, [S, n, d] on CPU.

    ``word``: average token embedding over the sentence's own tokens (no eos/pad);
    an empty sentence gives zeros. ``hidden``: average last hidden state over the
    input positions ``[eos] + sentence``.
    """
    _check_vocab(model, vocab_size)
    dev = _device(model, device)
    out = []
    with _train_mode(model, False):
        for n, (inp, tgt, mask) in _score_chunks(model, sentences, vocab_size, dev, chunk):
            if kind == "word":
                keep = mask & (tgt != vocab_size + 1)  # targets minus the final eos
                vecs = model.word_embeddings(tgt)
            elif kind == "hidden":
                keep = mask  # input positions: eos + tokens
                vecs = model.hidden_states(inp)
            else:
                raise ValueError(f"unknown kind {kind!r}")
            w = keep.unsqueeze(-1).to(vecs.dtype)
            mean = (vecs * w).sum(2) / w.sum(2).clamp(min=1)
            out.append(mean[:, :n].cpu())
    if not out:
        return torch.zeros(model.n_students, 0, model.size.dim)
    return torch.cat(out, dim=1)


@torch.no_grad()
def lesson_nll(
    model: StackedTransformerLM,
    lessons: list[list[list[int]]],
    vocab_size: int,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Mean token NLL of each student's own sentences, [S, longest lesson] on CPU (padding: NaN)."""
    _check_vocab(model, vocab_size)
    inputs, targets, mask = pack(lessons, vocab_size, _device(model, device))
    with _train_mode(model, False):
        logits = model(inputs)
    nll = F.cross_entropy(logits.flatten(0, 2), targets.flatten(), reduction="none").view(targets.shape) * mask
    per = nll.sum(-1) / mask.sum(-1).clamp(min=1)
    per[mask.sum(-1) == 0] = math.nan
    return per.cpu()


@torch.no_grad()
def lesson_loss(
    model: StackedTransformerLM,
    lessons: list[list[list[int]]],
    vocab_size: int,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Mean token NLL over each student's own sentences, [S] (what training minimises, in eval mode)."""
    _check_vocab(model, vocab_size)
    with _train_mode(model, False):
        return _per_student_loss(model, *pack(lessons, vocab_size, _device(model, device))).cpu()


def unlikelihood_loss(
    model: StackedTransformerLM,
    sentences: list[list[list[int]]],
    positions: list[list[int | None]],
    vocab_size: int,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Mean unlikelihood -log(1 - p) per student, [S]: of the token at `positions[s][j]` of sentence
    ``sentences[s][j]`` (its length: the end of sentence), or of every token when the position is
    None. A student without such sentences gets 0. Differentiable (called inside training)."""
    inputs, targets, mask = pack(sentences, vocab_size, _device(model, device))
    chosen = torch.zeros_like(mask)
    for s, (sents, where) in enumerate(zip(sentences, positions, strict=True)):
        for j, (sent, at) in enumerate(zip(sents, where, strict=True)):
            if at is None:
                chosen[s, j, : len(sent) + 1] = True
            else:
                chosen[s, j, min(at, len(sent))] = True
    chosen &= mask
    logp = torch.log_softmax(model(inputs), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    ul = -torch.log1p(-logp.exp().clamp(max=1 - 1e-6)) * chosen
    return ul.sum(dim=(1, 2)) / chosen.sum(dim=(1, 2)).clamp(min=1)
