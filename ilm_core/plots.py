"""Figures from run directories: the paper's Figure 2 panels, Appendix C overlaps, exams."""

from __future__ import annotations

from pathlib import Path

from ilm_core.reporting import Run, Setting


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _band(ax, means: list[float], stds: list[float], label: str) -> None:
    x = list(range(1, len(means) + 1))
    (line,) = ax.plot(x, means, label=label)
    ax.fill_between(
        x,
        [m - s for m, s in zip(means, stds, strict=True)],
        [m + s for m, s in zip(means, stds, strict=True)],
        alpha=0.2,
        color=line.get_color(),
    )


def _save(plt, fig, axes, path: Path, legend_size: int = 8) -> Path:
    """Legend and grid on every panel, then write the PNG and free the figure."""
    for ax in axes:
        ax.legend(fontsize=legend_size)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def figure2(settings: list[Setting], path: Path, domain: str) -> Path:
    """Panels (a) student exam perplexity per episode, (b) fraction of exam-domain data per episode."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for s in settings:
        _band(a, *s.curve("perplexity_mean"), s.label)
        _band(b, *s.curve("fraction_exam_domain"), s.label)
    a.set(xlabel="episode", ylabel="student exam perplexity", title="(a) student perplexity per episode", yscale="log")
    b.set(
        xlabel="episode",
        ylabel=f"fraction of taught data from {domain}",
        title=f"(b) fraction from {domain}",
        ylim=(-0.02, 1.02),
    )
    fig.suptitle("mean ± std over seeds")
    return _save(plt, fig, (a, b), path)


def overlaps(settings: list[Setting], path: Path) -> Path:
    """Appendix C: unigram, bigram and trigram overlap between taught data and the exam."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, n in zip(axes, ("unigram", "bigram", "trigram"), strict=True):
        for s in settings:
            _band(ax, *s.curve(f"overlap.{n}"), s.label)
        ax.set(xlabel="episode", ylabel=f"{n} overlap", title=f"{n} overlap between taught data and exam")
    return _save(plt, fig, axes, path)


def exams(settings: list[Setting], oracles: dict[tuple[str, int], Run], path: Path) -> Path:
    """Feedback vs held-out perplexity per episode, against the oracle's held-out baseline."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in settings:
        if any(run.is_reference("best") for run in s.runs):  # the line every other setting is drawn against
            continue
        _band(ax, *s.curve("perplexity_mean"), f"{s.label}: feedback exam")
        _band(ax, *s.curve("heldout_perplexity_mean"), f"{s.label}: held-out exam")
        refs = [oracles.get((r.env_key(), r.seed)) for r in s.runs]
        values = [o.last("heldout_perplexity_mean", 10**9) for o in refs if o is not None]
        values = [v for v in values if v is not None]
        if values:  # labels are unique per setting, so one line each
            ax.axhline(sum(values) / len(values), linestyle="--", color="gray", label=f"{s.label}: oracle held-out")
    ax.set(xlabel="episode", ylabel="perplexity", title="feedback vs held-out exam", yscale="log")
    return _save(plt, fig, (ax,), path, legend_size=7)


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
                    path_ = (key,) if key == "accuracy_mean" else ("evaluations", key)
                    label = "feedback accuracy" if key == "accuracy_mean" else key
                    _band(ax, *s.curve(path_), f"{s.label}: {label}")
            else:
                for part in sorted(names[panel]):
                    _band(ax, *s.curve(("components", f"{panel}/{part}")), f"{s.label}: {part}")
        title = "evaluations (never sent to a teacher)" if panel == "evaluations" else f"components of the {panel} exam"
        ax.set(xlabel="episode", ylabel="score (accuracy, or perplexity)", title=title)
    fig.suptitle("mean ± std over seeds")
    return _save(plt, fig, list(axes[0]), path, legend_size=7)
