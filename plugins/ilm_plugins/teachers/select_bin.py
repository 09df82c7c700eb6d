"""The paper's learned teacher: select data from a bin with a REINFORCE policy (Appendix A.1)."""

from __future__ import annotations

import math
from typing import Any

import torch

from ilm_core import (
    Feedback,
    Lesson,
    RoundContext,
    SentencePreferences,
    Teacher,
    TeacherContext,
    TeacherUpdate,
    code_fingerprint,
    data_fingerprint,
)
from ilm_plugins.teacher_lm import TeacherLM
from ilm_plugins.teachers import SelectBinParams, TeacherLMParams
from ilm_plugins.teachers.gumbel import gumbel_top_k, plackett_luce_log_prob, sample_log_prob
from ilm_plugins.teachers.reinforce import ReinforceState, advantages
from ilm_plugins.teachers.rewards import rewards
from ilm_plugins.teachers.rounds import unsent_scores
from ilm_plugins.torchlm.model import StackedTransformerLM
from ilm_plugins.torchlm.optim import FusedAdam
from ilm_plugins.torchlm.train import sentence_embeddings, sentence_nll


def pretrained_lm(context: TeacherContext, p: TeacherLMParams) -> StackedTransformerLM:
    """The teacher's own causal LM, seeded by the teacher's seed and pretrained on its corpus."""
    lm = TeacherLM(len(context.vocabulary), layers=p.lm_layers, dim=p.lm_dim, heads=p.lm_heads, seed=context.seed)
    with context.tools.steps.step("pretraining the teacher's LM", total=p.lm_updates) as advance:
        lm.pretrain(
            context.teacher_corpus,
            updates=p.lm_updates,
            lr=p.lm_lr,
            batch_size=p.lm_batch_size,
            on_update=lambda step: advance(),
        )
    return lm.model


