"""The thread plan: how many torch threads a run uses, where, and how idle threads wait.

ilm's CPU models are small, so a run is a long chain of tiny operations. When torch splits
one over several OpenMP threads, the threads that finish first wait for the others. By default
they wait spinning, which is the fastest way to wait on a machine with idle cores (a sleeping
thread takes tens of microseconds to wake for the next operation: one student trained at a time
ran about 3x slower with sleeping waits on a quiet machine), and the slowest on a machine whose
cores other processes want: the spinning threads burn the time slices the working ones need, and
an episode took 11-180x longer than with sleeping waits (benchmarks/README.md, "Busy machines").

So the `auto` policy (the default) decides by path, from what runs on the machine:

- lanes (student groups trained at the same time, one per core, one thread each) never wait
  for a partner thread, so they run the same whatever the wait policy;
- one stream of operations on every core (one student at a time, one group at a time, the
  teacher) uses torch's own waits (spinning) when other processes leave each of its threads a
  core as the run starts (on a machine of its own size: none runs), and sleeping waits
  (`OMP_WAIT_POLICY=PASSIVE`) when they do not. A run that started on a quiet machine checks
  again before each episode's students (`guard`): while other processes take the cores, it uses
  one thread per operation, which cannot spin.

Every core is kept in both cases: on a busy machine, a process with two runnable threads beat
one thread per process (it gets a larger share of contended cores). The plan never changes the
numbers a run produces: the student groups do not depend on it (see the batched executor).

Choose another plan with the environment variable `ILM_THREADS` (or `ilm run --threads`):
`auto`; `torch` (torch's own default: all cores for every operation, spinning waits, as before
the plan existed); or a number N (N threads in all, as `OMP_NUM_THREADS=N` would give). A user's
own `OMP_NUM_THREADS` counts as that number; a user's own `OMP_WAIT_POLICY` is kept.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

#: the environment variable that chooses the plan: auto, torch, or a positive number of threads
ENV = "ILM_THREADS"
#: at most this many of the usable cores for `auto` (set for each worker of `ilm sweep --jobs`)
ENV_CORES = "ILM_CORES"
POLICIES = ("auto", "torch")

#: the machine counts as busy (shown in the plan) when other processes leave less than this much of a core free
_QUIET_MARGIN = 0.5


@dataclass(frozen=True)
class ThreadPlan:
    """What a process decided about threads, and why (printed by `ilm run`)."""

    policy: str  #: auto, torch, or user (a number from ILM_THREADS / OMP_NUM_THREADS / --threads)
    cores: int  #: CPUs this process may run on
    load: float | None  #: load when the plan was made: see load_average (None where unknown)
    threads: int  #: intra-op threads of the main thread (teacher, set-up); also the lanes' share
    lane_cores: int  #: most lanes (student groups trained at the same time) on a CPU
    wait_policy: str | None  #: OMP_WAIT_POLICY in effect, None when OpenMP's default
    others: int | None = None  #: runnable threads of other processes when the plan was made (None: unknown)

    @property
    def busy(self) -> bool:
        return self.load is not None and self.load > self.cores - _QUIET_MARGIN

    @property
    def spins(self) -> bool:
        """Whether idle OpenMP threads of a team spin (OpenMP's default, or ACTIVE)."""
        return self.wait_policy is None or self.wait_policy.upper() != "PASSIVE"

    def max_lanes(self, groups: int) -> int:
        """Lanes for `groups` student groups on a CPU: one per group, up to `lane_cores`."""
        return max(1, min(groups, self.lane_cores))

    def lane_threads(self, lanes: int) -> int:
        """Intra-op threads of each of `lanes` lanes: an equal share of the plan's threads."""
        return max(1, self.threads // max(1, lanes))

    def describe(self) -> str:
        cores = f"{self.cores} core{'s' if self.cores != 1 else ''}"
        load = f"load {self.load:.1f} on {cores}" if self.load is not None else cores
        if self.busy:
            load += " (busy)"
        wait = f", OpenMP waits {self.wait_policy.lower()}" if self.wait_policy else ""
        why = {"auto": " (every core)", "torch": " (torch's default)"}
        return (
            f"threads: {self.threads} per operation{why.get(self.policy, ' (set by the user)')}, "
            f"up to {self.lane_cores} lane{'s' if self.lane_cores != 1 else ''} of students at a time; "
            f"{load}{wait or ', OpenMP waits spin'}; policy {self.policy} (set {ENV}=auto|torch|N to change)"
        )


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a cluster job's share)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The larger of the one-minute load average and the processes running right now besides this one.

    The average lags a minute behind a machine that just became busy; the instantaneous count
    (Linux: /proc/loadavg, sampled a few times) does not.
    """
    try:
        average = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    samples = []
    for _ in range(5):
        running = _runnable()
        if running is None:
            break
        samples.append(running - 1)  # this process is running while it reads
        time.sleep(0.005)
    return max(average, sorted(samples)[len(samples) // 2]) if samples else average


def others_running() -> int | None:
    """Runnable threads of other processes right now (Linux; None elsewhere).

    /proc/loadavg's count of runnable threads, less this process's own runnable threads (its
    spinning OpenMP threads count as runnable), the smallest of three samples a millisecond
    apart, so that a process that runs for an instant does not count.
    """
    counts = []
    for k in range(3):
        running = _runnable()
        if running is None:
            return None
        counts.append(max(0, running - _own_running()))
        if k < 2:
            time.sleep(0.001)
    return min(counts)


def _runnable() -> int | None:
    """The machine's runnable threads now, this process's included (/proc/loadavg; None elsewhere)."""
    try:
        with open("/proc/loadavg") as fh:
            return int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def _own_running() -> int:
    """This process's runnable threads (at least one: the caller)."""
    mine = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        mine += stat[stat.rindex(")") + 2 : stat.rindex(")") + 3] == "R"
    return max(1, mine)


def parse(value: str | int | None) -> str | int:
    """`auto`, `torch` or a positive thread count; anything else is a one-paragraph error."""
    if value is None or value == "":
        return "auto"
    text = str(value).strip().lower()
    if text in POLICIES:
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    from ilm_core.errors import ConfigError

    raise ConfigError(
        f"{ENV} (or --threads) = {value!r} is not a thread policy; use auto (the default: every core, idle "
        "threads sleep), torch (torch's own default: every core, idle threads spin), or a number of threads "
        "such as 1 or 4"
    )


def plan(
    choice: str | int | None = None,
    environ: dict[str, str] | None = None,
    cores: int | None = None,
    load: float | None = None,
) -> ThreadPlan:
    """The plan for `choice` (default: ILM_THREADS, else OMP_NUM_THREADS, else auto); no side effects."""
    env = os.environ if environ is None else environ
    cores = cores if cores is not None else usable_cores()
    measured = load is None
    load = load if load is not None else load_average()
    share = cores
    if (env.get(ENV_CORES) or "").isdigit() and int(env[ENV_CORES]) >= 1:
        share = min(cores, int(env[ENV_CORES]))
    if choice is None:
        choice = env.get(ENV) or (env.get("OMP_NUM_THREADS") if (env.get("OMP_NUM_THREADS") or "").isdigit() else None)
    chosen = parse(choice)
    wait = env.get("OMP_WAIT_POLICY") or None
    if isinstance(chosen, int):
        return ThreadPlan("user", cores, load, chosen, chosen, wait)
    if chosen == "torch":  # the thread counts are torch's, read when the plan is applied
        return ThreadPlan("torch", cores, load, 0, 0, wait)
    others = others_running() if measured else max(0, round(load or 0.0))
    # torch's own (spinning) waits only where other processes leave this plan's threads a core each
    quiet = others is not None and others + share <= cores
    return ThreadPlan("auto", cores, load, share, share, wait or (None if quiet else "PASSIVE"), others)


_current: ThreadPlan | None = None
_applied = False
_guarded: int | None = None  #: the threads `guard` last set on the main thread


def prepare(choice: str | int | None = None) -> ThreadPlan:
    """Make this process's plan before torch starts OpenMP: sets OMP_WAIT_POLICY (unless the user did).

    Call it first thing in an entry point; `apply` then sets torch's threads. Calling it after
    torch has started its threads still sets the thread counts, not the wait policy.
    """
    global _current, _applied, _guarded
    _current, _applied, _guarded = plan(choice), False, None
    if _current.wait_policy and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = _current.wait_policy
    return _current


def apply() -> ThreadPlan | None:
    """Set the main thread's torch threads to the prepared plan, once (no-op without a plan).

    Once: a caller that sets torch's threads itself afterwards (a library user, a test) keeps them.
    """
    global _current, _applied
    if _current is None:
        return None
    if _applied:
        return _current
    _applied = True
    import torch

    if _current.policy == "torch":
        n = torch.get_num_threads()
        _current = replace(_current, threads=n, lane_cores=n)
    elif torch.get_num_threads() != _current.threads:
        torch.set_num_threads(_current.threads)
    return _current


def current() -> ThreadPlan:
    """The plan this process prepared; without one, or when torch's threads were set since, torch's setting."""
    import torch

    if _current is not None:
        apply()
        if torch.get_num_threads() in (_current.threads, _guarded):
            return _current
    threads = torch.get_num_threads()
    return ThreadPlan("torch", usable_cores(), None, threads, threads, os.environ.get("OMP_WAIT_POLICY") or None)


def guard() -> int | None:
    """Before a stream of operations on every core (one student or one group at a time): the
    main thread's threads for it under the `auto` plan, set and returned (None: not `auto`).

    A plan whose waits spin (made on a quiet machine) uses one thread per operation while other
    processes run, which cannot spin, and all of its threads again once they stop (module docstring).
    """
    if _current is None or _current.policy != "auto" or not _current.spins:
        return None
    global _guarded
    import torch

    apply()
    others = others_running()
    fits = others is not None and others + _current.threads <= _current.cores
    wanted = _current.threads if fits else 1
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    _guarded = wanted
    return wanted


def child_environment(jobs: int) -> dict[str, str]:
    """Environment of each of `jobs` worker processes sharing this process's plan (sweep --jobs).

    `auto` stays `auto` within an equal share of the cores; a fixed number of threads is split.
    """
    plan_ = current()
    share = max(1, plan_.lane_cores // jobs)
    if plan_.policy == "auto":
        env = {ENV: "auto", ENV_CORES: str(share)}
    else:
        env = {ENV: str(share), "OMP_NUM_THREADS": str(share), "MKL_NUM_THREADS": str(share)}
    if plan_.wait_policy:
        env["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY", plan_.wait_policy)
    return env
