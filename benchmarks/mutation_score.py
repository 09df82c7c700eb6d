"""Mutation score of the test suite on the core loop: ilm_core/loop.py, protocol.py and four modules beside them.

What it measures: the share of mutants of the measured modules (``MODULES``: ilm_core/loop.py,
protocol.py, episode_record.py, feedback.py, divergence.py, checkpoint_state.py; ``--modules``
names others, comma-separated paths from the repository root) that the test suite kills. Mutants
are made by cosmic-ray (its default operators); a fixed random sample of them is run, each against
the tests that execute the mutated code, and the kill share is quoted with a 95% Wilson interval.

Procedure (the same for any commit):

1. Coverage. The whole suite runs once under coverage with per-test contexts
   (``pytest --cov=ilm_core.loop --cov=ilm_core.protocol ... --cov-context=test``, one ``--cov``
   per module); a small plugin (this file, loaded with ``-p``) records each test's outcome and
   duration. Tests that fail or error on the unmutated code are never used to judge a mutant.
2. Mutants. ``cosmic-ray init`` lists every mutant of the modules (its default operators);
   ``--sample N`` mutants are drawn with ``random.Random(seed)`` from the list sorted by (module,
   operator, occurrence) and the others are marked skipped. ``--sample 0`` runs them all.
3. Each mutant, one at a time in the sample's random order (so a run cut short by ``--max-minutes``
   has judged a random subset): cosmic-ray's ``mutate_and_test`` writes the mutant into the source
   file and calls ``mutation_score.py tests``, which reads the changed lines from ``git diff``,
   maps each to the statement that holds it, and runs ``pytest -x`` on the tests whose coverage
   context executed that statement: the fastest first, as many as fit in ``--test-budget``
   seconds (30) of their coverage-pass time. A statement executed only at import (a ``def`` line
   with its defaults, a class attribute, a module constant) is judged by the tests that execute
   the innermost function or class around it that any test executes (the module, at top level).
   A mutant in code no test executes survives without a run. A run that exceeds
   3 x (the selected tests' summed coverage-pass time) + 60 s is stopped and counts as killed
   (reported apart as "timeout").
4. Report: the module list, killed / survived / timeout / incompetent counts, the kill share
   (killed + timeout) / (killed + timeout + survived) with its 95% Wilson interval, and the diff
   of every survivor, in WORKDIR/report.md and WORKDIR/report.json.

Limits: the share is a lower bound on the whole suite's: a mutant is judged by at most 30 s of
the tests that execute it (a hot line is executed by 150-250 tests, 5 min of test time), and a
test that drives the loop only in a child process (worker executors, the CLI run as a
subprocess) leaves no coverage context, so it never judges a mutant. Equivalent mutants are
counted as survivors.

Command (from the repository root of a clean checkout, with the project and its test extras
installed together with ``cosmic-ray`` and ``pytest-cov``)::

    nice -n 10 python benchmarks/mutation_score.py all --workdir /tmp/mutation \
        --sample 150 --seed 31 --test-budget 30 --max-minutes 31
    # or step by step: coverage, init, exec (may be run again to go on), report

Time (2 shared cores): the coverage pass is one full test-suite run under coverage, 10-16 min;
a killed mutant takes 7-20 s, a survivor 15-65 s (pytest start-up and up to 30 s of tests):
``--max-minutes 31`` judged 67 mutants of 187590d and 120 of 2ca4203 (19 and 25 CPU minutes),
both on loop.py and protocol.py alone, and 99 of the six modules at 272c26c (28 CPU minutes).
Their reports (counts, interval, every survivor's diff) are benchmarks/results/mutation-*.json.
It modifies the measured modules in place while it runs (cosmic-ray restores them after each
mutant): run it in a clean checkout or a ``git worktree``
(``git worktree add --detach ../mut HEAD``), and do not interrupt it with ``kill -9``.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

# the measured modules (paths from the repository root); the coverage pass measures these and no others
MODULES: tuple[str, ...] = (
    "ilm_core/loop.py",
    "ilm_core/protocol.py",
    "ilm_core/episode_record.py",
    "ilm_core/feedback.py",
    "ilm_core/divergence.py",
    "ilm_core/checkpoint_state.py",
)
TIMEOUT_MARK = "MUTATION-SCORE-TIMEOUT"
NO_TESTS_MARK = "MUTATION-SCORE-NO-TESTS"


# --------------------------------------------------------------------------- pytest plugin
# Loaded with `-p mutation_score` (benchmarks/ on PYTHONPATH) during the coverage pass.


def pytest_runtest_logreport(report):  # type: ignore[no-untyped-def]
    path = os.environ.get("MUTATION_SCORE_OUTCOMES")
    if not path:
        return
    record = {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome, "duration": report.duration}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


# --------------------------------------------------------------------------- helpers


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def,type-arg]
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def statement_spans(source: str) -> list[tuple[int, int, ast.AST, list[ast.AST]]]:
    """(first line, last line, statement, enclosing def/class chain) of every statement's own lines.

    A compound statement's own lines are its decorators and header, up to its first body line.
    """
    spans: list[tuple[int, int, ast.AST, list[ast.AST]]] = []

    def visit(body: list[ast.stmt], parents: list[ast.AST]) -> None:
        for stmt in body:
            first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
            children: list[list[ast.stmt]] = [
                getattr(stmt, name)
                for name in ("body", "orelse", "finalbody")
                if isinstance(getattr(stmt, name, None), list)
            ]
            handlers = getattr(stmt, "handlers", None) or []
            cases = getattr(stmt, "cases", None) or []
            inner = [s for block in children for s in block if isinstance(s, ast.stmt)]
            inner += [h for h in handlers] + [c for c in cases]
            if inner:
                last = (
                    min(getattr(s, "lineno", getattr(getattr(s, "pattern", None), "lineno", 10**9)) for s in inner) - 1
                )
                last = max(last, stmt.lineno)
            else:
                last = stmt.end_lineno or stmt.lineno
            spans.append((first, last, stmt, parents))
            scope = (
                [*parents, stmt] if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else parents
            )
            for block in children:
                visit(block, scope)
            for h in handlers:
                spans.append((h.lineno, h.body[0].lineno - 1 if h.body[0].lineno > h.lineno else h.lineno, h, scope))
                visit(h.body, scope)
            for c in cases:
                visit(c.body, scope)

    visit(ast.parse(source).body, [])
    return spans


def select_tests(module: str, lines: set[int], cov: dict, source: str) -> list[str]:  # type: ignore[type-arg]
    """The tests that judge a mutant of `module` on `lines` (of the unmutated source)."""
    by_line: dict[str, list[str]] = cov["lines"].get(module, {})
    import_only = {str(ln) for ln in cov["import_lines"].get(module, [])}

    def tests_in(first: int, last: int) -> set[str]:
        out: set[str] = set()
        for ln in range(first, last + 1):
            out.update(by_line.get(str(ln), ()))
        return out

    spans = statement_spans(source)
    chosen: set[str] = set()
    for line in lines:
        inner = [s for s in spans if s[0] <= line <= s[1]]
        if not inner:
            continue
        first, last, stmt, parents = max(inner, key=lambda s: s[0])
        tests = tests_in(first, last)
        if not tests and any(str(ln) in import_only for ln in range(first, last + 1)):
            # executed only when the module was imported: judged by the code it defines
            # (the innermost def or class around it that some test executes; the whole module at top level)
            scopes = (
                [*parents, stmt] if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else parents
            )
            for scope in reversed(scopes):
                tests = tests_in(scope.lineno, scope.end_lineno or scope.lineno)  # type: ignore[attr-defined]
                if tests:
                    break
            if not tests:
                tests = {t for ts in by_line.values() for t in ts}
        chosen |= tests
    return sorted(chosen, key=lambda t: (cov["durations"].get(t, 0.0), t))


def cov_arguments(modules: tuple[str, ...]) -> list[str]:
    """pytest-cov's ``--cov`` arguments for the modules (by import name: ilm_core/loop.py -> ilm_core.loop)."""
    return [f"--cov={Path(m).with_suffix('').as_posix().replace('/', '.')}" for m in modules]


