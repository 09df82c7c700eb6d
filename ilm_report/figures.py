"""Figures from run directories: the paper's Figure 2 panels, Appendix C overlaps, exams."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ilm_report.runs import Run, Setting, _lookup, group_settings, load_run

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _plt() -> ModuleType:
    """matplotlib.pyplot on the Agg backend, imported on first use (listing plugins never imports it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: above this many episodes a curve is drawn smoothed (a rolling mean) over its faint raw values
SMOOTH_FROM = 50


def _rolling(values: list[float], window: int) -> list[float]:
    """The mean of the last `window` finite values at each point (fewer at the start)."""
    out: list[float] = []
    for i in range(len(values)):
        part = [v for v in values[max(0, i - window + 1) : i + 1] if math.isfinite(v)]
        out.append(sum(part) / len(part) if part else math.nan)
    return out


def _band(ax: Axes, means: list[float], stds: list[float], label: str) -> None:
    """A curve with its ± std band; a long run's curve is smoothed, its raw values kept faint behind it."""
    x = list(range(1, len(means) + 1))
    if len(means) > SMOOTH_FROM:
        window = max(2, len(means) // 20)
        (raw,) = ax.plot(x, means, alpha=0.25, linewidth=0.8)
        means, stds = _rolling(means, window), _rolling(stds, window)
        label = f"{label} (rolling mean of {window})"
        (line,) = ax.plot(x, means, label=label, color=raw.get_color())
    else:
        (line,) = ax.plot(x, means, label=label, marker="o" if len(means) <= 10 else None, markersize=3)
    ax.fill_between(
        x,
        [m - s for m, s in zip(means, stds, strict=True)],
        [m + s for m, s in zip(means, stds, strict=True)],
        alpha=0.2,
        color=line.get_color(),
    )


def student_curve(
    setting: Setting, key: str | tuple[str, ...], student_key: str | None
) -> tuple[list[float], list[float]]:
    """Mean and spread per episode: over seeds when the setting has several runs, else over the run's
    students (`per_student[student_key]` of each record), so a single run shows its students' spread too."""
    if len(setting.runs) > 1 or student_key is None:
        return setting.curve(key)
    means: list[float] = []
    stds: list[float] = []
    for record in setting.runs[0].records:
        value = _lookup(record, key)
        students = (record.get("per_student") or {}).get(student_key) or []
        finite = [v for v in students if isinstance(v, int | float) and math.isfinite(v)]
        means.append(float(value) if isinstance(value, int | float) else math.nan)
        stds.append(statistics.pstdev(finite) if len(finite) > 1 else 0.0)
    return means, stds


def _log_ticks(ax: Axes) -> None:
    """Readable numbers on a log axis: 10, 20, 50 over wide ranges, a few plain values ("17.5", not
    "1.75 × 10¹") over the narrow ones perplexities often span; no crowded minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    low, high = ax.get_ylim()
    if low > 0 and high / low >= 4:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.4g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _legends_below_labels(fig: Figure, axes: Iterable[Axes], legend_size: int) -> None:
    """A legend under each panel, just below its axis label (panels whose lines differ: one legend
    for the figure would give one colour two meanings)."""
    fig.tight_layout(rect=(0, 0, 1, 0.93 if fig.get_suptitle() else 1.0))
    fig.canvas.draw()
    for ax in axes:
        if not ax.get_legend_handles_labels()[0]:
            continue
        label = ax.xaxis.label.get_window_extent().transformed(ax.transAxes.inverted())
        ax.legend(fontsize=legend_size, loc="upper center", bbox_to_anchor=(0.5, label.y0 - 0.03), frameon=False)


def _finish(fig: Figure, axes: Sequence[Axes], legend_size: int = 8, per_panel: bool = False) -> None:
    """Grid on every panel; one legend for the figure, below every panel and its axis label
    (`per_panel`: one under each panel, below its axis label)."""
    from matplotlib.ticker import MaxNLocator

    entries: dict[str, Any] = {}
    for ax in axes:
        if ax.get_xlabel() == "episode":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # episode 1, 2, ...: not 1.2
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
        ax.grid(alpha=0.3)
        if ax.get_yscale() == "log":
            _log_ticks(ax)
    if per_panel:
        _legends_below_labels(fig, axes, legend_size)
        return
    # leave the top strip to the figure's title, which tight_layout does not see
    top = 0.93 if fig.get_suptitle() else 1.0
    if not entries:
        fig.tight_layout(rect=(0, 0, 1, top))
        return
    columns = min(len(entries), 3 if len(axes) > 1 else 2)
    rows = math.ceil(len(entries) / columns)
    bottom = min(0.45, (0.12 + 0.24 * rows) / fig.get_figheight())  # inches of legend, as a share of the figure
    fig.tight_layout(rect=(0, bottom, 1, top))
    fig.legend(
        list(entries.values()),
        list(entries),
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=columns,
        fontsize=legend_size,
        frameon=False,
    )


def _save(plt: ModuleType, fig: Figure, path: Path) -> Path:
    """Write the PNG (legends below the panels included) and free the figure."""
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def spread_title(settings: list[Setting]) -> str:
    """What the bands are: the spread over seeds, or over a single run's students."""
    if any(len(s.runs) > 1 for s in settings):
        return "mean ± std over seeds (a setting with one run: over its students)"
    seeds = sorted({r.seed for s in settings for r in s.runs})
    return f"one run per setting (seed {', '.join(map(str, seeds))}): mean ± std over its students"


def headline(settings: list[Setting]) -> tuple[str | tuple[str, ...], str, str]:
    """The exam's headline score in these runs' records: (its key, its per-student key, its name).
    Perplexity where the runs have it (the paper's exams); else minimal-pair accuracy; else the first
    other score the exam reported (`scores`: `<name>_mean`)."""
    if _measured(settings, "perplexity_mean") or not settings:
        return "perplexity_mean", "perplexity", "perplexity"
    if _measured(settings, "accuracy_mean"):
        return "accuracy_mean", "accuracy", "accuracy"
    for s in settings:
        for run in s.runs:
            for record in run.records:
                for key in record.get("scores", {}):
                    if key.endswith("_mean") and not key.startswith("heldout_"):
                        name = key.removesuffix("_mean")
                        return ("scores", key), name, name.replace("_", " ")
    return "perplexity_mean", "perplexity", "perplexity"


def figure2(settings: list[Setting], path: Path, domain: str) -> Path:
    """Panels (a) student exam perplexity per episode, (b) fraction of exam-domain data per episode."""
    plt = _plt()
    return _save(plt, draw_figure2(settings, domain), path)


def draw_figure2(settings: list[Setting], domain: str) -> Figure:
    """The Figure 2 panels as a matplotlib figure (what `figure2` writes)."""
    plt = _plt()
    fig: Figure
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    key, students, name = headline(settings)
    for s in settings:
        _band(a, *student_curve(s, key, students), s.label)
        _band(b, *student_curve(s, "fraction_exam_domain", "fraction_exam_domain"), s.label)
    a.set(
        xlabel="episode",
        ylabel=f"student exam {name}",
        title=f"(a) student {name} per episode",
        yscale="log" if name == "perplexity" else "linear",
    )
    b.set(
        xlabel="episode",
        ylabel=f"fraction of taught data from {domain}",
        title=f"(b) fraction from {domain}",
        ylim=(-0.02, 1.02),
    )
    if not _measured(settings, "fraction_exam_domain"):
        b.text(0.5, 0.5, "not measured in these runs\n(the exam-domain measure)", ha="center", transform=b.transAxes)
    fig.suptitle(spread_title(settings))
    _finish(fig, (a, b))
    return fig


def _measured(settings: list[Setting], key: str, nested: bool = False) -> bool:
    """Whether any run of `settings` recorded `key` (a measure's value; `nested`: a dotted path) in an episode."""
    if nested:
        return any(_lookup(record, key) is not None for s in settings for run in s.runs for record in run.records)
    return any(record.get(key) is not None for s in settings for run in s.runs for record in run.records)


def overlaps(settings: list[Setting], path: Path) -> Path | None:
    """Appendix C: unigram, bigram and trigram overlap between taught data and the exam (None: no run
    measured it)."""
    if not _measured(settings, "overlap"):
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, n in zip(axes, ("unigram", "bigram", "trigram"), strict=True):
        for s in settings:
            _band(ax, *student_curve(s, f"overlap.{n}", f"overlap_{n}"), s.label)
        ax.set(xlabel="episode", ylabel=f"{n} overlap", title=f"{n} overlap between taught data and exam")
    fig.suptitle(spread_title(settings))
    _finish(fig, axes)
    return _save(plt, fig, path)


def exams(settings: list[Setting], oracles: dict[tuple[str, int], Run], path: Path) -> Path:
    """Feedback vs held-out perplexity per episode, against the oracle's held-out baseline (an exam
    without perplexity: its headline score, and the held-out exam's where it has one)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    key, students, name = headline(settings)
    heldout: tuple[str, ...] = (
        ("heldout_perplexity_mean",) if name == "perplexity" else ("scores", f"heldout_{students}_mean")
    )
    for s in settings:
        if any(run.is_reference("best") for run in s.runs):  # the line every other setting is drawn against
            continue
        _band(ax, *student_curve(s, key, students), f"{s.label}: feedback exam")
        if name == "perplexity" or _measured([s], ".".join(heldout), nested=True):
            _band(ax, *student_curve(s, heldout, f"heldout_{students}"), f"{s.label}: held-out exam")
        refs = [oracles.get((r.env_key(), r.seed)) for r in s.runs]
        lasts = [o.last("heldout_perplexity_mean", 10**9) for o in refs if o is not None]
        values = [v for v in lasts if v is not None]
        if values:  # labels are unique per setting, so one line each
            ax.axhline(sum(values) / len(values), linestyle="--", color="gray", label=f"{s.label}: oracle held-out")
    ax.set(
        xlabel="episode",
        ylabel=name,
        title="feedback vs held-out exam",
        yscale="log" if name == "perplexity" else "linear",
    )
    fig.suptitle(spread_title(settings), fontsize=9)
    _finish(fig, (ax,), legend_size=7)
    return _save(plt, fig, path)


def components(settings: list[Setting], path: Path) -> Path | None:
    """Component scores per episode (one panel per exam: feedback, held-out pairs, ...) and the
    extra evaluations; None when no run has any (exams without components)."""
    names: dict[str, set[str]] = {}
    evaluations: set[str] = set()
    for s in settings:
        for run in s.runs:
            for record in run.records:
                for key in record.get("components", {}):
                    exam, _, part = key.partition("/")
                    names.setdefault(exam, set()).add(part)
                evaluations.update(record.get("evaluations", {}))
                if record.get("accuracy_mean") is not None:
                    evaluations.add("accuracy_mean")
    panels = sorted(names) + (["evaluations"] if evaluations else [])
    if not panels:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        for s in settings:
            if panel == "evaluations":
                for key in sorted(evaluations):
                    path_ = "accuracy_mean" if key == "accuracy_mean" else ("evaluations", key)
                    label = "feedback accuracy" if key == "accuracy_mean" else key
                    students = "accuracy" if key == "accuracy_mean" else key  # per_student holds both
                    _band(ax, *student_curve(s, path_, students), f"{s.label}: {label}")
            else:
                for part in sorted(names[panel]):
                    _band(ax, *s.curve(("components", f"{panel}/{part}")), f"{s.label}: {part}")
        title = "evaluations (never sent to a teacher)" if panel == "evaluations" else f"components of the {panel} exam"
        ax.set(xlabel="episode", ylabel="score (accuracy, or perplexity)", title=title)
    fig.suptitle(spread_title(settings))
    _finish(fig, list(axes[0]), legend_size=7, per_panel=True)
    return _save(plt, fig, path)


def _neg_log(record: dict[str, Any]) -> dict[str, Any]:
    """A record with `neg_log_perplexity` added: minus the log of each student's feedback perplexity
    (what the paper's select-bin teacher maximises), their mean and its per-student values."""
    students = [p for p in (record.get("per_student") or {}).get("perplexity") or [] if p and p > 0]
    values = [-math.log(p) for p in students]
    per_student = dict(record.get("per_student") or {}, neg_log_perplexity=values)
    return {**record, "per_student": per_student, "neg_log_perplexity": statistics.fmean(values) if values else None}


def teacher(settings: list[Setting], path: Path) -> Path:
    """What the teacher learns from and how sure it is: (a) its reward per episode, (b) its policy's
    entropy (when it reports one), each against the episodes."""
    return _save(_plt(), draw_teacher(settings), path)


def draw_teacher(settings: list[Setting]) -> Figure:
    """The teacher's panels as a matplotlib figure (what `teacher` writes)."""
    plt = _plt()
    fig: Figure
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    reported = _measured(settings, "teacher.reward_mean", nested=True)
    derived = not reported and _measured(settings, "teacher_reward_mean")  # an exam without perplexity
    for s in settings:
        if reported:  # the reward as the teacher computed it (its own transform of the feedback)
            _band(a, *s.curve("teacher.reward_mean"), s.label)
        elif derived:  # the reward the core derived from the exam's headline score
            _band(a, *s.curve("teacher_reward_mean"), s.label)
        else:
            view = Setting(s.label, s.config, [Run(r.path, r.config, [_neg_log(x) for x in r.records]) for r in s.runs])
            _band(a, *student_curve(view, "neg_log_perplexity", "neg_log_perplexity"), s.label)
        _band(b, *s.curve("entropy"), s.label)
    what = (
        "as the teacher reports it"
        if reported
        else "from the exam's headline score"
        if derived
        else "−log feedback-exam perplexity"
    )
    a.set(xlabel="episode", ylabel=f"reward ({what})", title="(a) the teacher's reward per episode")
    b.set(xlabel="episode", ylabel="entropy of the teacher's policy (nats)", title="(b) policy entropy per episode")
    maxima = [r.records[0].get("teacher", {}).get("entropy_max") for s in settings for r in s.runs if r.records]
    maxima = [m for m in maxima if isinstance(m, int | float)]
    if maxima:
        b.axhline(max(maxima), linestyle="--", color="gray", label="uniform policy (most uncertain)")
    if not _measured(settings, "entropy"):
        b.text(0.5, 0.5, "this teacher reports no entropy", ha="center", transform=b.transAxes)
    fig.suptitle(spread_title(settings))
    _finish(fig, (a, b))
    return fig


def measures(settings: list[Setting], keys: list[str], path: Path) -> Path | None:
    """One panel per value a measure plugin wrote for each episode (None when there is none to draw)."""
    if not keys:
        return None
    plt = _plt()
    columns = min(3, len(keys))
    rows = math.ceil(len(keys) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    used = list(axes.flat)[: len(keys)]
    for ax in list(axes.flat)[len(keys) :]:
        ax.remove()
    for ax, key in zip(used, keys, strict=True):
        for s in settings:
            _band(ax, *s.curve(key), s.label)
        ax.set(xlabel="episode", ylabel=key, title=f"{key} (a measure)")
    several = any(len(s.runs) > 1 for s in settings)
    fig.suptitle("mean ± std over seeds" if several else "one run per setting: the episode's value (no spread)")
    _finish(fig, used)
    return _save(plt, fig, path)


def run_figures(run_dir: Path, out: Path, domain: str) -> list[Path]:
    """One run's figures, as `ilm report RUN_DIR` draws them, written into `out` (for trackers)."""
    settings = group_settings([load_run(run_dir)])
    out.mkdir(parents=True, exist_ok=True)
    drawn = [
        figure2(settings, out / "figure2.png", domain),
        overlaps(settings, out / "overlaps.png"),
        exams(settings, {}, out / "exams.png"),
        teacher(settings, out / "teacher.png"),
    ]
    return [path for path in drawn if path is not None]
