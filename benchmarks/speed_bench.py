"""The speed goals from one run: thread policies, fairseq-lm against a plain fairseq loop, batched paths.

Every measurement is one episode's student work: N students (default 12) each trained on a
random 10-sentence lesson of the `domains` pool for 20 updates, then scored on the feedback
and held-out exams (what `ilm bench` times). Paths:

- `seq transformer-lm`, `seq fairseq-lm`: the `sequential` executor (one student at a time);
- `batched transformer-lm`, `batched fairseq-lm`: the `batched` executor;
- `plain fairseq`: a plain training loop written with fairseq's own model class
  (`TransformerLanguageModel.build_model` of `--arch transformer_lm` with the `tiny` preset's
  fields, `torch.optim.AdamW`, `clip_grad_norm_`, fairseq's normalised probabilities), the same
  lessons, recipe (20 updates, lr 1e-3, betas 0.9/0.98, clip 1.0) and exams, one student after
  another, each model built in the loop as `fairseq-lm` builds its own.

The thread plan is fixed when a process starts, so each round runs one fresh worker process per
policy (`auto`, the default, and `torch`, torch's own choice; which goes first alternates between
rounds, so the order favours neither); inside a worker every path gets
one untimed warm-up, then `--repeats` timed passes, paths interleaved. Ratios are medians of
ratios taken within one round (the same load): path against path inside the `auto` worker,
`auto` against `torch` between the two workers of a round. Seconds are wall-clock medians; CPU
seconds (user + system of the worker, every thread) are printed beside them because they move
less with other processes' load. The load average is printed before and after.

    python benchmarks/speed_bench.py                       # 3 rounds x 3 repeats, ~3 minutes on 2 cores
    python benchmarks/speed_bench.py --rounds 5 --json speed.json
    python benchmarks/speed_bench.py --report speed.json      # the tables again
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PATHS = ("seq transformer-lm", "seq fairseq-lm", "batched transformer-lm", "batched fairseq-lm", "plain fairseq")
POLICIES = ("auto", "torch")


# -- the plain fairseq loop --------------------------------------------------------------------
class PlainFairseq:
    """N fairseq transformer_lm students trained and examined with a plain PyTorch loop."""

    def __init__(self, job: Any, arch: dict[str, Any], max_len: int, recipe: dict[str, Any]):
        import argparse as ap

        from fairseq.data import Dictionary

        self.job, self.recipe = job, recipe
        self.dictionary = Dictionary()
        for i in range(job.vocab_size):
            self.dictionary.add_symbol(f"w{i}")
        self.args = ap.Namespace(
            decoder_layers=arch["layers"],
            decoder_embed_dim=arch["dim"],
            decoder_attention_heads=arch["heads"],
            decoder_ffn_embed_dim=arch["ffn"],
            dropout=arch["dropout"],
            attention_dropout=arch["attention_dropout"],
            decoder_learned_pos=arch["learned_pos"],
            share_decoder_input_output_embed=arch["share_embeddings"],
            activation_fn=arch["activation"],
            add_bos_token=False,
            tokens_per_sample=max_len,
            max_target_positions=max_len,
            tpu=False,
        )
        from fairseq.models.transformer_lm import base_lm_architecture

        base_lm_architecture(self.args)  # every other field as `--arch transformer_lm` sets it

    def batch(self, sentences: list[list[int]]) -> tuple[Any, Any]:
        """fairseq ids: source = eos + sentence, target = sentence + eos, right-padded."""
        import torch

        d = self.dictionary
        offset = d.nspecial  # symbols w0.. follow the four specials
        width = max(len(s) for s in sentences) + 1
        source = torch.full((len(sentences), width), d.pad(), dtype=torch.long)
        target = torch.full((len(sentences), width), d.pad(), dtype=torch.long)
        for b, s in enumerate(sentences):
            ids = [t + offset for t in s]
            source[b, : len(s) + 1] = torch.tensor([d.eos(), *ids])
            target[b, : len(s) + 1] = torch.tensor([*ids, d.eos()])
        return source, target

    def run_once(self) -> None:
        import torch
        import torch.nn.functional as F
        from fairseq.models.transformer_lm import TransformerLanguageModel

        r, pad = self.recipe, self.dictionary.pad()
        task = argparse.Namespace(source_dictionary=self.dictionary, target_dictionary=self.dictionary)
        exams = [self.batch(sentences) for sentences in self.job.exams.values()]
        for lesson, seed in zip(self.job.lessons, self.job.seeds, strict=True):
            torch.manual_seed(seed)
            model = TransformerLanguageModel.build_model(self.args, task)
            opt = torch.optim.AdamW(model.parameters(), lr=r["lr"], betas=r["betas"], weight_decay=r["weight_decay"])
            source, target = self.batch(lesson)
            model.train()
            for _ in range(r["updates"]):
                lprobs = model.get_normalized_probs(model(source), log_probs=True)
                loss = F.nll_loss(lprobs.flatten(0, 1), target.flatten(), ignore_index=pad, reduction="sum")
                loss = loss / target.ne(pad).sum()
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), r["clip_norm"])
                opt.step()
            model.eval()
            with torch.no_grad():
                for source_e, target_e in exams:
                    lprobs = model.get_normalized_probs(model(source_e), log_probs=True)
                    nll = F.nll_loss(lprobs.flatten(0, 1), target_e.flatten(), ignore_index=pad, reduction="none")
                    nll.view(target_e.shape).sum(-1).tolist()


# -- one worker: every path under this process's thread plan --------------------------------------
def make_job(registry: Any, student: Any, n: int, seed: int, budget: int = 10) -> Any:
    """N random lessons of the `domains` pool (seeded) and its two exams, as `ilm bench` makes them."""
    import random

    from ilm_core import ComponentRef, TrainingJob, seeding

    data = registry.build("environment", "domains", {}).build(seeding.derive(seed, "environment"))
    rng = random.Random(seed)
    lessons = [[list(data.pool[j]) for j in rng.sample(range(len(data.pool)), budget)] for _ in range(n)]
    exams = {"feedback": [list(s) for s in data.exam], "heldout": [list(s) for s in data.heldout_exam]}
    return TrainingJob(
        student=student,
        exam=ComponentRef(name="perplexity"),
        vocab_size=len(data.vocabulary),
        lessons=lessons,
        seeds=[seeding.derive(seed, "student", 0, i) for i in range(n)],
        exams=exams,
    )


class Executed:
    """One (executor, student) path: its executor, set up once, and its job."""

    def __init__(self, registry: Any, executor: str, student: Any, job: Any):
        from ilm_core import ExecutorContext, set_up

        self.job = job
        self.ex = registry.build("executor", executor, {})
        context = ExecutorContext(
            registry=registry, student=student, n_students=len(job.seeds), device="cpu", notify=lambda message: None
        )
        set_up(self.ex, context)

    def run_once(self) -> None:
        self.ex.run(self.job)


def worker(args: argparse.Namespace) -> None:
    from ilm_threads import prepare

    prepare()  # before torch starts OpenMP, as `ilm` does
    from ilm_core import ComponentRef, default_registry
    from ilm_plugins.fairseq_lm import FairseqLMParams
    from ilm_threads import current as thread_plan

    registry = default_registry()
    plan = thread_plan()
    params = {"updates": args.updates}
    timed: dict[str, Any] = {}
    for path in args.paths.split(","):
        executor, student = path.split(" ")
        if executor == "plain":
            fs = FairseqLMParams(preset="tiny", updates=args.updates)
            job = make_job(registry, ComponentRef(name="fairseq-lm", params=params), args.students, args.seed)
            timed[path] = PlainFairseq(job, fs.architecture(), fs.max_len, fs.recipe())
            continue
        ref = ComponentRef(name=student, params=params)
        job = make_job(registry, ref, args.students, args.seed)
        timed[path] = Executed(registry, {"seq": "sequential", "batched": "batched"}[executor], ref, job)
    seconds: dict[str, list[float]] = {p: [] for p in timed}
    cpu: dict[str, list[float]] = {p: [] for p in timed}

    for c in timed.values():
        c.run_once()  # warm-up: imports, first calls
    for _ in range(args.repeats):
        for path in timed:
            start, start_cpu = time.perf_counter(), time.process_time()
            timed[path].run_once()
            seconds[path].append(time.perf_counter() - start)
            cpu[path].append(time.process_time() - start_cpu)
    for c in timed.values():
        if not isinstance(c, PlainFairseq):
            c.ex.close()
    descriptions = {p: "plain loop" if isinstance(c, PlainFairseq) else c.ex.description for p, c in timed.items()}
    print(json.dumps({"plan": plan.describe(), "seconds": seconds, "cpu": cpu, "descriptions": descriptions}))


def run_worker(policy: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")}
    env["ILM_THREADS"] = policy
    cmd = [sys.executable, __file__, "--worker", "--students", str(args.students), "--updates", str(args.updates),
           "--repeats", str(args.repeats), "--seed", str(args.seed), "--paths", args.paths]  # fmt: skip
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds; each runs one worker per policy")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes over the paths inside a worker")
    ap.add_argument("--students", type=int, default=12)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--seed", type=int, default=6639)
    ap.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, from: {', '.join(PATHS)}")
    ap.add_argument("--policies", default=",".join(POLICIES), help="thread policies, the default first")
    ap.add_argument("--json", type=Path, help="also write every measurement here")
    ap.add_argument("--report", type=Path, help="print the tables of a run saved with --json, and exit")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    if args.report:
        saved = json.loads(args.report.read_text())
        report(saved["rounds"], saved["args"], saved["load_after"])
        return
    policies = args.policies.split(",")
    print(f"load average before: {loadavg()}", flush=True)
    rounds: list[dict[str, dict[str, Any]]] = []
    for r in range(args.rounds):
        order = policies if r % 2 == 0 else policies[::-1]  # alternate who goes first: no order bias
        measured = {policy: run_worker(policy, args) for policy in order}
        rounds.append({policy: measured[policy] for policy in policies})
        print(f"round {r + 1}/{args.rounds}: " + "; ".join(
            f"{policy}: {rounds[-1][policy]['plan']}" for policy in policies), flush=True)  # fmt: skip
    after = loadavg()
    settings = {k: getattr(args, k) for k in ("rounds", "repeats", "students", "updates", "seed", "paths", "policies")}
    report(rounds, settings, after)
    if args.json:
        args.json.write_text(json.dumps({"args": settings, "load_after": after, "rounds": rounds}, indent=1))


def report(rounds: list[dict[str, dict[str, Any]]], args: dict[str, Any], after: str) -> None:
    """The tables: medians, and ratios as medians over rounds of ratios of a round's medians."""
    paths, policies = args["paths"].split(","), args["policies"].split(",")

    def med(policy: str, path: str, key: str = "seconds") -> float:
        return statistics.median(x for rd in rounds for x in rd[policy][key][path])

    def ratio(num: tuple[str, str], den: tuple[str, str], key: str = "seconds") -> float:
        """Median over rounds of (seconds of `num`) / (seconds of `den`), each a round's median."""
        per = [statistics.median(rd[num[0]][key][num[1]]) / statistics.median(rd[den[0]][key][den[1]]) for rd in rounds]
        return statistics.median(per)

    n = args["students"] * args["updates"]
    print(f"\n{args['students']} students x {args['updates']} updates, exams included; {args['rounds']} rounds x "
          f"{args['repeats']} repeats; load average after: {after}")  # fmt: skip
    default, *others = policies
    head = " | ".join(f"{p}: s (updates/s) | {p} CPU s" for p in policies)
    print(f"\n| path | {head} |" + "".join(f" {default} / {p} speed |" for p in others))
    print("|---|" + "---|---|" * len(policies) + "---|" * len(others))
    for path in paths:
        cells = " | ".join(f"{med(p, path):.3f} ({n / med(p, path):.0f}) | {med(p, path, 'cpu'):.3f}" for p in policies)
        vs = "".join(f" {ratio((p, path), (default, path)):.2f}x |" for p in others)
        print(f"| {path} | {cells} |{vs}")
    if "plain fairseq" in paths:
        print(f"\n| path ({default} policy) | speed vs plain fairseq loop (wall) | (CPU seconds) |")
        print("|---|---|---|")
        for path in paths:
            wall = ratio((default, "plain fairseq"), (default, path))
            cpu = ratio((default, "plain fairseq"), (default, path), "cpu")
            print(f"| {path} | {wall:.2f}x | {cpu:.2f}x |")
    print("\nexecutors: " + "; ".join(f"{p}: {d}" for p, d in rounds[0][default]["descriptions"].items()))


if __name__ == "__main__":
    main()