def parse_modules(value: str) -> tuple[str, ...]:
    modules = tuple(m.strip() for m in value.split(",") if m.strip())
    bad = [m for m in modules if not m.endswith(".py") or Path(m).is_absolute()]
    if not modules or bad:
        raise argparse.ArgumentTypeError(f"expected comma-separated .py paths from the repository root, got {value!r}")
    return modules


def changed_lines(repo: Path, modules: tuple[str, ...]) -> dict[str, set[int]]:
    diff = subprocess.run(
        ["git", "diff", "-U0", "--no-color", "--", *modules], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    out: dict[str, set[int]] = {}
    current = None
    for line in diff.splitlines():
        if line.startswith("--- a/"):
            current = line[6:]
        m = re.match(r"@@ -(\d+)(?:,(\d+))? \+", line)
        if m and current:
            start, count = int(m.group(1)), int(m.group(2) or "1")
            out.setdefault(current, set()).update(range(start, start + max(count, 1)))
    return out


# --------------------------------------------------------------------------- sub-commands


def cmd_coverage(args: argparse.Namespace) -> None:
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    outcomes = work / "outcomes.jsonl"
    outcomes.unlink(missing_ok=True)
    env = dict(os.environ, COVERAGE_FILE=str(work / ".coverage"), MUTATION_SCORE_OUTCOMES=str(outcomes))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent), env.get("PYTHONPATH")]))
    # tests that call the `ilm` command find the one of this environment
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "mutation_score",
        *cov_arguments(args.modules),
        "--cov-context=test",
        "--cov-report=",
        "tests",
    ]
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.run(cmd, env=env).returncode
    print(f"coverage pass: pytest exit status {rc}", flush=True)

    import coverage  # the project's test environment has it (pytest-cov)

    data = coverage.CoverageData(basename=str(work / ".coverage"))
    data.read()
    failed: set[str] = set()
    durations: dict[str, float] = {}
    for raw in outcomes.read_text().splitlines():
        r = json.loads(raw)
        durations[r["nodeid"]] = durations.get(r["nodeid"], 0.0) + r["duration"]
        if r["outcome"] == "failed":
            failed.add(r["nodeid"])
    repo = Path.cwd().resolve()
    lines: dict[str, dict[str, list[str]]] = {}
    import_lines: dict[str, list[int]] = {}
    for fname in data.measured_files():
        rel = Path(fname).resolve().relative_to(repo).as_posix()
        per_line: dict[str, list[str]] = {}
        imp: list[int] = []
        for ln, contexts in data.contexts_by_lineno(fname).items():
            tests = sorted({c.rsplit("|", 1)[0] for c in contexts if c} - failed)
            if tests:
                per_line[str(ln)] = tests
            if "" in contexts:
                imp.append(ln)
        lines[rel] = per_line
        import_lines[rel] = sorted(imp)
    cov = {
        "lines": lines,
        "import_lines": import_lines,
        "durations": durations,
        "failed": sorted(failed),
        "pytest_exit": rc,
    }
    (work / "coverage_map.json").write_text(json.dumps(cov))
    used = {t for per in lines.values() for ts in per.values() for t in ts}
    print(
        f"{len(durations)} tests ran, {len(failed)} failed on the unmutated code; "
        f"{len(used)} tests execute the modules",
        flush=True,
    )


