"""fairseq's `TransformerLanguageModel`, built in-process and trained/scored on ilm sentences.

ilm sentences use the native convention (tokens 0..V-1, read as ``[eos] + s``, predicted as
``s + [eos]``, see `ilm_plugins.torchlm.data`); fairseq's language modelling task reads a
sentence the same way. Only the ids differ: a fairseq `Dictionary` puts its four specials
(bos, pad, eos, unk) first, so batches are packed with the native `pack` and mapped through a
lookup table. The loss is fairseq's `cross_entropy` criterion (summed NLL over non-pad
targets of `get_normalized_probs`) divided by the number of tokens, as fairseq's trainer does.
"""

from __future__ import annotations

import argparse
import copy
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

from ilm_core import ConfigError
from ilm_plugins.fairseq_lm import INSTALL_HINT
from ilm_plugins.torchlm.data import pack
from ilm_plugins.torchlm.train import TrainRecipe, lr_schedule, sample_batches


def _import_fairseq() -> tuple[Any, Any, Any]:
    """Import fairseq without letting it configure the root logger.

    fairseq's text_to_speech task calls `logging.basicConfig` at import time and logs an INFO
    line about tensorboardX; both would leak into every ilm run. Restore the logging state.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    fq = logging.getLogger("fairseq")
    fq_level = fq.level
    fq.setLevel(logging.WARNING)
    try:
        from fairseq.data import Dictionary
        from fairseq.models.transformer_lm import TransformerLanguageModel, base_lm_architecture
    except ImportError as exc:
        raise ConfigError(f"the fairseq LM needs fairseq ({exc}). Install it with: {INSTALL_HINT}") from None
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        fq.setLevel(fq_level)
    # fairseq passes a bool padding mask with a float causal mask to torch's attention; harmless
    warnings.filterwarnings("ignore", message="Support for mismatched key_padding_mask", category=UserWarning)
    return Dictionary, TransformerLanguageModel, base_lm_architecture


@dataclass(frozen=True)
class LMTask:
    """The two attributes of a fairseq task that `TransformerLanguageModel.build_model` reads."""

    source_dictionary: Any
    target_dictionary: Any


class FairseqLM:
    """One fairseq transformer_lm plus the id mapping between ilm tokens and its dictionary."""

    def __init__(
        self,
        arch: dict[str, Any],
        vocab_size: int,
        max_len: int,
        seed: int,
        vocabulary: list[str] | None = None,
        device: str | torch.device = "cpu",
    ):
        Dictionary, TransformerLanguageModel, base_lm_architecture = _import_fairseq()
        self.vocab_size = vocab_size
        self.dictionary = Dictionary()
        words = list(vocabulary) if vocabulary is not None else []
        if len(words) != vocab_size or len(set(words)) != vocab_size or set(words) & set(self.dictionary.symbols):
            words = [f"w{i}" for i in range(vocab_size)]  # names are cosmetic: ids are what count
        ids = [self.dictionary.add_symbol(w) for w in words]
        self.pad, self.eos = self.dictionary.pad(), self.dictionary.eos()
        # native id -> fairseq id; native pad = V, native eos = V + 1
        self.lut = torch.tensor([*ids, self.pad, self.eos], dtype=torch.long, device=device)
        args = argparse.Namespace(
            decoder_layers=arch["layers"],
            decoder_embed_dim=arch["dim"],
            decoder_attention_heads=arch["heads"],
            decoder_ffn_embed_dim=arch["ffn"],
            dropout=arch["dropout"],
            attention_dropout=arch["attention_dropout"],
            decoder_learned_pos=arch["learned_pos"],
            share_decoder_input_output_embed=arch["share_embeddings"],
            activation_fn=arch["activation"],
            # what fairseq's language_modeling task would interpolate into the model config
            add_bos_token=False,
            tokens_per_sample=max_len,
            max_target_positions=max_len,
            tpu=False,
        )
        base_lm_architecture(args)  # every other field as `--arch transformer_lm` sets it
        self.args = args
        task = LMTask(self.dictionary, self.dictionary)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the student's weights come from its own seed alone
            self.model = TransformerLanguageModel.build_model(args, task).to(device)
        self.device = torch.device(device)
        self.max_len = max_len

    # -- batches -------------------------------------------------------------------------
    def batch(self, sentences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(source, target, mask) [B, T] in fairseq ids for a list of ilm sentences."""
        longest = max((len(s) for s in sentences), default=0)
        if longest + 1 > self.max_len:
            raise ValueError(f"a sentence of {longest} tokens needs max_len >= {longest + 1}, got {self.max_len}")
        inp, tgt, mask = pack([sentences], self.vocab_size, self.device)
        return self.lut[inp[0]], self.lut[tgt[0]], mask[0]

    def token_nll(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """NLL of every target token [B, T] (0 at padding), via fairseq's normalised probs."""
        net_output = self.model(source)
        lprobs = self.model.get_normalized_probs(net_output, log_probs=True)
        nll = F.nll_loss(lprobs.flatten(0, 1), target.flatten(), ignore_index=self.pad, reduction="none")
        return nll.view(target.shape)

    # -- training and scoring --------------------------------------------------------------
    def train(self, lesson: list[list[int]], recipe: TrainRecipe, seed: int) -> list[float]:
        """Train on `lesson` for `recipe.updates` updates; return the mean token loss of each.

        The recipe is the native student's (AdamW, lr schedule, clipping, sentence sampler
        seeded by `seed`); dropout draws come from `seed` too, so a student is reproducible.
        The optimiser, schedule and sampler are made by the first call and kept: a later call
        continues training (a student that persists across rounds).
        """
        model = self.model
        if not hasattr(self, "opt"):
            self.params = [p for p in model.parameters() if p.requires_grad]
            self.opt = torch.optim.AdamW(
                self.params,
                lr=recipe.lr,
                betas=recipe.betas,
                weight_decay=recipe.weight_decay,
                fused=self.device.type in ("cpu", "cuda"),
            )
            self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lr_schedule(recipe))
            self.gen = torch.Generator().manual_seed(int(seed))
            self.calls = 0
        opt, sched, gen, params = self.opt, self.sched, self.gen, self.params
        full = recipe.batch_size is None or len(lesson) <= recipe.batch_size
        fixed = self.batch(lesson) if full else None
        losses: list[float] = []
        model.train()
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(int(seed) + self.calls)  # each lesson its own dropout draws, from the seed
            for _ in range(recipe.updates):
                if fixed is not None:
                    source, target, mask = fixed
                else:
                    assert recipe.batch_size is not None  # (a lesson that fits one batch is `fixed`)
                    (picked,) = sample_batches([lesson], [gen], recipe.batch_size)
                    source, target, mask = self.batch(picked)
                loss = self.token_nll(source, target).sum() / mask.sum().clamp(min=1)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if recipe.clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, recipe.clip_norm)
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
        self.calls += 1
        model.eval()
        return losses

    def state_dict(self) -> dict[str, Any]:
        """Weights and, once it has trained, optimiser, schedule and sampler state."""
        state: dict[str, Any] = {"model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}}
        if hasattr(self, "opt"):
            state |= {
                "opt": copy.deepcopy(self.opt.state_dict()),  # a snapshot: training updates the live one
                "sched": self.sched.state_dict(),
                "gen": self.gen.get_state(),
                "calls": self.calls,
            }
        return state

    def load_state_dict(self, state: dict[str, Any], recipe: TrainRecipe, seed: int) -> None:
        self.model.load_state_dict(state["model"])
        if "opt" in state:
            self.train([], recipe.model_copy(update={"updates": 0}), seed)  # makes the optimiser
            self.opt.load_state_dict(state["opt"])
            self.sched.load_state_dict(state["sched"])
            self.gen.set_state(state["gen"])
            self.calls = int(state["calls"])

    def _chunks(self, sentences: list[list[int]], chunk: int) -> Iterator[tuple[torch.Tensor, ...]]:
        for start in range(0, len(sentences), chunk):
            yield self.batch(sentences[start : start + chunk])

    @torch.no_grad()
    def sentence_nll(self, sentences: list[list[int]], chunk: int = 256) -> list[float]:
        """Summed NLL of each sentence, its end of sentence included."""
        self.model.eval()
        out: list[float] = []
        for source, target, mask in self._chunks(sentences, chunk):
            out += (self.token_nll(source, target) * mask).sum(-1).cpu().tolist()
        return out

    @torch.no_grad()
    def sentence_embeddings(
        self, sentences: list[list[int]], kind: Literal["word", "hidden"], chunk: int = 256
    ) -> torch.Tensor:
        """Mean representation of each sentence [n, d], as the native teacher LM gives it.

        word: the average input embedding of the sentence's own tokens (zeros if empty);
        hidden: the average last hidden state (after fairseq's final layer norm) over the
        input positions ``[eos] + sentence``.
        """
        self.model.eval()
        decoder = self.model.decoder
        out = []
        for source, target, mask in self._chunks(sentences, chunk):
            if kind == "word":
                keep = mask & (target != self.eos)
                vecs = decoder.embed_tokens(target)
            elif kind == "hidden":
                keep = mask
                vecs = decoder.extract_features(source, None)[0]
            else:
                raise ValueError(f"unknown embedding kind {kind!r}")
            w = keep.unsqueeze(-1).to(vecs.dtype)
            out.append(((vecs * w).sum(1) / w.sum(1).clamp(min=1)).cpu())
        dim = int(self.args.decoder_embed_dim)
        return torch.cat(out) if out else torch.zeros(0, dim)
