"""A teacher that generates its lessons: it samples every sentence from its own causal LM,
pretrained on the teacher corpus, and trains that LM on the students' feedback.

Learning is REINFORCE over the generated sequences, with the conventions of the paper's
selecting teacher (Appendix A.1, B): the log-probability of a lesson is the sum of its
sentences' log-probabilities (independent draws, Appendix B's Eq. 1), the reward is the
student's negative (log) exam perplexity, standardised across the episode's students. A KL
penalty to the frozen pretrained LM, computed exactly over the vocabulary at every generated
position, keeps the LM writing the language it learned while the feedback moves it.
"""

from __future__ import annotations

import copy

import torch

from ilm_core import Feedback, Lesson, RoundContext, Teacher, TeacherContext, TeacherUpdate
from ilm_plugins.teachers import GenerateLMParams
from ilm_plugins.teachers.reinforce import ReinforceState, advantages
from ilm_plugins.teachers.rewards import rewards
from ilm_plugins.teachers.select_bin import pretrained_lm
from ilm_plugins.torchlm.data import eos_id, pack, pad_id
from ilm_plugins.torchlm.model import StackedTransformerLM
from ilm_plugins.torchlm.optim import FusedAdam

#: logit of a token that may not be drawn: finite, so a disallowed token has probability 0 and
#: its terms in the KL and entropy are 0 * finite = 0 (with -inf they would be NaN, and so their gradients)
NEVER = -1e4


def allowed_log_softmax(logits: torch.Tensor, vocab_size: int, max_length: int) -> torch.Tensor:
    """Log-probabilities [n, T, V+2] of the distribution the teacher samples from.

    Padding is never drawn; end-of-sentence not as the first token (no empty sentence) and
    always after `max_length` tokens (position t predicts token t+1 of the sentence).
    """
    pad, eos = pad_id(vocab_size), eos_id(vocab_size)
    logits = logits.clone()
    logits[..., pad] = NEVER
    logits[:, 0, eos] = NEVER
    if logits.shape[1] > max_length:
        forced = torch.full_like(logits[:, max_length], NEVER)
        forced[:, eos] = 0.0
        logits[:, max_length] = forced
    return torch.log_softmax(logits, -1)


@torch.no_grad()
def sample_sentences(
    lm: StackedTransformerLM, n: int, vocab_size: int, max_length: int, generator: torch.Generator
) -> list[list[int]]:
    """`n` sentences drawn token by token from the LM (1 to `max_length` tokens each)."""
    eos, pad = eos_id(vocab_size), pad_id(vocab_size)
    tokens = torch.full((n, 1), eos, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    was_training = lm.training
    lm.eval()
    for _ in range(max_length + 1):
        logits = lm(tokens[None])[0]
        log_probs = allowed_log_softmax(logits, vocab_size, max_length)[:, -1]
        nxt = torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(-1)
        nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
        tokens = torch.cat([tokens, nxt[:, None]], 1)
        done |= nxt == eos
        if bool(done.all()):
            break
    lm.train(was_training)
    out = []
    for row in tokens[:, 1:].tolist():
        out.append(row[: row.index(eos)] if eos in row else [t for t in row if t != pad])
    return out


def sequence_log_probs(
    lm: StackedTransformerLM,
    reference: StackedTransformerLM,
    sentences: list[list[int]],
    vocab_size: int,
    max_length: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per sentence: log-probability under the LM (with grad), KL(LM || reference) summed over
    its positions (with grad), and the mean entropy per position (no grad)."""
    inputs, targets, mask = pack([sentences], vocab_size)
    log_p = allowed_log_softmax(lm(inputs)[0], vocab_size, max_length)
    with torch.no_grad():
        log_q = allowed_log_softmax(reference(inputs)[0], vocab_size, max_length)
    m = mask[0]
    chosen = log_p.gather(-1, targets[0].unsqueeze(-1)).squeeze(-1)
    log_prob = (chosen.masked_fill(~m, 0.0)).sum(-1)
    p = log_p.exp()
    kl = (p * (log_p - log_q)).sum(-1).masked_fill(~m, 0.0).sum(-1)
    with torch.no_grad():
        entropy = -(p * log_p).sum(-1)
        entropy = (entropy * m).sum() / m.sum().clamp(min=1)
    return log_prob, kl, entropy


class GenerateLMTeacher(ReinforceState, Teacher):
    """Writes `budget` sentences per student with its LM; learns from the feedback by REINFORCE."""

    MODEL = "lm"

    def __init__(self, params: GenerateLMParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        torch.manual_seed(context.seed)
        self.vocab = len(context.vocabulary)
        self.max_length = max(len(s) for s in [*context.teacher_corpus, *context.pool])
        self.reference = pretrained_lm(context, self.params)
        self.reference.requires_grad_(False)
        self.lm = copy.deepcopy(self.reference).requires_grad_(True)
        self.lm.train(False)  # no dropout in the teacher's LM: the log-probs must be the sampler's
        self.optimizer = FusedAdam(list(self.lm.parameters()), lr=self.params.lr)
        self.generator = torch.Generator().manual_seed(context.seed)
        self.updates = 0

    def write(self, n_students: int, k: int) -> list[Lesson]:
        """`k` freshly generated sentences for each student."""
        drawn = sample_sentences(self.lm, n_students * k, self.vocab, self.max_length, self.generator)
        return [Lesson(student=i, sentences=drawn[i * k : (i + 1) * k]) for i in range(n_students)]

    def select(self, context: RoundContext) -> list[Lesson]:
        """The round's size of new sentences per student; it learns from rewards and does not read
        `context.feedback`."""
        return self.write(context.n_students, context.size)

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        p = self.params
        reward = rewards(feedback, p.reward).float()
        advantage = advantages(reward, p.baseline)
        sentences = [s for f in feedback for s in f.lesson.sentences]
        owner = torch.tensor([i for i, f in enumerate(feedback) for _ in f.lesson.sentences])
        if not sentences:
            return TeacherUpdate()
        for _ in range(p.updates_per_episode):
            log_prob, kl, entropy = sequence_log_probs(self.lm, self.reference, sentences, self.vocab, self.max_length)
            per_lesson_log_prob = torch.zeros(len(feedback)).index_add(0, owner, log_prob)
            per_lesson_kl = torch.zeros(len(feedback)).index_add(0, owner, kl)
            loss = (-(advantage * per_lesson_log_prob) + p.kl_coef * per_lesson_kl).mean()
            self.update_policy(loss)
        return TeacherUpdate(
            stats={
                "entropy": float(entropy),
                "kl": float(per_lesson_kl.detach().mean()),
                "policy_loss": float(loss.detach()),
                "reward_mean": float(reward.mean()),
            }
        )