def cmd_init(args: argparse.Namespace) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    work = Path(args.workdir).resolve()
    cfg = work / "cosmic-ray.toml"
    test_cmd = (
        f"{sys.executable} {Path(__file__).resolve()} tests --workdir {work} --test-budget {args.test_budget}"
        f" --modules {','.join(args.modules)}"
    )
    cfg.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(list(args.modules))}\n"
        "timeout = 7200.0\n"  # a backstop: the `tests` sub-command applies the per-mutant limit
        "excluded-modules = []\n"
        f"test-command = {json.dumps(test_cmd)}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    session = work / "session.sqlite"
    session.unlink(missing_ok=True)
    run([str(Path(sys.executable).parent / "cosmic-ray"), "init", str(cfg), str(session)])
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = list(db.pending_work_items)
        key = lambda it: (it.mutations[0].module_path, it.mutations[0].operator_name, it.mutations[0].occurrence)  # noqa: E731
        items.sort(key=key)
        per_module: dict[str, int] = {}
        for it in items:
            per_module[str(it.mutations[0].module_path)] = per_module.get(str(it.mutations[0].module_path), 0) + 1
        if args.sample and args.sample < len(items):
            order = [it.job_id for it in random.Random(args.seed).sample(items, args.sample)]
            keep = set(order)
            skip = [it.job_id for it in items if it.job_id not in keep]
            db.set_multiple_results(skip, WorkResult(output="not in the sample", worker_outcome=WorkerOutcome.SKIPPED))
        else:
            order = [it.job_id for it in random.Random(args.seed).sample(items, len(items))]
            keep = set(order)
    meta = {"mutants": len(items), "per_module": per_module, "sample": len(keep), "seed": args.seed, "order": order}
    (work / "sample.json").write_text(json.dumps(meta, indent=1))
    print(f"{len(items)} mutants {per_module}; {len(keep)} to run", flush=True)


