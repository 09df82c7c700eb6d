"""Running an experiment into its run directory: what `ilm run` does beyond the protocol.

The episodes themselves are `ilm_core.loop` (`Experiment`). Here: refusing to overwrite a run,
the lock, resuming from the last good checkpoint (repeating the episodes after it and keeping
their records when the repeat matches), checkpoints, the watchers (`ilm_core.observers`), the
summary, and an error that says where the run stopped and how to continue it.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from ilm_core import process, provenance
from ilm_core.checkpoint_state import checkpoint_state, restore
from ilm_core.config import config_identity
from ilm_core.errors import ConfigError, IlmError, PluginError, RunDirError
from ilm_core.files import json_text
from ilm_core.observers import RunInfo, Watchers
from ilm_core.protocol import plan_of
from ilm_core.rundir import SUMMARY, UnsavableStateError
from ilm_core.signals import RunInterrupted, deferred
from ilm_core.signals import check as check_interrupted
from ilm_core.summary import summarise, teacher_role
from ilm_core.trackers import build_trackers

if TYPE_CHECKING:
    from ilm_core.loop import Experiment


class Runner:
    """Runs one `Experiment` in its run directory (`Experiment.run`)."""

    def __init__(self, experiment: Experiment) -> None:
        self.x = experiment
        self.watchers = Watchers([])

    def _save_checkpoint(self, completed: int) -> None:
        """Write a checkpoint; a teacher state that cannot be serialised names the teacher."""
        x = self.x
        cfg = x.config
        try:
            state = checkpoint_state(completed, cfg, x.teacher, x.executor, x.data, x.carried)
            x.rd.save_checkpoint(completed, state, cfg.keep_checkpoints)
        except UnsavableStateError as exc:
            raise PluginError(
                f"teacher plugin '{cfg.teacher.name}' returned a state_dict() that cannot be saved in a checkpoint "
                f"({exc}); state_dict() must return data that torch.save can pickle (numbers, lists, dicts, "
                "tensors; no open files, locks, lambdas or locally defined classes)",
                plugin=cfg.teacher.name,
                stage="state_dict",
            ) from exc

    def run(self, resume: bool, observers: list[Any]) -> dict[str, Any]:
        """Run (or resume) the experiment; returns the summary also written to summary.json.

        A new run checks what it can (its folder, the environment, the budget against the pool)
        before its directory is made, and removes what it wrote when it stops before finishing
        an episode. An error after that says which episodes are saved and how to continue.
        """
        x = self.x
        rd = x.rd
        if resume:
            rd.read_config()  # fails clearly, before anything is created, when it is not a run
        else:
            rd.check_new()
            if not rd.has_episodes():  # (an existing run is refused below, with its own message)
                x._build_environment()
        x.plan = plan_of(x.config, x.registry)  # a plan the config cannot serve: nothing created
        trackers = build_trackers(x.config, x.registry)  # a missing extra fails here
        self.watchers = Watchers.of(x.registry.pm, trackers, list(observers), x.notify)
        rd.create()
        rd.lock()
        finished = False
        try:
            try:
                summary = self._run_locked(resume)
                finished = True
                return summary
            finally:
                self.watchers.close()
                x.close()
        except IlmError as exc:
            _stopped(exc, x, resume)
            raise
        finally:
            if not finished and not resume:
                rd.discard()
            rd.unlock(remove=finished)

    def _refuse_overwrite(self) -> None:
        """A fresh run must never silently replace the finished episodes of another run."""
        x = self.x
        rd = x.rd
        if not rd.has_episodes():
            return
        try:
            done = f"{len(rd.read_metrics())} finished episode(s)"
        except IlmError:
            done = "finished episodes"
        state = "a finished run" if (rd.path / SUMMARY).is_file() else "a partial run"
        raise RunDirError(
            f"{rd.path} already holds {state} ({done}); ilm does not overwrite it. Continue it with "
            f"`ilm run --resume {rd.path}`, or choose another --out directory."
        )

    def _run_locked(self, resume: bool) -> dict[str, Any]:
        x = self.x
        rd, cfg = x.rd, x.config
        rd.remove_stale_temp_files()
        resolved = cfg.model_dump(mode="json")
        first = 0
        pending: list[dict[str, Any]] = []  # records of episodes after the checkpoint (resume)
        if not resume:
            self._refuse_overwrite()
        if resume:
            from ilm_core.config import config_diff

            saved = rd.read_config()
            diffs = config_diff(config_identity(saved), config_identity(resolved))
            if diffs:
                raise ConfigError(
                    f"--resume {rd.path}: the config differs from the one the run was started with: "
                    + "; ".join(diffs)
                    + ". Resume with the same config (omit --config/--set), or start a new run."
                )
            records = rd.read_metrics(x.notify)
            summary_path = rd.path / SUMMARY
            if len(records) >= cfg.episodes and summary_path.is_file():
                try:
                    summary = json.loads(summary_path.read_text())
                except ValueError:
                    summary = None  # damaged: the resume below writes it again
                if isinstance(summary, dict):
                    x.complete = True
                    x.notify(f"{rd.path} is already complete ({cfg.episodes} of {cfg.episodes} episodes)")
                    return summary
        if not resume or saved != resolved:  # resuming may change only what watches the run
            rd.write_config(resolved)
        provenance.record(rd.path, resume)  # versions, commit, command line, host, threads
        built_before = hasattr(x, "data")  # a new run builds its environment before its directory
        setup_start = time.perf_counter()
        x._build()
        setup_seconds = time.perf_counter() - setup_start + (x.environment_seconds if built_before else 0.0)
        if resume:

            def accept(state: dict[str, Any], path: Any) -> None:  # a wrong checkpoint falls back to an older one
                x.carried = restore(state, path, cfg, x.teacher, x.executor, x.data)

            loaded = rd.load_checkpoint(x.notify, max_episode=len(records), accept=accept)
            if loaded is not None:
                state, path = loaded
                first = int(state["episode"])
                x.notify(f"resuming {rd.path} after episode {first} (checkpoint {path.name})")
            # only a torn last line goes; episodes finished after the checkpoint are repeated to
            # rebuild the teacher's state, and their records are kept when the repeat matches
            rd.keep_metrics(len(records), None, records)
            pending = records[first:]
            if pending:
                x.notify(
                    f"repeating episode(s) {first}-{first + len(pending) - 1}, finished after the checkpoint, "
                    "to restore the teacher's state; their records in metrics.jsonl are kept"
                )
        elif rd.metrics_path.exists():
            rd.keep_metrics(0)
        info = RunInfo(
            config=cfg,
            run_dir=rd,
            first_episode=first,
            executor=getattr(x.executor, "description", "") or cfg.executor.name,
            environment=x.data,
        )
        self.watchers.call("ilm_run_start", run=info)
        x.saved_episodes = first + len(pending)
        for episode in range(first, cfg.episodes):
            check_interrupted()  # a signal noted since the last episode (set-up, writes, observers): before
            x.current_episode = episode  # this episode counts as started, so set-up says "while set up"
            with deferred():  # one noted during the episode stops the run when the episode ends
                record = x._episode(episode)
            if pending:
                kept = pending.pop(0)
                if not _same_record(kept, record.to_json()):
                    x.notify(
                        f"episode {episode} repeated after the checkpoint differs from its record in "
                        f"{rd.metrics_path} (a plugin is not deterministic); replacing the records from episode "
                        f"{episode} on"
                    )
                    rd.keep_metrics(episode)
                    pending.clear()
                    rd.append_metric(record.to_json())
            else:
                rd.append_metric(record.to_json())
            x.saved_episodes = episode + 1 + len(pending)
            completed = episode + 1
            if completed % cfg.checkpoint_every == 0 or completed == cfg.episodes:
                self._save_checkpoint(completed)
            self.watchers.call("ilm_episode_end", run=info, record=record)
        x.current_episode = None
        summary = summarise(rd.read_metrics(), cfg)
        summary["executor"] = info.executor
        summary["exam_domain"] = x.data.exam_domain
        summary.update(teacher_role(x.registry.get("teacher", cfg.teacher.name)))
        summary["setup_seconds"] = round(setup_seconds, 3)  # this invocation's set-up (a resume's own)
        summary["setup"] = dict(x.tools.steps.timings)
        plan = process.plan()  # the thread plan (ilm_threads), if a plugin makes one
        if plan is not None:
            summary["threads"] = plan
        summary["switched_off"] = dict(self.watchers.failed)  # watchers that failed before the end
        rd.write_summary(summary)
        self.watchers.call("ilm_run_end", run=info, summary=summary)
        return summary


def _same_record(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal in everything but the wall-clock seconds (compared as JSON, so NaN equals NaN)."""

    def text(r: dict[str, Any]) -> str:
        return json_text({k: v for k, v in r.items() if k != "seconds"}, sort_keys=True)

    return text(a) == text(b)


