"""A select-bin teacher that listens: each student's next lesson depends on what it answered.

`select-bin` learns one policy over the pool for all students. `feedback-bin` adds, per student,
a memory of what was sent to it in earlier rounds of the episode and how it scored afterwards,
and lets the policy act on that memory:

    memory_ir = z_ir * (e_ir - mean_j e_jr)            for each earlier round r
    logit_ij  = w . phi_j  +  phi_j . sum_r (A_r memory_ir)

where phi_j is pool sentence j's embedding (the teacher LM's, as in select-bin), e_ir the mean
embedding of what student i got in round r, and z_ir how well student i scored after round r
compared with the other students (minus its log-perplexity, standardised over the students; with
`peers = "kind"`, over the students of its own population group only). With `listen_components = k`
the memory keeps only the first k components of phi (1: the probe's axis); with `pooled_memory`
(an ablation) every student gets the students' mean memory, and with `individual_memory` (its
complement, the default) each student's difference from that mean.
The memory points towards the kind of sentences that helped this student more than the others;
the A_r (zero at first: the teacher starts as select-bin) learn by REINFORCE from the final
reward whether, and how far, to follow each round's evidence, at a fifth of the policy's rate by
default (`listen_lr`): at the policy's rate they also follow each student's noise where every
student needs the same. By default each student's memory is its difference from the students'
mean (`individual_memory`), so that where every student needs the same there is nothing to follow.
The first round probes: half the students' lessons lean to one side of the pool's main axis of
variation, half to the other, so that the first mid-term says which side helps whom. So the
teacher keeps a memory buffer of what it sent and acts on it (Table 1, "memory buffer ... and
being able to act on it") and an explicit, per-student record of what each student responds to
(Table 1, "explicit way of remembering the student's fine-grained capabilities"): the memory
vector. With feedback withheld (`teacher_feedback =
"withheld"`) every memory is zero and the teacher does not probe (nothing would hear the answer):
it is select-bin drawing in rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ilm_core import Feedback, Lesson, RoundContext, TeacherContext, TeacherUpdate
from ilm_plugins.teachers import FeedbackBinParams
from ilm_plugins.teachers.gumbel import gumbel_top_k, plackett_luce_log_prob
from ilm_plugins.teachers.reinforce import advantages
from ilm_plugins.teachers.rewards import rewards
from ilm_plugins.teachers.rounds import unsent_scores
from ilm_plugins.teachers.select_bin import SelectBinTeacher
from ilm_plugins.torchlm.optim import FusedAdam, Optimizers


@dataclass
class _Draw:
    """One round's draw for every student: what the policy saw and what it picked."""

    memory: torch.Tensor  # [n_students, slots * d]
    tilt: torch.Tensor | None  # the probe's addition to the logits [n_students, pool]
    sent_before: list[list[int]]
    picked: list[torch.Tensor]
    repeats: bool


