"""Teachers: the learned `select-bin` teacher of the paper, its three baselines, `value-bandit` and
`generate-lm`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from ilm_core import Capability, ComponentRef, NoParams, TeacherSpec, hookimpl

#: what a learned teacher takes as its reward (see ilm_plugins.teachers.rewards)
RewardKind = Literal["exam", "neg_perplexity", "neg_log_perplexity", "accuracy", "component_mean"]


class TeacherLMParams(BaseModel):
    """The teacher's own causal LM, pretrained on the teacher corpus."""

    model_config = ConfigDict(extra="forbid")

    lm_layers: int = Field(2, ge=1)
    lm_dim: int = Field(64, ge=8)
    lm_heads: int = Field(4, ge=1)
    lm_updates: int = Field(300, ge=0, description="pretraining updates of the teacher's LM on its corpus")
    lm_lr: float = Field(1e-3, gt=0)
    lm_batch_size: int = Field(32, ge=1)


class SelectBinParams(TeacherLMParams):
    """The paper's teacher: a policy over sentence embeddings from its own pretrained LM."""

    embedding: Literal["word", "hidden"] = Field(
        "hidden", description="sentence embedding: average word embedding or average last hidden layer"
    )
    lm: Literal["native", "fairseq"] = Field(
        "native", description="the teacher's own LM: native torch, or fairseq's transformer_lm (optional extra)"
    )
    hidden: int = Field(0, ge=0, description="hidden units of the policy; 0 = one linear layer scoring each sentence")
    lr: float = Field(0.05, gt=0, description="policy learning rate (Adam)")
    entropy_coef: float = Field(0.01, ge=0, description="weight of the entropy bonus")
    entropy_decay: float = Field(
        1.0,
        gt=0,
        le=1,
        description="the entropy bonus is multiplied by this after every update: explore early, commit later",
    )
    weight_decay: float = Field(
        0.0,
        ge=0,
        description="decoupled weight decay of the policy (AdamW): bounds the scores, so noise cannot make one "
        "sentence dominate while directions every episode agrees on (a structure, a domain) survive",
    )
    baseline: Literal["none", "mean", "standardize"] = Field(
        "standardize",
        description="variance reduction across the N students of an episode: subtract the mean "
        "reward ('mean'), also divide by its std ('standardize'), or none",
    )
    reward: RewardKind = Field(
        "exam",
        description="reward from the feedback: 'exam' = the exam's own (Feedback.reward: minus the log of a "
        "perplexity, an accuracy itself; any exam), minus its (log-)perplexity, its minimal-pair 'accuracy', or "
        "'component_mean' (each exam component counts the same)",
    )
    log_prob: Literal["sum-log-softmax", "plackett-luce"] = Field(
        "sum-log-softmax",
        description="log-probability of a lesson in the REINFORCE loss: the paper's sum of the chosen "
        "sentences' log-softmax (Eq. 8), or the exact probability of the Gumbel-top-k draw (Plackett-Luce), "
        "which keeps ranking the remaining sentences once one dominates the softmax",
    )
    normalize_features: bool = Field(True, description="standardise each embedding dimension over the pool")
    components: int | None = Field(
        None,
        ge=1,
        description="keep only the top principal components of the pool's embeddings (None = all): "
        "fewer dimensions let the policy learn what distinguishes sentences rather than memorise which",
    )