class SelectBinTeacher(ReinforceState, Teacher):
    """Scores every pool sentence with a one-layer policy over the teacher LM's embeddings,
    samples a lesson per student with Gumbel-top-k and learns with REINFORCE + entropy bonus."""

    MODEL = "policy"

    def __init__(self, params: SelectBinParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        p = self.params
        torch.manual_seed(context.seed)
        self.generator = torch.Generator().manual_seed(context.seed)
        self.features = self._pool_features(context)
        dim = self.features.shape[1]
        layers: list[torch.nn.Module] = []
        if p.hidden:
            layers += [torch.nn.Linear(dim, p.hidden), torch.nn.Tanh()]
            dim = p.hidden
        last = torch.nn.Linear(dim, 1)
        torch.nn.init.zeros_(last.weight)  # start from the uniform policy
        torch.nn.init.zeros_(last.bias)
        self.policy = torch.nn.Sequential(*layers, last)
        self.optimizer = FusedAdam(list(self.policy.parameters()), lr=p.lr, weight_decay=p.weight_decay)
        self._lessons: list[torch.Tensor] = []
        self.updates = 0  # policy updates so far (the entropy bonus decays with them)

    def _pool_features(self, context: TeacherContext) -> torch.Tensor:
        """Pretrain the teacher's LM on its corpus, then embed every pool sentence (cached across runs)."""
        p = self.params
        if p.lm == "fairseq":  # the same config must fail the same way with or without a cached entry
            from ilm_plugins.fairseq_lm.teacher_lm import require_fairseq

            require_fairseq()
        built = self._built(context)
        torch.set_rng_state(built["rng"])  # as if built here: later draws from the global RNG do not change
        features: torch.Tensor = built["features"]
        if p.normalize_features:
            features = (features - features.mean(0)) / (features.std(0) + 1e-6)
        if p.components is not None and p.components < features.shape[1]:
            centred = features - features.mean(0)
            _, _, v = torch.linalg.svd(centred, full_matrices=False)
            features = centred @ v[: p.components].T
            features = features / (features.std(0) + 1e-6)
        return features.detach()

    def _built(self, context: TeacherContext) -> dict[str, Any]:
        """The teacher LM's pool embeddings (and, native LM, its loss on each pool sentence), cached."""
        p = self.params
        return context.tools.cache.get_or_build(
            f"select-bin-{p.lm}-lm-features", self._cache_key(context), lambda: self._pretrain_and_embed(context)
        )

    def _cache_key(self, context: TeacherContext) -> dict[str, Any]:
        """Everything the pool features depend on: data, LM params, seed, device, code and torch versions."""
        import ilm_plugins.teacher_lm as teacher_lm
        import ilm_plugins.teachers.select_bin as this
        from ilm_plugins.torchlm import data, model, optim, train

        p = self.params
        modules = [this, teacher_lm, data, model, optim, train]
        if p.lm == "fairseq":
            import ilm_plugins.fairseq_lm.lm as fairseq_lm
            import ilm_plugins.fairseq_lm.teacher_lm as fairseq_teacher_lm

            modules += [fairseq_lm, fairseq_teacher_lm]
        fields = ("embedding", "lm", "lm_layers", "lm_dim", "lm_heads", "lm_updates", "lm_lr", "lm_batch_size")
        return {
            "params": {name: getattr(p, name) for name in fields},
            "data": data_fingerprint(context.vocabulary, context.teacher_corpus, context.pool),
            "seed": context.seed,
            "device": context.device,
            "code": code_fingerprint(*modules),
            "torch": torch.__version__,
        }

    def _pretrain_and_embed(self, context: TeacherContext) -> dict[str, Any]:
        """The teacher LM's pool embeddings [n, d], and the global torch RNG state building them left."""
        p, steps = self.params, context.tools.steps
        if p.lm == "fairseq":  # fairseq's transformer_lm through the same seam (optional extra)
            from ilm_plugins.fairseq_lm.teacher_lm import pool_features

            with steps.step("pretraining the teacher's fairseq LM and embedding the pool"):
                features = pool_features(context, p)
        else:
            lm = pretrained_lm(context, p)
            with steps.step("embedding the pool"):
                features = sentence_embeddings(lm, context.pool, len(context.vocabulary), p.embedding)[0].float()
                nll, tokens = sentence_nll(lm, context.pool, len(context.vocabulary))  # no randomness
            return {
                "features": features.detach().cpu(),
                "rng": torch.get_rng_state(),
                "nll": (nll[0].float() / tokens.float()).tolist(),  # nats per token: a reference model's loss
            }
        return {"features": features.detach().cpu(), "rng": torch.get_rng_state()}

    def scores(self) -> torch.Tensor:
        scores: torch.Tensor = self.policy(self.features).squeeze(-1)
        return scores

    def preferences(self) -> SentencePreferences:
        with torch.no_grad():
            values = self.scores()
        return SentencePreferences(
            values=values.tolist(), meaning="policy score (the logit Gumbel-top-k draws lessons by)"
        )

    def select(self, context: RoundContext) -> list[Lesson]:
        """Each student's lesson: the round's size drawn from the policy, among what it has not got yet.

        The draw ignores the round's feedback (`context.feedback`): the paper's teacher learns one
        policy for all students from its rewards; `feedback-bin` is the one that listens."""
        with torch.no_grad():
            scores = self.scores()
        self._lessons = [
            gumbel_top_k(unsent_scores(scores, context, i), context.size, self.generator)
            for i in range(context.n_students)
        ]
        return [Lesson(student=i, indices=idx.tolist()) for i, idx in enumerate(self._lessons)]

    def rewards(self, feedback: list[Feedback]) -> torch.Tensor:
        return rewards(feedback, self.params.reward)

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        p = self.params
        reward = self.rewards(feedback).float()
        advantage = advantages(reward, p.baseline)
        lessons = [torch.tensor(f.lesson.indices) for f in feedback]
        scores = self.scores()
        log_prob = plackett_luce_log_prob if p.log_prob == "plackett-luce" else sample_log_prob
        log_probs = torch.stack([log_prob(scores, idx) for idx in lessons])
        probs = torch.softmax(scores, -1)
        entropy = -(probs * torch.log_softmax(scores, -1)).sum()
        return TeacherUpdate(stats=self.reinforce_step(advantage, log_probs, entropy, reward))

    def reinforce_step(
        self, advantage: torch.Tensor, log_probs: torch.Tensor, entropy: torch.Tensor, reward: torch.Tensor
    ) -> dict[str, float]:
        """One REINFORCE update with the decaying entropy bonus; the statistics every episode records."""
        p = self.params
        entropy_coef = p.entropy_coef * p.entropy_decay**self.updates
        loss = -(advantage * log_probs).mean() - entropy_coef * entropy
        self.update_policy(loss)
        return {
            "entropy": float(entropy.detach()),
            "entropy_coef": entropy_coef,
            "entropy_max": math.log(self.features.shape[0]),
            "policy_loss": float(loss.detach()),
            "reward_mean": float(reward.mean()),
        }


def teacher_lm_pool(context: TeacherContext, params: Any) -> tuple[torch.Tensor, list[float] | None]:
    """What select-bin's set-up knows of the pool, for any teacher whose params carry select-bin's LM and
    feature fields: the pool features it scores (same cache entry, so runs of several teachers pretrain
    the teacher's LM once per seed) and the teacher LM's own loss on each pool sentence (nats per token;
    None for the fairseq LM)."""
    helper = SelectBinTeacher.__new__(SelectBinTeacher)
    helper.params = params
    features = helper._pool_features(context)
    return features, helper._built(context).get("nll")