class FeedbackBinTeacher(SelectBinTeacher):
    MODEL = "model"
    params: FeedbackBinParams

    def __init__(self, params: FeedbackBinParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        super().setup(context)
        dim, slots = self.features.shape[1], self.params.memory_slots
        self.listen = torch.nn.Linear(dim * slots, dim, bias=False)
        with torch.no_grad():  # default zero: start as select-bin, the memory has no say yet
            self.listen.weight.copy_(self.params.listen_init * torch.eye(dim).repeat(1, slots))
        self.model = torch.nn.ModuleDict({"policy": self.policy, "listen": self.listen})
        p = self.params
        if p.listen_lr is None:
            self.optimizer = FusedAdam(list(self.model.parameters()), lr=p.lr, weight_decay=p.weight_decay)
        else:
            self.optimizer = Optimizers(
                policy=FusedAdam(list(self.policy.parameters()), lr=p.lr, weight_decay=p.weight_decay),
                listen=FusedAdam(list(self.listen.parameters()), lr=p.listen_lr, weight_decay=p.weight_decay),
            )
        self._draws: list[_Draw] = []

    # -- the student memory ---------------------------------------------------------------------
    def memory(self, context: RoundContext) -> torch.Tensor:
        """Each student's memory [n_students, slots * d] from the feedback of earlier rounds (zero without
        any): round r's evidence in slot r, later rounds added to the last slot, so the policy learns how
        far to trust the evidence of each round."""
        n, d, slots = context.n_students, self.features.shape[1], self.params.memory_slots
        memory = torch.zeros(n, slots, d)
        before: list[int] = [0] * n  # how much of each cumulative lesson earlier feedback covered
        for r, round_feedback in enumerate(context.feedback):
            by_student = {f.student: f for f in round_feedback}
            if len(by_student) < 2:
                continue
            score = torch.full((n,), math.nan)
            new = torch.zeros(n, d)
            for i, f in by_student.items():
                fresh = f.lesson.indices[before[i] :]
                before[i] = len(f.lesson.indices)
                if fresh and f.reward is not None:  # the exam's reward (minus the log of a perplexity)
                    score[i] = f.reward
                    new[i] = self.features[fresh].mean(0)
            z = torch.zeros(n)
            centred = torch.zeros(n, d)
            for peers in self.peer_groups(n):
                known = ~torch.isnan(score) & peers
                if known.sum() < 2:
                    continue
                spread = score[known].std()
                z[known] = (score[known] - score[known].mean()) / (spread + 1e-6)
                centred[known] = new[known] - new[known].mean(0)
            memory[:, min(r, slots - 1)] += z[:, None] * centred
        if self.params.listen_components is not None:
            memory[:, :, self.params.listen_components :] = 0
        if self.params.pooled_memory:
            memory[:] = memory.mean(0, keepdim=True)
        if self.params.individual_memory:
            memory -= memory.mean(0, keepdim=True)
        return memory.reshape(n, slots * d)

    def peer_groups(self, n: int) -> list[torch.Tensor]:
        """Masks of the students whose scores are compared with each other: all of them, or (`peers =
        "kind"`) each population group apart. A student without a peer of its kind gets no evidence."""
        kinds = [s.group for s in self.context.students] if self.params.peers == "kind" else []
        if len(kinds) != n:
            return [torch.ones(n, dtype=torch.bool)]
        return [torch.tensor([k == kind for k in kinds]) for kind in dict.fromkeys(kinds)]

    def logits(self, memory: torch.Tensor, tilt: torch.Tensor | None = None) -> torch.Tensor:
        """Scores of every pool sentence for every student [n_students, pool] (`tilt`: the probe's, added)."""
        shared = self.policy(self.features).squeeze(-1)  # [pool]
        out: torch.Tensor = shared[None, :] + self.listen(memory) @ self.features.T
        return out if tilt is None else out + tilt

    def probe_tilt(self, context: RoundContext) -> torch.Tensor | None:
        """The first round's probe: even students' lessons lean to one side of the pool's first principal
        component, odd students' to the other, so their mid-term scores say which side helps each.

        The probe costs lesson quality and buys only information, so the teacher probes only when a
        later round of the episode will hear the answer: not with feedback withheld
        (`RoundContext.feedback_withheld`; unless `probe_withheld`, an ablation), not in an episode of one round."""
        deaf = context.feedback_withheld and not self.params.probe_withheld
        if context.round != 0 or not self.params.probe or deaf or context.rounds < 2:
            return None
        axis = self.features[:, 0] / (self.features[:, 0].std() + 1e-6)
        sign = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(context.n_students)])
        return self.params.probe * sign[:, None] * axis[None, :]

    # -- the teacher ----------------------------------------------------------------------------
    def select(self, context: RoundContext) -> list[Lesson]:
        if context.round == 0:
            self._draws = []
        memory, tilt = self.memory(context), self.probe_tilt(context)
        with torch.no_grad():
            logits = self.logits(memory, tilt)
        picked = [
            gumbel_top_k(unsent_scores(logits[i], context, i), context.size, self.generator)
            for i in range(context.n_students)
        ]
        self._draws.append(_Draw(memory, tilt, [list(s) for s in context.sent], picked, context.repeats))
        return [Lesson(student=i, indices=idx.tolist()) for i, idx in enumerate(picked)]

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        """REINFORCE over every round's draw of the episode so far, credited with this feedback's reward."""
        p = self.params
        reward = rewards(feedback, p.reward).float()
        advantage = advantages(reward, p.baseline)
        students = [f.student for f in feedback]
        log_probs = torch.zeros(len(feedback))
        entropies = []
        for draw in self._draws:
            logits = self.logits(draw.memory, draw.tilt)
            for row, i in enumerate(students):
                scores = logits[i]
                if draw.sent_before[i] and not draw.repeats:
                    scores = scores.masked_fill(_mask(draw.sent_before[i], scores.numel()), -torch.inf)
                log_probs[row] = log_probs[row] + plackett_luce_log_prob(scores, draw.picked[i])
            probs = torch.softmax(logits, -1)
            entropies.append(-(probs * torch.log_softmax(logits, -1)).sum(-1).mean())
        stats = self.reinforce_step(advantage, log_probs, torch.stack(entropies).mean(), reward)
        stats["listen_norm"] = float(self.listen.weight.detach().norm())
        stats["memory_norm"] = float(torch.stack([d.memory.norm(dim=1).mean() for d in self._draws]).mean())
        return TeacherUpdate(stats=stats)


def _mask(indices: list[int], size: int) -> torch.Tensor:
    mask = torch.zeros(size, dtype=torch.bool)
    mask[torch.tensor(indices, dtype=torch.long)] = True
    return mask