class FeedbackBinParams(SelectBinParams):
    """select-bin with a per-student memory of what was sent and how the student scored after it."""

    lr: float = Field(0.1, gt=0, description="policy learning rate (Adam); the listening matrices learn at listen_lr")
    components: int | None = Field(
        4,
        ge=1,
        description="principal components of the pool's embeddings the policy and the student memories use "
        "(None = all): the listening matrix has components^2 entries",
    )
    baseline: Literal["none", "mean", "standardize"] = Field(
        "mean", description="variance reduction across the N students of an episode (see select-bin)"
    )
    log_prob: Literal["plackett-luce"] = Field(
        "plackett-luce", description="the exact probability of each round's Gumbel-top-k draw among unsent sentences"
    )
    probe: float = Field(
        2.0,
        ge=0,
        description="the first round probes: even students' lessons lean to one side of the pool's first "
        "principal component and odd students' to the other, by this many logits per std (0 = no probe); "
        "never with feedback withheld or in one-round episodes, where no later round hears the answer",
    )
    probe_withheld: bool = Field(
        False,
        description="probe in the first round even with feedback withheld (an ablation: the withheld arm then "
        "differs from the given one only in what comes back, not in its first lessons)",
    )
    memory_slots: int = Field(
        2, ge=1, description="rounds of evidence the memory keeps apart (later rounds share the last slot)"
    )
    listen_init: float = Field(
        0.0,
        description="the listening matrix starts as this times the identity: 0 = learn from nothing whether to "
        "follow the memory; > 0 = start by sending each student more of what helped it",
    )
    peers: Literal["all", "kind"] = Field(
        "all",
        description="whom each student's mid-term score is compared with: all students of the episode, or "
        "only those of its own kind (its population group, `TeacherContext.students`), so that a kind's "
        "higher or lower perplexities do not read as evidence about its lessons; one kind: the same",
    )
    listen_components: int | None = Field(
        None,
        ge=1,
        description="how many of the policy's principal components the student memories keep (None = all): 1 "
        "keeps only the probe's axis, so the teacher acts on the answer to the question its probe asked "
        "and not on differences along the other components, which no probe set up",
    )
    pooled_memory: bool = Field(
        False,
        description="an ablation: every student's memory is the mean of all the students' memories, so the "
        "teacher acts on what the episode's feedback says overall and not on which student said it",
    )
    listen_lr: float | None = Field(
        0.02,
        gt=0,
        description="learning rate of the listening matrices alone (None = lr, the policy's): Adam moves every "
        "weight by about its learning rate a step whether or not the rewards carry a signal, so where the "
        "memories hold only noise the listening matrices drift at this speed: with 0.02 (a fifth of lr) and "
        "individual_memory, hearing the mid-terms leaves plain Task 1, where every student needs the same, "
        "within noise of hearing nothing; None teaches the hidden-goal task better (docs/feedback.md)",
    )
    individual_memory: bool = Field(
        True,
        description="the complement of pooled_memory: each student's memory minus the students' mean memory, "
        "so the teacher acts only on what sets each student apart from the others and not on what the "
        "episode's feedback says about every student alike (false: the whole memory, which on plain Task 1 "
        "also searches the episode for what helped every student; docs/feedback.md); pooled_memory = true "
        "turns it off unless it is set too",
    )

    @model_validator(mode="after")
    def _one_memory_ablation(self) -> FeedbackBinParams:
        if self.pooled_memory and "individual_memory" not in self.model_fields_set:
            self.individual_memory = False  # the pooled ablation replaces the default's individual memory
        if self.pooled_memory and self.individual_memory:
            raise ValueError(
                "pooled_memory and individual_memory are both true, but they split the memory into complementary "
                "parts (the students' mean and each student's difference from it): set at most one"
            )
        return self


class GenerateLMParams(TeacherLMParams):
    """A teacher that writes its lessons with its own LM and trains that LM on the feedback."""

    lr: float = Field(1e-3, gt=0, description="learning rate (Adam) of the policy-gradient updates of the LM")
    kl_coef: float = Field(
        0.05,
        ge=0,
        description="weight of the KL divergence from the pretrained LM (per generated token, summed over a "
        "lesson): keeps the LM writing the language it was pretrained on while the feedback moves it",
    )
    updates_per_episode: int = Field(1, ge=1, description="policy-gradient updates on each episode's feedback")
    baseline: Literal["none", "mean", "standardize"] = Field(
        "standardize", description="variance reduction across the N students of an episode, as in select-bin"
    )
    reward: Literal["exam", "neg_perplexity", "neg_log_perplexity"] = Field(
        "exam",
        description="reward from the feedback: 'exam' = the exam's own (Feedback.reward; any exam), or minus its "
        "(log-)perplexity",
    )


class StudentModelParams(BaseModel):
    """A teacher with an explicit model of every (persistent) student."""

    model_config = ConfigDict(extra="forbid")

    group_by: Literal["descriptor", "none"] = Field(
        "descriptor",
        description="students whose value model is shared: those with one descriptor (group), or all ('none': a "
        "teacher blind to the kinds of students)",
    )
    prior_std: float = Field(0.5, gt=0, description="prior std of a sentence's value for a group, in gain units")
    student_prior_std: float = Field(
        0.25,
        gt=0,
        description="prior std of a student's own correction to its group's values (smaller: trust the group)",
    )
    exploration: float = Field(1.0, gt=0, description="scale of the posterior spread in each Thompson draw")


