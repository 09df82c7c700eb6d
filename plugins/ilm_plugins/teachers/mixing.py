"""Today's data-selection methods as reference teachers: `odm`, `doremi`, `hard-examples`, `stratified`.

Each mixes over k groups of the pool that come from the teacher's own knowledge: k-means
(`ilm_plugins.teachers.kmeans`) on its LM's sentence embeddings, select-bin's cached pool features,
seeded from the teacher's seed. None reads the pool's exam-domain labels; `group_by = "labels"`
asks for them and is refused by the core's label guard unless the teacher is a privileged reference
(`stratified-labels`).

They act within an episode on the students' own losses from earlier rounds, which the core sends
when a teacher asks (docs/data-selection.md): `Feedback.sentence_losses` (each student's loss on
every pool sentence it was sent, before and after the round's training) and `Feedback.placement`
(its loss, after the round, on pool sentences the teacher named for a placement test). They need an
interaction with feedback between rounds (`mid-term-exams`, `send-in-batches`); in an episode of
one round, or with feedback withheld, they do what their method does before any feedback: uniform
group weights (ODM, DoReMi in its first episode), a uniform draw (hard examples), equal shares
(stratified, which never uses feedback). Every choice is a function of the round's context and the
teacher's seeded generator, so a run resumes exactly.
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

import torch

from ilm_core import Feedback, Lesson, RoundContext, Teacher, TeacherContext, TeacherUpdate
from ilm_plugins.teachers import (
    DoReMiParams,
    GroupsParams,
    HardExamplesParams,
    MixingParams,
    ODMParams,
    StratifiedParams,
)
from ilm_plugins.teachers.gumbel import gumbel_top_k
from ilm_plugins.teachers.kmeans import kmeans
from ilm_plugins.teachers.rounds import unsent_scores
from ilm_plugins.teachers.select_bin import teacher_lm_pool


class GroupTeacher(Teacher):
    """A teacher that draws each student's lesson from k groups of the pool by per-student weights."""

    #: whether the teacher needs the teacher LM's loss on each pool sentence (a reference model)
    needs_reference = False

    def __init__(self, params: GroupsParams):
        self.params = params

    # -- set-up -------------------------------------------------------------------------------
    def setup(self, context: TeacherContext) -> None:
        p = self.params
        self.rng = random.Random(context.seed)
        self.generator = torch.Generator().manual_seed(context.seed)
        self.reference: list[float] | None = None
        if p.group_by == "labels":
            labels = context.pool_in_exam_domain  # the label guard refuses a teacher that is not privileged
            self.groups = [1 if inside else 0 for inside in labels]
            if self.needs_reference:
                self.reference = teacher_lm_pool(context, p)[1]
        else:
            features, self.reference = teacher_lm_pool(context, p)
            self.groups = kmeans(features, p.groups, context.seed, p.kmeans_iterations)
        self.k = max(self.groups) + 1
        self.members = [[j for j, g in enumerate(self.groups) if g == c] for c in range(self.k)]
        self._lessons: list[list[int]] = []

    # -- what the subclasses decide ---------------------------------------------------------
    def weights(self, context: RoundContext) -> list[list[float]]:
        """Each student's group weights for this round [n_students][k] (default: uniform)."""
        return [[1.0 / self.k] * self.k for _ in range(context.n_students)]

    def counts(self, weights: list[float], size: int, available: list[int]) -> list[int]:
        """How many of `size` sentences come from each group: `size` draws from the mixture `weights`
        (a group with nothing left unsent is left out)."""
        w = torch.tensor([x if available[g] else 0.0 for g, x in enumerate(weights)], dtype=torch.double)
        out = [0] * self.k
        for _ in range(size):
            if float(w.sum()) <= 0:
                break
            g = int(torch.multinomial(w / w.sum(), 1, generator=self.generator))
            out[g] += 1
            if out[g] >= available[g]:
                w[g] = 0.0
        return out

    def pick(self, context: RoundContext, student: int, group: int, count: int) -> list[int]:
        """`count` unsent sentences of `group` for `student` (default: uniformly at random)."""
        left = self._unsent(context, student, group)
        return self.rng.sample(left, min(count, len(left)))

    # -- the teacher ----------------------------------------------------------------------------
    def _unsent(self, context: RoundContext, student: int, group: int) -> list[int]:
        seen = set() if context.repeats else set(context.sent[student])
        return [j for j in self.members[group] if j not in seen]

    def select(self, context: RoundContext) -> list[Lesson]:
        weights = self.weights(context)
        lessons = []
        for i in range(context.n_students):
            available = [len(self._unsent(context, i, g)) for g in range(self.k)]
            chosen: list[int] = []
            for g, count in enumerate(self.counts(weights[i], context.size, available)):
                if count:
                    chosen += self.pick(context, i, g, count)
            if len(chosen) < context.size:  # groups ran out: the rest uniformly from what is left
                taken = set(chosen) | (set() if context.repeats else set(context.sent[i]))
                rest = [j for j in range(len(self.groups)) if j not in taken]
                chosen += self.rng.sample(rest, min(context.size - len(chosen), len(rest)))
            lessons.append(Lesson(student=i, indices=chosen))
        self._lessons = [lesson.indices for lesson in lessons]
        return lessons

    def placement_sample(self, context: RoundContext, per_group: int = 0, total: int = 0) -> list[int]:
        """Pool sentences for a placement test after this round (none in the last round: no round follows
        in the episode): `per_group` of each group, or `total` drawn uniformly; never one any student has
        got or gets now, so each student can still be sent it."""
        if context.round >= context.rounds - 1:
            return []
        used = {j for s in context.sent for j in s} | {j for lesson in self._lessons for j in lesson}
        if per_group:
            out = []
            for members in self.members:
                left = [j for j in members if j not in used]
                out += self.rng.sample(left, min(per_group, len(left)))
            return out
        left = [j for j in range(len(self.groups)) if j not in used]
        return self.rng.sample(left, min(total, len(left)))

    def group_losses(self, feedback: Feedback, before: bool = True) -> dict[int, float]:
        """A student's mean loss per group in one round's feedback: on the round's placement test where the
        group was tested, else on the sentences it was sent (before the round's training, or after)."""
        found: dict[int, list[float]] = {}
        for j, loss in feedback.placement.items():
            if math.isfinite(loss):
                found.setdefault(self.groups[j], []).append(loss)
        sent: dict[int, list[float]] = {}
        for j, pair in feedback.sentence_losses.items():
            value = pair.before if before and pair.before is not None else pair.after
            if math.isfinite(value):
                sent.setdefault(self.groups[j], []).append(value)
        out = {g: statistics.fmean(v) for g, v in sent.items()}
        out.update({g: statistics.fmean(v) for g, v in found.items()})
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.getstate(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.setstate(_tuples(state["rng"]))
        self.generator.set_state(state["generator"])


def _tuples(state: Any) -> Any:
    """random.Random's state as setstate wants it (tuples), whatever a checkpoint made of it."""
    return tuple(_tuples(x) for x in state) if isinstance(state, list | tuple) else state


def _by_student(context: RoundContext) -> list[list[Feedback]]:
    """Each student's feedback of the earlier rounds, oldest first."""
    out: list[list[Feedback]] = [[] for _ in range(context.n_students)]
    for round_feedback in context.feedback:
        for f in round_feedback:
            if 0 <= f.student < context.n_students:
                out[f.student].append(f)
    return out


class StratifiedTeacher(GroupTeacher):
    """Stratified sampling: every student gets equal shares of every group in every round.

    The bar for every mixing method: Aioli (Chen et al. 2024, "Aioli: A Unified Optimization Framework
    for Language Model Data Mixing") found that no mixing method consistently beat it on average
    per-group perplexity. Its choice never depends on feedback. A round of `size` sentences gets
    `size // k` from each group and one more from `size % k` groups drawn at random (a round smaller
    than k: one each from `size` random groups), uniformly within a group.
    """

    def __init__(self, params: StratifiedParams):
        self.params = params

    def counts(self, weights: list[float], size: int, available: list[int]) -> list[int]:
        out = [0] * self.k
        left = size
        while left > 0:
            open_groups = [g for g in range(self.k) if out[g] < available[g]]
            if not open_groups:
                break
            if left >= len(open_groups):
                for g in open_groups:
                    out[g] += 1
                left -= len(open_groups)
            else:
                for g in self.rng.sample(open_groups, left):
                    out[g] += 1
                left = 0
        return out


class ODMTeacher(GroupTeacher):
    """Online Data Mixing (Albalak, Pan, Raffel and Wang 2023, "Efficient Online Data Mixing For Language
    Model Pre-Training", arXiv:2312.02406): a multi-armed bandit (Exp3) over the groups whose reward is
    the student's training loss on each group, so the groups it still finds hard are drawn more.

    Per student and episode, with K groups, rounds as ODM's steps (t = 1, 2, ...):
    eps_t = min(1/K, sqrt(ln K / (K t))); pi_t(g) = (1 - K eps_t) softmax(eps_{t-1} R)_g + eps_t;
    after a round, each group g the student was sent gets R_g <- alpha R_g + (1 - alpha) L_g / pi(g),
    L_g its mean loss (nats per token) on that group's sentences *before* the round's training
    (ODM's loss of the sampled batch, taken in the forward pass before the update).

    Departures: at ilm's horizon ODM's own exploration schedule keeps eps_t at its cap 1/K, which makes the
    mixture uniform (its first K ln K steps); `exploration` (a fixed eps) and `lr` let it act within two
    or three rounds. ODM draws one group per batch; here a round's lesson is `size` draws from pi, so
    several groups are observed in one step and each is importance-weighted by its own pi(g). Its
    steps are the episode's rounds (two or three updates an episode, not thousands), and it starts
    every episode afresh, as ODM starts every training run: it learns within an episode, not across.
    """

    sentence_losses = True

    params: ODMParams

    def __init__(self, params: ODMParams):
        self.params = params

    def policy(self, feedback: list[Feedback], round_: int) -> list[float]:
        """The student's mixture for round `round_` from its feedback of earlier rounds (replayed)."""
        p: ODMParams = self.params
        k = self.k
        uniform = [1.0 / k] * k
        if k == 1:
            return uniform
        reward = [0.0] * k
        pi = uniform
        step = 0
        by_round = {f.round: f for f in feedback}
        for r in range(round_):
            if r < p.warmup:
                pi = uniform
            elif (r - p.warmup) % p.update_every == 0:
                step += 1
                pi = _exp3(reward, step, k, p.lr, p.exploration)
            f = by_round.get(r)
            if f is None:
                continue
            for g, loss in self.group_losses(f, before=True).items():
                if g in self._sent_groups(f):
                    reward[g] = p.smoothing * reward[g] + (1 - p.smoothing) * loss / max(pi[g], 1e-12)
        if round_ < p.warmup:
            return uniform
        if (round_ - p.warmup) % p.update_every == 0:
            step += 1
            pi = _exp3(reward, step, k, p.lr, p.exploration)
        return pi

    def _sent_groups(self, f: Feedback) -> set[int]:
        return {self.groups[j] for j in f.sentence_losses}

    def weights(self, context: RoundContext) -> list[list[float]]:
        return [self.policy(fb, context.round) for fb in _by_student(context)]


def _exp3(reward: list[float], step: int, k: int, lr: float | None, exploration: float | None) -> list[float]:
    """ODM's mixture at step t: (1 - K eps_t) softmax(eps_{t-1} R) + eps_t (`lr`, `exploration`: fixed instead)."""

    def schedule(t: int) -> float:
        return min(1.0 / k, math.sqrt(math.log(k) / (k * t))) if exploration is None else min(exploration, 1.0 / k)

    eps = schedule(step)
    scale = lr if lr is not None else schedule(max(step - 1, 1))
    soft = torch.softmax(torch.tensor(reward, dtype=torch.double) * scale, 0).tolist()
    return [(1 - k * eps) * s + eps for s in soft]


class DoReMiTeacher(GroupTeacher):
    """DoReMi (Xie, Pham, Dong, Du, Liu, Lu, Liang, Le, Ma and Yu 2023, "DoReMi: Optimizing Data Mixtures
    Speeds Up Language Model Pretraining", NeurIPS): group weights from Group DRO on the *excess* loss
    of a model over a reference model, raised where the model lags the reference most.

    Per student: after each round with feedback, the excess loss of group g is
    lambda_g = max(mean over its sentences of (student loss - reference loss), 0), with the student's
    losses from the round's placement test (`per_group` sentences of every group, after the round's
    training: DoReMi's per-domain loss on a batch holding every domain), else from the sentences it
    was sent (before training); then alpha <- normalise(alpha * exp(eta lambda)) and the round's
    weights are (1 - c) alpha + c / K. The reference model is the teacher's own LM, pretrained on the
    teacher corpus (its loss on every pool sentence is computed once at set-up).

    Departures: DoReMi trains a small proxy model with Group DRO and then the large model on the proxy's
    average weights; here the students themselves play the proxy within an episode (their weights move
    each round) and, with `iterate`, the average weights of an episode's rounds and students start the
    next episode (DoReMi's output weights, fed back as in its iterated variant). The reference is the
    teacher's LM, not a model trained on the reference mixture.
    """

    sentence_losses = True
    needs_reference = True

    params: DoReMiParams

    def __init__(self, params: DoReMiParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        super().setup(context)
        self.prior = [1.0 / self.k] * self.k
        self._seen: list[list[float]] = []  # this episode's weights, each round and student
        self._last: dict[int, list[float]] = {}  # each student's latest weights
        self._rounds = 1
        self._episode = -1

    def _reference(self, j: int) -> float:
        return self.reference[j] if self.reference is not None else 0.0

    def excess(self, feedback: Feedback) -> dict[int, float]:
        """The student's clipped excess loss per group in one round's feedback."""
        found: dict[int, list[float]] = {}
        for j, loss in feedback.placement.items():
            if math.isfinite(loss):
                found.setdefault(self.groups[j], []).append(loss - self._reference(j))
        sent: dict[int, list[float]] = {}
        for j, pair in feedback.sentence_losses.items():
            value = pair.before if pair.before is not None else pair.after
            if math.isfinite(value):
                sent.setdefault(self.groups[j], []).append(value - self._reference(j))
        out = {g: max(statistics.fmean(v), 0.0) for g, v in sent.items()}
        out.update({g: max(statistics.fmean(v), 0.0) for g, v in found.items()})
        return out

    def alpha(self, feedback: list[Feedback], round_: int) -> list[float]:
        """The student's DRO weights alpha before round `round_`, from the episode's prior and its feedback."""
        p: DoReMiParams = self.params
        alpha = list(self.prior)
        by_round = {f.round: f for f in feedback}
        for r in range(round_):
            f = by_round.get(r)
            if f is None or r + 1 <= p.warmup or (r + 1 - p.warmup) % p.update_every:
                continue
            lam = self.excess(f)
            alpha = _normalise([a * math.exp(p.lr * lam.get(g, 0.0)) for g, a in enumerate(alpha)])
        return alpha

    def weights(self, context: RoundContext) -> list[list[float]]:
        p: DoReMiParams = self.params
        self._rounds = context.rounds
        if context.episode != self._episode:
            self._episode, self._seen, self._last = context.episode, [], {}
        if context.round < p.warmup:
            return [[1.0 / self.k] * self.k for _ in range(context.n_students)]
        out = []
        for i, fb in enumerate(_by_student(context)):
            alpha = self.alpha(fb, context.round)
            self._seen.append(alpha)
            self._last[i] = alpha
            out.append([(1 - p.smoothing) * a + p.smoothing / self.k for a in alpha])
        return out

    def placement(self, context: RoundContext) -> list[int]:
        return self.placement_sample(context, per_group=self.params.per_group)

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        """After the episode's last round: the next episode starts from this one's average weights."""
        p: DoReMiParams = self.params
        if not p.iterate or not self._seen or any(f.round != self._rounds - 1 for f in feedback):
            return TeacherUpdate()  # only the episode's last round ends DoReMi's run
        last = [  # the final round's update of each student's weights
            _normalise([a * math.exp(p.lr * self.excess(f).get(g, 0.0)) for g, a in enumerate(self._last[f.student])])
            for f in feedback
            if f.student in self._last and (f.placement or f.sentence_losses)
        ]
        seen = self._seen + last
        self.prior = _normalise([statistics.fmean(a[g] for a in seen) for g in range(self.k)])
        top = max(self.prior)
        return TeacherUpdate(
            stats={"weight_max": top, "weight_entropy": -sum(a * math.log(a) for a in self.prior if a > 0)}
        )

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "prior": list(self.prior)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.prior = list(state["prior"])


def _normalise(values: list[float]) -> list[float]:
    total = sum(values)
    return [v / total for v in values] if total > 0 else [1.0 / len(values)] * len(values)


class HardExamplesTeacher(GroupTeacher):
    """Loss-based selection of hard examples: each student is sent the pool sentences on which its own
    loss is highest, drawn by rank as in online batch selection (Loshchilov and Hutter 2016, "Online
    Batch Selection for Faster Training of Neural Networks", ICLR workshop): the sentence ranked r-th
    hardest of N is drawn with weight exp(-ln(s) r / N), so the hardest is s times as likely as the
    easiest (s = `pressure`).

    A student's loss on a pool sentence is known from the placement tests of earlier rounds (`placement`
    sentences each round, every student scored after the round's training); a sentence never tested gets
    the mean loss of its k-means group (from the tests and from the sentences the student was sent,
    before training), and, without either, the student's mean loss. The first round, with no losses yet,
    is a uniform draw.

    Departures: the method scores every candidate with a forward pass each step; here the student is
    scored only on a sample of the pool per round (a placement test), the rest estimated by group.
    """

    sentence_losses = True

    params: HardExamplesParams

    def __init__(self, params: HardExamplesParams):
        self.params = params

    def estimates(self, feedback: list[Feedback], pool: int) -> list[float] | None:
        """The student's estimated loss on every pool sentence from its feedback (None: no losses yet)."""
        known: dict[int, float] = {}
        by_group: dict[int, list[float]] = {}
        for f in feedback:  # later rounds overwrite earlier ones
            for g, loss in self.group_losses(f, before=True).items():
                by_group[g] = [loss]
            for j, loss in f.placement.items():
                if math.isfinite(loss):
                    known[j] = loss
        if not known and not by_group:
            return None
        for j, loss in known.items():
            by_group.setdefault(self.groups[j], []).append(loss)
        group_mean = {g: statistics.fmean(v) for g, v in by_group.items()}
        overall = statistics.fmean(group_mean.values())
        return [known.get(j, group_mean.get(self.groups[j], overall)) for j in range(pool)]

    def select(self, context: RoundContext) -> list[Lesson]:
        p: HardExamplesParams = self.params
        pool = len(self.groups)
        lessons = []
        for i, fb in enumerate(_by_student(context)):
            losses = None if context.round < p.warmup else self.estimates(fb, pool)
            if losses is None:
                scores = torch.zeros(pool)
            else:  # rank-based: hardest first, weight exp(-ln(s) rank / N)
                order = sorted(range(pool), key=lambda j: (-losses[j], j))
                rank = torch.empty(pool)
                rank[torch.tensor(order)] = torch.arange(pool, dtype=torch.float)
                scores = -math.log(p.pressure) * rank / pool
            picked = gumbel_top_k(unsent_scores(scores, context, i), context.size, self.generator)
            lessons.append(Lesson(student=i, indices=picked.tolist()))
        self._lessons = [lesson.indices for lesson in lessons]
        return lessons

    def placement(self, context: RoundContext) -> list[int]:
        return self.placement_sample(context, total=self.params.placement)


__all__ = ["DoReMiTeacher", "GroupTeacher", "HardExamplesTeacher", "MixingParams", "ODMTeacher", "StratifiedTeacher"]
