"""A teacher with a memory buffer: it fits what each pool sentence is worth and sends the best.

`select-bin` credits a whole lesson's reward to every sentence in it and forgets the episode
after one gradient step. This teacher keeps every (lesson, reward) pair it has seen, as the
sufficient statistics of a Bayesian linear model

    reward of a lesson = episode effect + mean value of its sentences + noise,

and picks each student's lesson as the `budget` best sentences of one draw from the values'
posterior (Thompson sampling), so it explores what it is unsure of and commits as evidence
accumulates; in the run's last `commit_last` episodes it sends every student its best lesson
(the posterior mean's top sentences). Comparing lessons within an episode removes what the
episode's students share: a fresh exam's difficulty, a shared initialisation. It learns one
value per pool sentence, so unlike `select-bin` it does not generalise to sentences it has
never sent.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ilm_core import (
    ConfigError,
    Feedback,
    Lesson,
    RoundContext,
    SentencePreferences,
    Teacher,
    TeacherContext,
    TeacherUpdate,
)
from ilm_plugins.teachers import ValueBanditParams
from ilm_plugins.teachers.rewards import rewards
from ilm_plugins.teachers.rounds import unsent_scores

REWARD_UNITS = {
    "exam": "the exam's reward (minus log perplexity, or accuracy)",
    "neg_log_perplexity": "minus log perplexity",
    "neg_perplexity": "minus perplexity",
    "accuracy": "minimal-pair accuracy",
    "component_mean": "mean component score",
}

#: the posterior is a dense pool x pool matrix: 5000 sentences take 200 MB per copy
MAX_POOL = 5000


class ValueBanditTeacher(Teacher):
    def __init__(self, params: ValueBanditParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        n = len(context.pool)
        if n > MAX_POOL:
            raise ConfigError(
                f"the value-bandit teacher keeps a dense pool x pool posterior; a pool of {n} sentences "
                f"(environment.pool_size) is more than the {MAX_POOL} it supports: use a smaller pool or select-bin"
            )
        if self.params.commit_last and context.episodes is None:
            raise ConfigError(
                f"value-bandit: teacher.commit_last = {self.params.commit_last} needs the run's number of episodes, "
                "which this caller's TeacherContext does not give (episodes=None); set commit_last = 0"
            )
        if context.episodes is not None and self.params.commit_last >= context.episodes:
            raise ConfigError(
                f"value-bandit: teacher.commit_last = {self.params.commit_last} is not below the run's "
                f"{context.episodes} episodes, so it would never explore; use fewer (e.g. 5% of the episodes) or 0"
            )
        self.n, self.k = n, min(context.budget, n)
        self.generator = torch.Generator().manual_seed(context.seed)
        self.gram = torch.zeros(n, n, dtype=torch.float64)  # sum of x x^T over remembered lessons
        self.moment = torch.zeros(n, dtype=torch.float64)  # sum of x * reward
        self.sum_sq = 0.0  # sum of reward^2
        self.dof = 0  # residual degrees of freedom the data carry
        self.lessons_seen = 0
        self.noise_var = (self.params.noise_std or self.params.prior_std) ** 2
        self._posterior()

    # -- the model ------------------------------------------------------------------------------
    def _posterior(self) -> None:
        """Posterior mean and covariance of the values; the noise re-estimated first when not fixed.

        The noise variance is a fixed point of "fit the values, estimate the noise from the
        residuals": two rounds from the previous estimate, then the final fit uses the estimate.
        """
        cov, mean = self._fit()
        if not self.params.noise_std:
            for _ in range(2):
                rss = self.sum_sq - 2 * float(mean @ self.moment) + float(mean @ self.gram @ mean)
                spare = self.dof - float((self.gram * cov).sum())  # dof minus the fit's effective parameters
                if spare < 5:
                    break
                self.noise_var = max(rss / spare, 1e-10)
                cov, mean = self._fit()
        self.mean, self.cov = mean, self.noise_var * cov

    def _fit(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(A + noise/prior I)^-1 and the ridge solution, for the current noise variance."""
        ridge = self.noise_var / self.params.prior_std**2
        precision = self.gram + ridge * torch.eye(self.n, dtype=torch.float64)
        cov = torch.cholesky_inverse(torch.linalg.cholesky(precision))
        return cov, cov @ self.moment

    # -- the teacher ----------------------------------------------------------------------------
    def committed(self, episode: int) -> bool:
        """Whether `episode` lies in the last `commit_last` episodes of the run."""
        horizon = self.context.episodes
        return bool(self.params.commit_last) and horizon is not None and episode >= horizon - self.params.commit_last

    def select(self, context: RoundContext) -> list[Lesson]:
        """The round's size of the best sentences of one posterior draw per student (not yet sent to it).

        Feedback acts only through `learn`: the draw does not read `context.feedback`."""
        n_students, k = context.n_students, min(context.size, self.k)
        if self.committed(context.episode):
            return [
                Lesson(student=i, indices=torch.topk(unsent_scores(self.mean, context, i), k).indices.tolist())
                for i in range(n_students)
            ]
        chol = torch.linalg.cholesky(self.cov + 1e-12 * torch.eye(self.n, dtype=torch.float64))
        noise = torch.randn(self.n, n_students, generator=self.generator, dtype=torch.float64)
        draws = self.mean[:, None] + self.params.exploration * (chol @ noise)
        return [
            Lesson(student=i, indices=torch.topk(unsent_scores(draws[:, i], context, i), k).indices.tolist())
            for i in range(n_students)
        ]

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        reward = rewards(feedback, self.params.reward)
        if not torch.isfinite(reward).all():  # the loop scores diverged students; another caller may not
            return TeacherUpdate(stats={"skipped": 1.0})
        x = torch.zeros(len(feedback), self.n, dtype=torch.float64)
        for row, f in enumerate(feedback):
            x[row, f.lesson.indices] = 1.0 / len(f.lesson.indices)
        dof = len(feedback)
        if self.params.centre == "episode":
            if len(feedback) < 2:  # one student has nothing to be compared with
                return TeacherUpdate(stats={"skipped": 1.0})
            if len({frozenset(f.lesson.indices) for f in feedback}) == 1:  # e.g. committed episodes
                return TeacherUpdate(stats={"skipped": 1.0})  # every student got the same lesson: nothing to compare
            x, reward, dof = x - x.mean(0), reward - reward.mean(), dof - 1
        self.gram += x.T @ x
        self.moment += x.T @ reward
        self.sum_sq += float(reward @ reward)
        self.dof += dof
        self.lessons_seen += len(feedback)
        self._posterior()
        top = torch.topk(self.mean, self.k).values
        return TeacherUpdate(
            stats={
                "noise_std": math.sqrt(self.noise_var),
                "value_std": float(self.mean.std()),
                "posterior_std": float(self.cov.diagonal().sqrt().mean()),
                "best_lesson_gain": float(top.mean() - self.mean.mean()),
                "lessons_remembered": float(self.lessons_seen),
            }
        )

    def scores(self) -> torch.Tensor:
        """The posterior mean value of every pool sentence (what the teacher believes)."""
        return self.mean.clone()

    def preferences(self) -> SentencePreferences:
        unit = REWARD_UNITS[self.params.reward]
        return SentencePreferences(
            values=self.mean.tolist(),
            std=self.cov.diagonal().clamp_min(0).sqrt().tolist(),
            meaning=f"posterior mean value ± std, in reward units ({unit}) relative to the episode's average lesson",
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "gram": self.gram,
            "moment": self.moment,
            "sum_sq": self.sum_sq,
            "dof": self.dof,
            "lessons_seen": self.lessons_seen,
            "noise_var": self.noise_var,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gram, self.moment = state["gram"].clone(), state["moment"].clone()
        self.sum_sq, self.dof, self.lessons_seen = float(state["sum_sq"]), int(state["dof"]), int(state["lessons_seen"])
        self.noise_var = float(state["noise_var"])
        cov, self.mean = self._fit()  # the fit _posterior ended with: same statistics, same noise
        self.cov = self.noise_var * cov
        self.generator.set_state(state["generator"])