def _stopped(exc: IlmError, experiment: Experiment, resume: bool) -> None:
    """Add to an error where the run stopped and how to continue it (same type, same fields).

    Only errors of a run under way are annotated (and an interruption at any point): those
    raised while checking the run directory say everything themselves.
    """
    rd, episode, done = experiment.rd, experiment.current_episode, experiment.saved_episodes
    interrupted = isinstance(exc, RunInterrupted)
    if episode is None and not interrupted:
        return
    try:  # what is on disk (a signal may land between a write and the count)
        done = len(rd.read_metrics())
    except IlmError:
        pass
    if episode is None:
        where = "while it was being set up"
    else:
        where = f"after episode {episode}" if done == episode + 1 else f"in episode {episode}"
    if not resume and done == 0:
        again = "Run the same command again" if interrupted else "Run the command again once it is fixed"
        exc.args = (f"{exc} (The run stopped {where}; no episode had finished, so nothing was kept. {again}.)",)
        return
    if done:
        saved = f"{'episode 0 is' if done == 1 else f'episodes 0-{done - 1} are'} saved in {rd.metrics_path}"
    else:
        saved = "no episode had finished"
    if interrupted:
        then = f"Continue with `ilm run --resume {rd.path}`."
    elif isinstance(exc, PluginError):
        then = f"Fix the plugin, then continue with `ilm run --resume {rd.path}`."
    elif isinstance(exc, RunDirError):
        then = f"Fix the cause, then continue with `ilm run --resume {rd.path}`."
    else:  # the same config would fail the same way: resuming cannot change it
        then = "The same config fails the same way again; start a new run (another --out) with it changed."
    exc.args = (f"{exc} (The run stopped {where}; {saved}. {then})",)