def cmd_exec(args: argparse.Namespace) -> None:
    """Runs the sampled mutants one at a time in the sample's (random) order, so a run cut short by
    --max-minutes (or stopped and started again) has judged a random subset of the sample."""
    from cosmic_ray.config import load_config
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_db import WorkDB, use_db

    work = Path(args.workdir).resolve()
    config = load_config(str(work / "cosmic-ray.toml"))
    order = json.loads((work / "sample.json").read_text())["order"]
    timing_file = work / "exec_time.json"
    timing = json.loads(timing_file.read_text()) if timing_file.exists() else {"wall_s": 0.0, "cpu_s": 0.0}
    start = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with use_db(str(work / "session.sqlite"), WorkDB.Mode.open) as db:
        pending = {it.job_id: it for it in db.pending_work_items}
        todo = [job for job in order if job in pending]
        for n, job in enumerate(todo, 1):
            if args.max_minutes and time.time() - start > 60 * args.max_minutes:
                print(f"stopped after {args.max_minutes} min; {len(todo) - n + 1} mutants left", flush=True)
                break
            t0 = time.time()
            result = mutate_and_test(pending[job].mutations, config.test_command, config.timeout)
            db.set_result(job, result)
            print(f"[{n}/{len(todo)}] {result.test_outcome} {time.time() - t0:.0f}s", flush=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timing["wall_s"] += time.time() - start
    timing["cpu_s"] += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    timing_file.write_text(json.dumps(timing))


def cmd_tests(args: argparse.Namespace) -> int:
    """The test command cosmic-ray runs for each mutant (with the mutant written in place)."""
    work = Path(args.workdir).resolve()
    repo = Path.cwd().resolve()
    cov = json.loads((work / "coverage_map.json").read_text())
    selected: list[str] = []
    changed = changed_lines(repo, args.modules)
    for module, lines in changed.items():
        original = subprocess.run(
            ["git", "show", f"HEAD:{module}"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout
        selected += [t for t in select_tests(module, lines, cov, original) if t not in selected]
    if not changed:
        print("no mutated lines found in git diff", flush=True)
        return 2
    if not selected:
        print(NO_TESTS_MARK, flush=True)
        return 0
    # the fastest tests first, as many as fit in the budget of their coverage-pass time (the first always)
    budget, spent = args.test_budget, 0.0
    kept: list[str] = []
    for t in sorted(selected, key=lambda t: (cov["durations"].get(t, 0.0), t)):
        d = cov["durations"].get(t, 0.0)
        if kept and spent + d > budget:
            break
        kept.append(t)
        spent += d
    print(f"{len(selected)} tests execute the mutated code; {len(kept)} fit the {budget:.0f}s budget", flush=True)
    selected = kept
    limit = 3 * spent + 60
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "--no-header",
        "-o",
        "addopts=",
        *selected,
    ]
    print(f"{len(selected)} tests, limit {limit:.0f}s", flush=True)
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(TIMEOUT_MARK, flush=True)
        return 3


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of every annotation, which `from __future__ import annotations` leaves
    unevaluated: a mutant inside one is equivalent unless something reads the annotations."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        found = []
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            found.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            found.append(node.returns)
        for a in found:
            spans.append(((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0)))
    return spans


def cmd_report(args: argparse.Namespace) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    work = Path(args.workdir).resolve()
    counts = {"killed": 0, "timeout": 0, "survived": 0, "survived_no_tests": 0, "survived_annotation": 0}
    counts |= {"incompetent": 0, "error": 0}
    survivors = []
    unevaluated: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for module in args.modules:
        source = subprocess.run(["git", "show", f"HEAD:{module}"], capture_output=True, text=True, check=True).stdout
        lazy = "from __future__ import annotations" in source
        unevaluated[module] = annotation_spans(source) if lazy else []
    with use_db(str(work / "session.sqlite"), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            m = item.mutations[0]
            where = f"{m.module_path}:{m.start_pos[0]} {m.operator_name} #{m.occurrence} ({m.definition_name})"
            if result.worker_outcome != WorkerOutcome.NORMAL:
                counts["error"] += 1
                continue
            output = result.output or ""
            if result.test_outcome == TestOutcome.KILLED:
                counts["timeout" if TIMEOUT_MARK in output else "killed"] += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                counts["survived"] += 1
                pos = tuple(m.start_pos)
                annotation = any(a <= pos < b for a, b in unevaluated.get(str(m.module_path), []))
                counts["survived_no_tests"] += NO_TESTS_MARK in output
                counts["survived_annotation"] += annotation
                survivors.append(
                    {"where": where, "no_tests": NO_TESTS_MARK in output, "annotation": annotation, "diff": result.diff}
                )
            else:
                counts["incompetent"] += 1
    dead = counts["killed"] + counts["timeout"]
    n = dead + counts["survived"]
    n_eff = n - counts["survived_annotation"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    last = ["git", "log", "-1", "--format=%H", "--", *args.modules]
    modules_commit = subprocess.run(last, capture_output=True, text=True).stdout.strip()
    meta = json.loads((work / "sample.json").read_text())
    meta.pop("order", None)
    timing = json.loads((work / "exec_time.json").read_text()) if (work / "exec_time.json").exists() else {}
    summary = {
        "commit": head,
        "modules": list(args.modules),
        "modules_last_changed": modules_commit,
        **meta,
        **counts,
        "judged": n,
        "kill_share": dead / n if n else None,
        "wilson95": list(wilson(dead, n)),
        # survivors inside unevaluated annotations left out as equivalent
        "kill_share_without_annotations": dead / n_eff if n_eff else None,
        "wilson95_without_annotations": list(wilson(dead, n_eff)),
        **timing,
    }
    (work / "report.json").write_text(json.dumps({"summary": summary, "survivors": survivors}, indent=1))
    lines = [f"# Mutation score, {head}", "", "```", json.dumps(summary, indent=1), "```", "", "## Survivors", ""]
    for s in sorted(survivors, key=lambda s: s["where"]):
        note = " (no test executes it)" if s["no_tests"] else " (annotation)" if s["annotation"] else ""
        lines += [f"### {s['where']}{note}", "", "```diff", s["diff"].strip(), "```", ""]
    (work / "report.md").write_text("\n".join(lines))
    print(json.dumps(summary, indent=1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["all", "coverage", "init", "exec", "tests", "report"])
    p.add_argument("--workdir", default="/tmp/mutation")
    p.add_argument(
        "--modules",
        type=parse_modules,
        default=MODULES,
        help=f"comma-separated paths of the modules to mutate, from the repository root (default: {','.join(MODULES)})",
    )
    p.add_argument("--sample", type=int, default=120, help="mutants to run (0: all)")
    p.add_argument("--seed", type=int, default=31)
    p.add_argument(
        "--test-budget", type=float, default=30.0, help="seconds of (coverage-pass) test time per mutant, fastest first"
    )
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop `exec` after this long (0: run them all)")
    args = p.parse_args()
    if args.command == "tests":
        return cmd_tests(args)
    steps = {
        "coverage": [cmd_coverage],
        "init": [cmd_init],
        "exec": [cmd_exec],
        "report": [cmd_report],
        "all": [cmd_coverage, cmd_init, cmd_exec, cmd_report],
    }[args.command]
    for step in steps:
        step(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
