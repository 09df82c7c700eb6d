"""Figures from run directories: the paper's Figure 2 panels, Appendix C overlaps, exams."""

from __future__ import annotations

from pathlib import Path

from ilm_core.reporting import Run, Setting, group_settings, load_run


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


def _plain_log_ticks(ax) -> None:
    """Plain numbers on a log axis ("17", not "1.7 × 10¹"): perplexities are read, not exponents."""
    from matplotlib.ticker import FuncFormatter, LogFormatter

    class Plain(LogFormatter):
        def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
            return f"{x:g}"

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(Plain(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _finish(fig, axes, legend_size: int = 8) -> None:
    """Grid on every panel and its legend below it, where it covers no curve and no reference line."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        if ax.get_xlabel() == "episode":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # episode 1, 2, ...: not 1.2
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=legend_size, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
        ax.grid(alpha=0.3)
        if ax.get_yscale() == "log":
            _plain_log_ticks(ax)
    # leave the top strip to the figure's title, which tight_layout does not see
    fig.tight_layout(rect=(0, 0, 1, 0.94) if fig.get_suptitle() else (0, 0, 1, 1))


def _save(plt, fig, path: Path) -> Path:
    """Write the PNG (legends below the panels included) and free the figure."""
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def spread_title(settings: list[Setting]) -> str:
    """What the bands are: a spread over seeds only when a setting has more than one run."""
    if any(len(s.runs) > 1 for s in settings):
        return "mean ± std over seeds (a setting with one run has no band)"
    seeds = sorted({r.seed for s in settings for r in s.runs})
    return f"one run per setting (seed {', '.join(map(str, seeds))}), no spread over seeds"


def figure2(settings: list[Setting], path: Path, domain: str) -> Path:
    """Panels (a) student exam perplexity per episode, (b) fraction of exam-domain data per episode."""
    plt = _plt()
    return _save(plt, draw_figure2(settings, domain), path)


def draw_figure2(settings: list[Setting], domain: str):
    """The Figure 2 panels as a matplotlib figure (what `figure2` writes)."""
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
    if not _measured(settings, "fraction_exam_domain"):
        b.text(0.5, 0.5, "not measured in these runs\n(the exam-domain measure)", ha="center", transform=b.transAxes)
    fig.suptitle(spread_title(settings))
    _finish(fig, (a, b))
    return fig


def _measured(settings: list[Setting], key: str) -> bool:
    """Whether any run of `settings` recorded `key` (a measure's value) in an episode."""
    return any(key in record for s in settings for run in s.runs for record in run.records)


def overlaps(settings: list[Setting], path: Path) -> Path | None:
    """Appendix C: unigram, bigram and trigram overlap between taught data and the exam (None: no run
    measured it)."""
    if not _measured(settings, "overlap"):
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, n in zip(axes, ("unigram", "bigram", "trigram"), strict=True):
        for s in settings:
            _band(ax, *s.curve(f"overlap.{n}"), s.label)
        ax.set(xlabel="episode", ylabel=f"{n} overlap", title=f"{n} overlap between taught data and exam")
    fig.suptitle(spread_title(settings))
    _finish(fig, axes)
    return _save(plt, fig, path)


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
                    path_ = (key,) if key == "accuracy_mean" else ("evaluations", key)
                    label = "feedback accuracy" if key == "accuracy_mean" else key
                    _band(ax, *s.curve(path_), f"{s.label}: {label}")
            else:
                for part in sorted(names[panel]):
                    _band(ax, *s.curve(("components", f"{panel}/{part}")), f"{s.label}: {part}")
        title = "evaluations (never sent to a teacher)" if panel == "evaluations" else f"components of the {panel} exam"
        ax.set(xlabel="episode", ylabel="score (accuracy, or perplexity)", title=title)
    fig.suptitle(spread_title(settings))
    _finish(fig, list(axes[0]), legend_size=7)
    return _save(plt, fig, path)


def run_figures(run_dir: Path, out: Path, domain: str) -> list[Path]:
    """One run's figures, as `ilm report RUN_DIR` draws them, written into `out` (for trackers)."""
    settings = group_settings([load_run(run_dir)])
    out.mkdir(parents=True, exist_ok=True)
    drawn = [
        figure2(settings, out / "figure2.png", domain),
        overlaps(settings, out / "overlaps.png"),
        exams(settings, {}, out / "exams.png"),
    ]
    return [path for path in drawn if path is not None]
