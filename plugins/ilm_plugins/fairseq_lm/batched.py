"""Several `fairseq-lm` students trained and scored as one: fairseq's own module under `torch.func.vmap`.

The students' weights are stacked along a leading student axis (`torch.func.stack_module_state`)
and fairseq's `TransformerLanguageModel.forward` runs once for all of them through
`torch.func.functional_call` under `vmap`, so the model code stays fairseq's. Training follows
`FairseqLM.train` student by student: the loss (mean token NLL of fairseq's normalised
probabilities), AdamW (the fused kernel, elementwise, so per student), the learning-rate schedule,
gradient clipping by each student's own global norm, and each student's sentence sampler seeded
by its seed. The numbers match training each student alone up to floating-point summation order
(which Adam amplifies where a gradient is zero but for rounding, such as the attention keys' bias:
exam perplexities of a group and of each student alone differ by about 0.1%). `FairseqLMStudent`
makes this group only for models without dropout; should it be given one, the masks come from one
generator for the group (seeded by the group's seeds and lesson count), not from each student's seed.

fairseq's decoder decides with `tokens.eq(pad).any()` whether to build a key padding mask, a
data-dependent branch that `vmap` refuses; the group's copy of the module has
`decoder.cross_self_attention = True`, which only makes the decoder always build the mask (the
decoder reads the flag nowhere else; its layers have their own). Padding sentences (a student
with a shorter lesson than another) start with end-of-sentence, so that no row of attention is
fully masked; their targets are padding and count nowhere.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ilm_core import StudentGroup
from ilm_plugins.fairseq_lm.lm import FairseqLM
from ilm_plugins.torchlm.data import pack
from ilm_plugins.torchlm.optim import FusedAdam
from ilm_plugins.torchlm.train import TrainRecipe, clip_per_student, lr_schedule, sample_batches

# torch computes the attention's backward student by student under vmap (no batching rule yet) and says so
warnings.filterwarnings("ignore", message="There is a performance drop because we have not yet implemented")


class VmappedStudents(StudentGroup):
    """S fairseq LMs of one architecture, trained and scored as one (module docstring)."""

    def __init__(self, lms: list[FairseqLM], seeds: list[int], recipe: TrainRecipe):
        from torch.func import stack_module_state

        self.lms, self.seeds, self.recipe = lms, list(seeds), recipe
        first = lms[0]
        self.vocab_size, self.pad, self.eos, self.lut, self.device = (
            first.vocab_size, first.pad, first.eos, first.lut, first.device
        )  # fmt: skip
        self.max_len = first.max_len
        self.base = copy.deepcopy(first.model)  # the code; the weights are `self.params`
        self.base.decoder.cross_self_attention = True  # always a padding mask: no data-dependent branch
        params, self.buffers = stack_module_state([lm.model for lm in lms])
        self.names = list(params)
        self.params = [params[name].detach().requires_grad_(True) for name in self.names]
        self.opt = FusedAdam(self.params, lr=recipe.lr, betas=recipe.betas, weight_decay=recipe.weight_decay)
        self.factor = lr_schedule(recipe)
        self.gens = [torch.Generator().manual_seed(int(seed)) for seed in self.seeds]
        self.step = 0  # updates so far, over every lesson
        self.calls = 0  # lessons so far (seeds the dropout masks)
        self.losses: list[list[float]] = [[] for _ in lms]

    @property
    def final_losses(self) -> list[float]:
        return [run[-1] if run else float("nan") for run in self.losses]

    # -- batches ---------------------------------------------------------------------------
    def _batch(self, lessons: list[list[list[int]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(source, target, mask) [S, B, T] in fairseq ids; padding sentences start with eos."""
        longest = max((len(s) for lesson in lessons for s in lesson), default=0)
        if longest + 1 > self.max_len:
            raise ValueError(f"a sentence of {longest} tokens needs max_len >= {longest + 1}, got {self.max_len}")
        inp, tgt, mask = pack(lessons, self.vocab_size, self.device)
        source, target = self.lut[inp], self.lut[tgt]
        empty = ~mask.any(-1)  # padding sentences
        source[..., 0] = torch.where(empty, torch.full_like(source[..., 0], self.eos), source[..., 0])
        return source, target, mask

    def _token_nll(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], source: torch.Tensor, target: Any
    ) -> torch.Tensor:
        """One student's NLL of every target token [B, T] (0 at padding), via fairseq's normalised probs."""
        from torch.func import functional_call

        net_output = functional_call(self.base, (params, buffers), (source,))
        lprobs = self.base.get_normalized_probs(net_output, log_probs=True)
        nll = F.nll_loss(lprobs.flatten(0, 1), target.flatten(), ignore_index=self.pad, reduction="none")
        return nll.view(target.shape)

    # -- training and scoring ----------------------------------------------------------------
    def train(self, lessons: list[list[list[int]]]) -> None:
        from torch.func import grad_and_value, vmap

        S, recipe = len(self.lms), self.recipe
        if len(lessons) != S:
            raise ValueError(f"need one lesson per student, got {len(lessons)} lessons for {S} students")
        lessons = [[list(s) for s in lesson] for lesson in lessons]

        def loss(
            params: dict[str, torch.Tensor],
            buffers: dict[str, torch.Tensor],
            source: torch.Tensor,
            target: torch.Tensor,
            mask: torch.Tensor,
        ) -> torch.Tensor:
            return self._token_nll(params, buffers, source, target).sum() / mask.sum().clamp(min=1)

        step = vmap(grad_and_value(loss), randomness="different")
        full = recipe.batch_size is None or all(len(x) <= recipe.batch_size for x in lessons)
        fixed = self._batch(lessons) if full else None
        losses = torch.zeros(recipe.updates, S)
        self.base.train()
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(hash((*self.seeds, self.calls)) & (2**63 - 1))  # the group's dropout draws
            for k in range(recipe.updates):
                if fixed is not None:
                    source, target, mask = fixed
                else:
                    assert recipe.batch_size is not None
                    source, target, mask = self._batch(sample_batches(lessons, self.gens, recipe.batch_size))
                grads, value = step(dict(zip(self.names, self.params, strict=True)), self.buffers, source, target, mask)
                for p, name in zip(self.params, self.names, strict=True):
                    p.grad = grads[name]
                if recipe.clip_norm is not None:
                    clip_per_student(self.params, recipe.clip_norm)
                self.opt.lr = recipe.lr * self.factor(self.step)
                self.opt.step()
                self.opt.zero_grad()
                self.step += 1
                losses[k] = value.detach()
        self.calls += 1
        self.base.eval()
        self.losses = losses.T.tolist()

    @torch.no_grad()
    def sentence_nll(self, sentences: Sequence[list[int]], chunk: int = 256) -> tuple[list[list[float]], list[int]]:
        from torch.func import vmap

        sentences = [list(s) for s in sentences]
        S = len(self.lms)

        def nll(
            params: dict[str, torch.Tensor],
            buffers: dict[str, torch.Tensor],
            source: torch.Tensor,
            target: torch.Tensor,
            mask: torch.Tensor,
        ) -> torch.Tensor:
            return (self._token_nll(params, buffers, source, target) * mask).sum(-1)

        score = vmap(nll, in_dims=(0, 0, None, None, None))
        self.base.eval()
        params = dict(zip(self.names, (p.detach() for p in self.params), strict=True))
        out: list[torch.Tensor] = []
        for start in range(0, len(sentences), chunk):
            source, target, mask = self._batch([sentences[start : start + chunk]])
            out.append(score(params, self.buffers, source[0], target[0], mask[0]).cpu())
        scored = torch.cat(out, dim=1) if out else torch.zeros(S, 0)
        return scored.tolist(), [len(s) + 1 for s in sentences]

    # -- persistence -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "stacked": {name: p.detach().cpu().clone() for name, p in zip(self.names, self.params, strict=True)},
            "opt": self.opt.state_dict(),
            "step": self.step,
            "calls": self.calls,
            "gens": [g.get_state() for g in self.gens],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for name, p in zip(self.names, self.params, strict=True):
                p.copy_(state["stacked"][name])
        self.opt.load_state_dict(state["opt"])
        self.step, self.calls = int(state["step"]), int(state["calls"])
        for g, saved in zip(self.gens, state["gens"], strict=True):
            g.set_state(saved)