class TakeTurnsParams(BaseModel):
    """Several teachers teach the same (persistent) students in turn."""

    model_config = ConfigDict(extra="forbid")

    teachers: list[ComponentRef] = Field(
        min_length=2, description="the teachers, as {name, params}; each teaches `turn` episodes, then the next"
    )
    turn: int = Field(10, ge=1, description="episodes (or rounds, with turns = 'rounds') per turn")
    turns: Literal["episodes", "rounds"] = Field(
        "episodes",
        description="'episodes': each teacher teaches `turn` whole episodes; 'rounds': within every episode the "
        "teachers take `turn` rounds each (students that learn whom to trust hear each lesson's teacher)",
    )

    @model_serializer(mode="wrap")
    def _omit_later_default(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`turns` is written only when set, so that configs written before it keep their identity."""
        data: dict[str, Any] = handler(self)
        if data.get("turns") == "episodes":
            data.pop("turns")
        return data


class ByGroupParams(BaseModel):
    """One teacher per kind of student, chosen by the students' descriptors."""

    model_config = ConfigDict(extra="forbid")

    teachers: dict[str, ComponentRef] = Field(
        min_length=1,
        description="teacher of each population group, by group name, as {name, params}; '*' for every other group",
    )


class ValueBanditParams(BaseModel):
    """A teacher with a memory of what it sent: per-sentence values fitted to every past reward."""

    model_config = ConfigDict(extra="forbid")

    prior_std: float = Field(
        0.5, gt=0, description="prior std of a sentence's value, in reward units (a lesson's reward is its mean value)"
    )
    noise_std: float | None = Field(
        None,
        gt=0,
        description="std of a lesson's reward around the mean value of its sentences; None = estimated from the "
        "residuals of the fit (starting from prior_std)",
    )
    exploration: float = Field(
        1.0,
        gt=0,
        description="scale of the posterior's spread in each draw: 1 = Thompson sampling; below 1 commits "
        "sooner (risky: an episode whose students all get the same lesson teaches nothing, as lessons are "
        "compared within an episode), above 1 explores longer",
    )
    centre: Literal["episode", "none"] = Field(
        "episode",
        description="compare lessons only within an episode, removing what its students share "
        "(a fresh exam's difficulty, a shared initialisation); none = compare across episodes too",
    )
    reward: RewardKind = Field(
        "exam",
        description="reward from the feedback: 'exam' = the exam's own (Feedback.reward: minus the log of a "
        "perplexity, an accuracy itself; any exam), minus its (log-)perplexity, its minimal-pair 'accuracy', or "
        "'component_mean' (each exam component counts the same)",
    )
    commit_last: int = Field(
        0,
        ge=0,
        description="in the run's last N episodes every student gets the posterior mean's best lesson (exploit a "
        "known horizon: exploring then can no longer pay off); 0 = Thompson sampling to the end",
    )


class GroupsParams(TeacherLMParams):
    """What the data-mixing teachers mix over: k groups of the pool, from the teacher's own knowledge
    (k-means on its LM's sentence embeddings: select-bin's cached pool features), never from labels."""

    groups: int = Field(8, ge=1, description="k: groups of the pool (k-means clusters of the sentence embeddings)")
    group_by: Literal["embedding", "labels"] = Field(
        "embedding",
        description="'embedding': k-means on the teacher LM's pool embeddings; 'labels': the pool's exam-domain "
        "labels (a privileged reference only: any other teacher is refused by the label guard)",
    )
    kmeans_iterations: int = Field(50, ge=1, description="Lloyd iterations of k-means at most")
    embedding: Literal["word", "hidden"] = Field("hidden", description="sentence embedding, as select-bin's")
    lm: Literal["native", "fairseq"] = Field("native", description="the teacher's own LM, as select-bin's")
    normalize_features: bool = Field(True, description="standardise each embedding dimension, as select-bin")
    components: int | None = Field(
        None, ge=1, description="cluster on the top principal components of the embeddings only (None = all)"
    )


class StratifiedParams(GroupsParams):
    """Equal shares from every group (the Aioli baseline)."""


class StratifiedLabelParams(StratifiedParams):
    """Stratified over the pool's exam-domain labels: a privileged reference."""

    group_by: Literal["embedding", "labels"] = Field("labels", description="the pool's labels (privileged)")


class MixingParams(GroupsParams):
    """What the online mixing teachers share: when their group weights move."""

    warmup: int = Field(0, ge=0, description="rounds at the start of each episode drawn with uniform group weights")
    update_every: int = Field(1, ge=1, description="the group weights change every this many rounds (ODM: steps)")


class ODMParams(MixingParams):
    """Online Data Mixing: Exp3 over the groups, rewarded with the student's training loss on each group."""

    smoothing: float = Field(
        0.9, ge=0, lt=1, description="alpha: each group's reward estimate is alpha * old + (1 - alpha) * new (ODM)"
    )
    lr: float | None = Field(
        None,
        gt=0,
        description="Exp3 step size on the reward estimates; None = ODM's, eps_{t-1} (the exploration rate of the "
        "step before)",
    )
    exploration: float | None = Field(
        None,
        ge=0,
        description="eps: the share of the mixture spread uniformly (at most 1/K); None = ODM's schedule "
        "eps_t = min(1/K, sqrt(ln K / (K t))), which stays at 1/K (a uniform mixture) for the first "
        "K ln K steps: at ilm's two or three rounds an episode, set it to act",
    )


class DoReMiParams(MixingParams):
    """DoReMi: Group DRO on the student's excess loss over a reference model (the teacher's own LM)."""

    lr: float = Field(1.0, gt=0, description="eta: step size of the exponentiated-gradient update (DoReMi: 1)")
    smoothing: float = Field(
        1e-3, ge=0, le=1, description="c: weights are (1 - c) * alpha + c * uniform (DoReMi: 1e-3)"
    )
    per_group: int = Field(
        2, ge=0, description="pool sentences of each group in every round's placement test (the excess loss)"
    )
    iterate: bool = Field(
        True,
        description="start each episode from the previous episode's average weights (DoReMi's output weights, "
        "as iterated DoReMi); False = every episode starts uniform",
    )


class HardExamplesParams(GroupsParams):
    """Loss-based selection: each student gets the pool sentences on which its own loss is highest."""

    placement: int = Field(
        24, ge=0, description="pool sentences in every round's placement test (each student's loss on them)"
    )
    pressure: float = Field(
        100.0,
        ge=1,
        description="selection pressure s: the hardest sentence is s times as likely as the easiest (rank-based, "
        "Loshchilov & Hutter); large = greedy top-k by loss",
    )
    warmup: int = Field(0, ge=0, description="rounds at the start of each episode drawn uniformly")


@hookimpl
def ilm_teachers() -> Iterator[TeacherSpec]:
    yield TeacherSpec(
        name="select-bin",
        summary="REINFORCE policy over its own LM's sentence embeddings; Gumbel-top-k selection",
        factory="ilm_plugins.teachers.select_bin:SelectBinTeacher",
        params=SelectBinParams,
        roadmap=(
            "teacher.speaking.select-from-bin",
            "teacher.awareness.no-memory-buffer",
            "teacher.awareness.no-student-model",
            "task.teacher.select-optimal-data",
        ),
    )
    yield TeacherSpec(
        name="feedback-bin",
        summary="select-bin that listens: each student's next lesson follows what helped it in earlier rounds "
        "(its mid-term scores against the other students'); REINFORCE",
        factory="ilm_plugins.teachers.feedback_bin:FeedbackBinTeacher",
        params=FeedbackBinParams,
        roadmap=(
            "teacher.speaking.select-from-bin",
            "teacher.awareness.memory-buffer",
            "teacher.awareness.student-model",
            "interaction.teacher.send-in-batches",
            "interaction.teacher.mid-term-exams",
            "task.teacher.adapt-to-students.architectures",
        ),
    )
    yield TeacherSpec(
        name="generate-lm",
        summary="writes each lesson with its own pretrained LM; REINFORCE on the feedback, KL to the pretrained LM",
        factory="ilm_plugins.teachers.generate_lm:GenerateLMTeacher",
        params=GenerateLMParams,
        roadmap=("teacher.speaking.generate", "teacher.awareness.no-student-model", "task.teacher.select-optimal-data"),
    )
    yield TeacherSpec(
        name="student-model",
        summary="an explicit model of every persistent student (competence, per-sentence gain); Thompson per student",
        factory="ilm_plugins.teachers.student_model:StudentModelTeacher",
        params=StudentModelParams,
        roadmap=(
            "teacher.awareness.student-model",
            "teacher.awareness.memory-buffer",
            "teacher.speaking.select-from-bin",
            "task.teacher.adapt-to-students.architectures",
            "task.teacher.adapt-to-students.prior-knowledge",
        ),
    )
    yield TeacherSpec(
        name="take-turns",
        summary="reference: several teachers teach the same students in turn (do students adapt to each?)",
        factory="ilm_plugins.teachers.take_turns:TakeTurnsTeacher",
        params=TakeTurnsParams,
        # a harness that measures how students follow a change of teacher; no student here learns to
        # adapt, so it claims no cell (roadmap/studies/task.student.adapt-to-teachers.yaml)
        role="reference",
        capabilities=frozenset({Capability.PRIVILEGED}),
    )
    yield TeacherSpec(
        name="by-group",
        summary="reference: teaches each kind of student (its descriptor's group) with that kind's own teacher",
        factory="ilm_plugins.teachers.take_turns:ByGroupTeacher",
        params=ByGroupParams,
        # a reference that gives each labelled group a fixed teacher: it does not learn to adapt
        role="reference",
        capabilities=frozenset({Capability.PRIVILEGED}),
    )
    yield TeacherSpec(
        name="random",
        summary="baseline: a uniformly random lesson from the pool",
        factory="ilm_plugins.teachers.baselines:RandomTeacher",
        params=NoParams,
        roadmap=("teacher.speaking.select-from-bin",),
        role="reference",
        rank="chance",
    )
    yield TeacherSpec(
        name="value-bandit",
        summary="remembers every lesson and reward, fits each pool sentence's value, sends the best (Thompson)",
        factory="ilm_plugins.teachers.value_bandit:ValueBanditTeacher",
        params=ValueBanditParams,
        roadmap=(
            "teacher.speaking.select-from-bin",
            "teacher.awareness.memory-buffer",
            "task.teacher.select-optimal-data",
        ),
    )
    yield TeacherSpec(
        name="odm",
        summary="Online Data Mixing (Albalak et al. 2023): Exp3 over k-means groups, rewarded by each student's "
        "training loss per group",
        factory="ilm_plugins.teachers.mixing:ODMTeacher",
        params=ODMParams,
        role="reference",
    )
    yield TeacherSpec(
        name="doremi",
        summary="DoReMi (Xie et al. 2023): Group DRO weights on each student's excess loss over the teacher's LM",
        factory="ilm_plugins.teachers.mixing:DoReMiTeacher",
        params=DoReMiParams,
        role="reference",
    )
    yield TeacherSpec(
        name="hard-examples",
        summary="loss-based selection: each student gets the pool sentences its own loss is highest on",
        factory="ilm_plugins.teachers.mixing:HardExamplesTeacher",
        params=HardExamplesParams,
        role="reference",
    )
    yield TeacherSpec(
        name="stratified",
        summary="baseline: equal shares from every k-means group of the pool (the Aioli bar)",
        factory="ilm_plugins.teachers.mixing:StratifiedTeacher",
        params=StratifiedParams,
        role="reference",
    )
    yield TeacherSpec(
        name="stratified-labels",
        summary="reference: equal shares from each exam-domain label of the pool (uses labels)",
        factory="ilm_plugins.teachers.mixing:StratifiedTeacher",
        params=StratifiedLabelParams,
        role="reference",
        capabilities=frozenset({Capability.PRIVILEGED}),
    )
    yield TeacherSpec(
        name="oracle",
        summary="baseline: random sentences from the exam's domain or structure only (uses labels)",
        factory="ilm_plugins.teachers.baselines:OracleTeacher",
        params=NoParams,
        roadmap=("teacher.speaking.select-from-bin",),
        role="reference",
        rank="best",
        capabilities=frozenset({Capability.PRIVILEGED}),
    )
    yield TeacherSpec(
        name="worst-case",
        summary="baseline: random sentences from outside the exam's domain or structure (uses labels)",
        factory="ilm_plugins.teachers.baselines:WorstCaseTeacher",
        params=NoParams,
        roadmap=("teacher.speaking.select-from-bin",),
        role="reference",
        rank="worst",
        capabilities=frozenset({Capability.PRIVILEGED}),
    )
