"""fairseq's transformer_lm as the `select-bin` teacher's own LM (`--set teacher.lm=fairseq`).

The teacher pretrains it on its corpus with the native teacher LM's recipe and size fields
(`lm_layers`, `lm_dim`, `lm_heads`, FFN 4 x dim) and embeds the pool the same way, so only
the model code differs between `lm=native` and `lm=fairseq`.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

from ilm_core import ConfigError, TeacherContext
from ilm_plugins.fairseq_lm import INSTALL_HINT, FairseqLMParams


def require_fairseq() -> None:
    """A config error when fairseq is missing: checked before any cached result could hide it."""
    if importlib.util.find_spec("fairseq") is None:
        raise ConfigError(
            f"teacher.lm = 'fairseq' needs fairseq, which is not installed. Install it with: {INSTALL_HINT}"
        )


def pool_features(context: TeacherContext, params: Any) -> torch.Tensor:
    """Pretrain a fairseq LM on the teacher corpus; return pool sentence embeddings [n, d].

    `params` is the teacher's `SelectBinParams`. Normalisation is left to the teacher.
    """
    require_fairseq()
    from ilm_plugins.fairseq_lm.lm import FairseqLM
    from ilm_plugins.torchlm.train import TrainRecipe

    size = FairseqLMParams(
        preset="tiny", layers=params.lm_layers, dim=params.lm_dim, heads=params.lm_heads, ffn=4 * params.lm_dim
    )
    longest = max((len(s) for s in [*context.teacher_corpus, *context.pool]), default=0)
    lm = FairseqLM(
        size.architecture(),
        len(context.vocabulary),
        max(size.max_len, longest + 1),
        context.seed,
        vocabulary=list(context.vocabulary),
        device=context.device,
    )
    if context.teacher_corpus and params.lm_updates:
        recipe = TrainRecipe(
            updates=params.lm_updates,
            lr=params.lm_lr,
            batch_size=min(params.lm_batch_size, len(context.teacher_corpus)),
        )
        lm.train(context.teacher_corpus, recipe, context.seed)
    return lm.sentence_embeddings(context.pool, params.embedding).float()
