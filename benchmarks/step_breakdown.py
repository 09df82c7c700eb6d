"""Where one update of the batched native student spends its time, on one CPU thread.

A Task 1 sweep (`ilm sweep --config configs/task1-cpu.toml`) is almost all student training:
each episode's 12 students are trained in the batched executor's lanes, one lane of 6 students
per core, 20 updates each. This times one lane's update piece by piece with the students of
`configs/task1-cpu.toml` (2 layers, dim 64, 4 heads, ffn 256; 10 sentences of 5-10 tokens each
per student; the `domains` vocabulary size) and prints milliseconds per update: each part of the
forward pass (timed around the model's own functions, without a profiler, whose per-operation
overhead distorts these small operations), the backward pass, per-student gradient clipping and
the fused AdamW step, then the forward pass's matrix products in GFLOP/s.

    python benchmarks/step_breakdown.py                    # 6 students, one thread
    python benchmarks/step_breakdown.py --students 12 --threads 2
    python benchmarks/step_breakdown.py --compiled         # also: a torch.compile'd loss, against eager
    python benchmarks/step_breakdown.py --variants         # also: the update computed two other ways
    python benchmarks/step_breakdown.py --pair             # also: two lanes at once, against one alone
    python benchmarks/step_breakdown.py --ops              # also: the update's operations, by their share

`--compiled` trains a second copy of the lane with the loss function compiled by `torch.compile`
(inductor; it needs a C++ compiler), alternating blocks of 10 eager and 10 compiled updates so
that both see the same machine, and prints the median update of each and how far the compiled
copy's loss drifts from eager's: a fused step computes the same function with other roundings.

`--variants` times, the same way, two other ways to compute the update: the attention written as
matrix products and a softmax instead of SDPA's kernel, and the position-wise layers (norms,
matrix products, ReLU, logits, cross-entropy) on each student's real tokens only, the padding rows
dropped and gathered back into sentences for the attention. Both compute the same function with
other roundings.

`--pair` asks what two lanes on two cores cost each other, as the batched executor runs them: it
times a lane's update alone, then two lanes updating at the same time, in two threads of one
process (the executor's lanes) and in two processes (no shared interpreter lock), in alternating
blocks, and prints each median and its ratio to the lone lane. A ratio above 1 is time the two
cores take from each other (caches, memory, a shared physical core), which no schedule of lanes
or runs wins back.

`--ops` runs the updates once more under torch's profiler and prints the operations (forward and
backward, optimiser and clipping) that take the most of the update's time, each operation's own
time without what it calls, and their sum in three groups: matrix products (`bmm`, `baddbmm`, `mm`,
`addmm`), the attention kernel (SDPA, forward and backward) and everything else. The profiler adds
its own overhead to every small operation, so read the shares, not the milliseconds.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ilm_plugins.torchlm.data import pack
from ilm_plugins.torchlm.model import LMSize, StackedTransformerLM
from ilm_plugins.torchlm.train import Trainer, TrainRecipe, clip_per_student


def token_nll(logits: torch.Tensor, tgt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each target token's NLL, [S, B, T], zero at padding; `logits` in any shape ending in the vocabulary."""
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.flatten(), reduction="none")
    return nll.view(tgt.shape) * mask


def per_student_loss(model: StackedTransformerLM, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean token NLL per student, [S]: the loss the trainer minimises."""
    inp, tgt, mask = batch
    return token_nll(model(inp), tgt, mask).sum(dim=(1, 2)) / mask.sum(dim=(1, 2)).clamp(min=1)


def forward_parts(model: StackedTransformerLM, batch: tuple[torch.Tensor, ...], acc: dict[str, float]) -> torch.Tensor:
    """The model's forward pass and summed token loss, written out part by part (as `hidden_states` runs
    them, pre-norm with learned positions and no dropout: the native student's defaults)."""
    inp, tgt, mask = batch
    S, B, T = inp.shape
    p, d = model._p, model.size.dim

    def timed(name: str, f: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        out = f(*args)
        acc[name] = acc.get(name, 0.0) + time.perf_counter() - start
        return out

    def embed() -> torch.Tensor:
        return (model.word_embeddings(inp) + p("pos")[:, None, :T]).reshape(S, B * T, d)

    x = timed("embeddings", embed)
    for i in range(model.size.layers):
        pre = f"l{i}"
        h = timed("layer norms", model._ln, x, p(pre + "_ln1_w"), p(pre + "_ln1_b"))
        qkv = timed("matmul qkv", model._linear, h, pre + "_qkv")
        att = timed("attention (SDPA + layout)", model._attention, qkv, B, T, 0.0)
        x = x + timed("matmul out", model._linear, att, pre + "_out")
        h = timed("layer norms", model._ln, x, p(pre + "_ln2_w"), p(pre + "_ln2_b"))
        a = timed("matmul ffn", model._linear, h, pre + "_ff1")
        a = timed("relu", F.relu, a)
        x = x + timed("matmul ffn", model._linear, a, pre + "_ff2")
    x = timed("layer norms", model._ln, x, p("lnf_w"), p("lnf_b"))
    logits = timed("matmul logits", torch.bmm, x, p("tok").transpose(1, 2))
    out: torch.Tensor = timed("cross-entropy", lambda: token_nll(logits, tgt, mask).sum())
    return out


def lane(V: int, S: int) -> tuple[StackedTransformerLM, Trainer]:
    """The lane's S students (the shapes of `configs/task1-cpu.toml`) and their trainer."""
    model = StackedTransformerLM(V + 2, LMSize(layers=2, dim=64), seeds=list(range(S)))
    return model, Trainer(model, TrainRecipe(updates=20, lr=1e-3), list(range(S)))


def update(
    model: StackedTransformerLM, trainer: Trainer, loss_fn: Callable[..., torch.Tensor], batch: tuple[torch.Tensor, ...]
) -> float:
    """One update of the lane, as the trainer makes it; returns the summed loss before it."""
    trainer.opt.zero_grad()
    loss = loss_fn(model, batch).sum()
    loss.backward()
    clip_per_student(trainer.params, 1.0)
    trainer.opt.step()
    return float(loss.item())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6, help="students in the lane (default 6: 12 over 2 lanes)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one lane per core)")
    parser.add_argument("--vocab", type=int, default=254, help="environment vocabulary (domains: 254)")
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--compiled", action="store_true", help="also time updates with a torch.compile'd loss")
    parser.add_argument("--variants", action="store_true", help="also time two other ways to compute the update")
    parser.add_argument("--pair", action="store_true", help="also time two lanes updating at once (threads, processes)")
    parser.add_argument("--ops", action="store_true", help="also show the update's operations by their share of it")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    S, V, n = args.students, args.vocab, args.repeats
    rng = random.Random(0)
    lessons = [[[rng.randrange(V) for _ in range(rng.randint(5, 10))] for _ in range(10)] for _ in range(S)]
    model, trainer = lane(V, S)
    size = model.size
    batch = pack(lessons, V)

    def median_ms(f: Callable[[], Any]) -> float:
        for _ in range(3):
            f()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e3

    def forward_backward() -> None:
        trainer.opt.zero_grad()
        per_student_loss(model, batch).sum().backward()

    with torch.no_grad():
        fwd = median_ms(lambda: per_student_loss(model, batch))
        acc: dict[str, float] = {}
        for _ in range(n):
            parts = forward_parts(model, batch, acc)
        inp, tgt, mask = batch
        whole = token_nll(model(inp), tgt, mask).sum()
        if not torch.allclose(parts, whole, rtol=1e-5):  # the parts timed are the model's own forward pass
            raise SystemExit(f"the forward written out part by part ({parts}) is not the model's ({whole})")
    fb = median_ms(forward_backward)
    clip = median_ms(lambda: clip_per_student(trainer.params, 1.0))
    adam = median_ms(trainer.opt.step)
    full = median_ms(lambda: update(model, trainer, per_student_loss, batch))
    tokens = int(batch[2].shape[1] * batch[2].shape[2])  # padded positions per student
    print(f"{S} students x {tokens} padded tokens, {args.threads} thread(s); ms per update (median of {n})")
    print(f"  forward (no grad)       {fwd:7.2f}")
    for name, seconds in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<26}{seconds / n * 1e3:7.2f}")
    print(f"  backward                {fb - fwd:7.2f}   (forward + backward {fb:.2f})")
    print(f"  clip per student        {clip:7.2f}")
    print(f"  fused AdamW             {adam:7.2f}")
    print(f"  whole update            {full:7.2f}   -> {full * 20:.0f} ms per lane-episode of 20 updates")
    d, f = size.dim, size.ffn
    macs = S * tokens * size.layers * (d * 3 * d + d * d + 2 * d * f) + S * tokens * d * (V + 2)
    matmul_s = sum(v for k, v in acc.items() if k.startswith("matmul")) / n
    print(f"  forward matrix products: {2 * macs / 1e6:.0f} MFLOP at {2 * macs / matmul_s / 1e9:.0f} GFLOP/s")
    if args.compiled:
        compare_compiled(V, S, batch, n)
    if args.variants:
        compare_variants(V, S, batch, n)
    if args.pair:
        compare_pair(V, S, batch, n)
    if args.ops:
        operations(model, trainer, batch, n)


MATRIX_PRODUCTS = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm")


def operations(model: StackedTransformerLM, trainer: Trainer, batch: tuple[torch.Tensor, ...], n: int) -> None:
    """The update's operations under torch's profiler: the largest by their own time, and three groups."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            update(model, trainer, per_student_loss, batch)
    own = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    total = sum(own.values())
    groups = {"matrix products": 0.0, "attention (SDPA)": 0.0, "everything else": 0.0}
    for key, t in own.items():
        if key in MATRIX_PRODUCTS:
            groups["matrix products"] += t
        elif "scaled_dot_product" in key:
            groups["attention (SDPA)"] += t
        else:
            groups["everything else"] += t
    print(f"operations of {n} updates under the profiler ({total / n / 1e3:.2f} ms per update with its overhead):")
    for key, t in sorted(own.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {key[:58]:<58}{100 * t / total:6.1f}%")
    for name, t in groups.items():
        print(f"  = {name:<56}{100 * t / total:6.1f}%")


def compare_compiled(V: int, S: int, batch: tuple[torch.Tensor, ...], n: int) -> None:
    """Eager against `torch.compile`'d updates of two identical lanes, in alternating blocks."""
    compiled_loss = torch.compile(per_student_loss, dynamic=False)
    compare(V, S, batch, n, "compiled", compiled_loss, "compiled loss (torch.compile, inductor)")


def compare(
    V: int, S: int, batch: tuple[torch.Tensor, ...], n: int, name: str, loss_fn: Callable[..., torch.Tensor], title: str
) -> None:
    """Eager updates against updates with `loss_fn` of two identical lanes, in alternating blocks of 10: the
    median update of each, and how far the other lane's summed loss drifts from eager's."""
    eager_lane, other_lane = lane(V, S), lane(V, S)
    start = time.perf_counter()
    other_losses = [update(*other_lane, loss_fn, batch)]  # compiles, for a compiled loss
    print(f"{title}: first update {time.perf_counter() - start:.1f} s")
    eager_losses = [update(*eager_lane, per_student_loss, batch)]
    times: dict[str, list[float]] = {"eager": [], name: []}
    for _ in range(max(1, n // 10)):
        for which, (model, trainer), fn, losses in (
            ("eager", eager_lane, per_student_loss, eager_losses),
            (name, other_lane, loss_fn, other_losses),
        ):
            for _ in range(10):
                start = time.perf_counter()
                losses.append(update(model, trainer, fn, batch))
                times[which].append(time.perf_counter() - start)
    eager, other = (statistics.median(times[which]) * 1e3 for which in ("eager", name))
    drift = [abs(a - b) for a, b in zip(eager_losses, other_losses, strict=True)]
    print(f"  eager update {eager:7.2f} ms, {name} {other:7.2f} ms: {eager / other:.2f}x")
    print(f"  difference of the summed loss: {drift[0]:.2e} at the first update, {max(drift):.2e} at most", end="")
    print(f" over {len(drift)} updates")


def math_attention(model: StackedTransformerLM, qkv: torch.Tensor, B: int, T: int) -> torch.Tensor:
    """The model's causal attention written as matrix products and a softmax instead of SDPA's kernel."""
    S, d, H = qkv.shape[0], model.size.dim, model.size.heads
    q, k, v = qkv.view(S * B, T, 3, H, d // H).permute(2, 0, 3, 1, 4)
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // H))
    causal = torch.ones(T, T, dtype=torch.bool, device=qkv.device).triu(1)
    att = scores.masked_fill(causal, float("-inf")).softmax(-1) @ v
    return att.transpose(1, 2).reshape(S, B * T, d)


def real_tokens_loss(model: StackedTransformerLM, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """`per_student_loss` with the position-wise layers (norms, matrix products, ReLU, logits, cross-entropy)
    on each student's real tokens only: the padding rows dropped, gathered back into sentences for
    attention. Every student's rows are as many as the longest's (the rest repeat a padding row, masked)."""
    inp, tgt, mask = batch
    S, B, T = inp.shape
    d, p = model.size.dim, model._p
    flat = mask.reshape(S, B * T)
    n = int(flat.sum(1).max())
    where = torch.arange(B * T).expand(S, -1)
    order = torch.where(flat, where, where + B * T).argsort(dim=1)[:, :n]  # real positions first, in order
    real = torch.gather(flat, 1, order)
    scatter = torch.where(real, order, torch.full_like(order, B * T))  # padding rows go to a spare row
    gather = scatter.clamp(max=B * T - 1)

    def rows(x: torch.Tensor) -> torch.Tensor:
        return torch.gather(x, 1, gather[..., None].expand(S, n, x.shape[-1]))

    x = rows((model.word_embeddings(inp) + p("pos")[:, None, :T]).reshape(S, B * T, d))
    for i in range(model.size.layers):
        pre = f"l{i}"
        qkv = model._linear(model._ln(x, p(pre + "_ln1_w"), p(pre + "_ln1_b")), pre + "_qkv")
        whole = qkv.new_zeros(S, B * T + 1, 3 * d).scatter(1, scatter[..., None].expand(S, n, 3 * d), qkv)
        x = x + model._linear(rows(model._attention(whole[:, : B * T].contiguous(), B, T, 0.0)), pre + "_out")
        h = model._ln(x, p(pre + "_ln2_w"), p(pre + "_ln2_b"))
        x = x + model._linear(F.relu(model._linear(h, pre + "_ff1")), pre + "_ff2")
    logits = torch.bmm(model._ln(x, p("lnf_w"), p("lnf_b")), p("tok").transpose(1, 2))
    targets = torch.gather(tgt.reshape(S, B * T), 1, gather)
    return token_nll(logits, targets, real).sum(1) / mask.sum(dim=(1, 2)).clamp(min=1)


def compare_variants(V: int, S: int, batch: tuple[torch.Tensor, ...], n: int) -> None:
    """Two ways to compute the same update with fewer or other operations, each against eager."""
    real = batch[2].float().mean().item()

    def with_math_attention(model: StackedTransformerLM, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        saved = model._attention
        model._attention = lambda qkv, B, T, p_drop: math_attention(model, qkv, B, T)  # type: ignore[method-assign]
        try:
            return per_student_loss(model, batch)
        finally:
            model._attention = saved  # type: ignore[method-assign]

    compare(V, S, batch, n, "math attention", with_math_attention, "attention as matrix products, not SDPA")
    compare(V, S, batch, n, "real tokens", real_tokens_loss, f"real tokens only ({real:.0%} of the padded rows)")


def _lane_updates(V: int, S: int, batch: tuple[torch.Tensor, ...], n: int, out: list[float]) -> None:
    """Make a lane and time `n` of its updates (after 3 untimed ones) into `out`, on one torch thread."""
    torch.set_num_threads(1)
    model, trainer = lane(V, S)
    for _ in range(3):
        update(model, trainer, per_student_loss, batch)
    for _ in range(n):
        start = time.perf_counter()
        update(model, trainer, per_student_loss, batch)
        out.append(time.perf_counter() - start)


def _process_lane(V: int, S: int, batch: tuple[torch.Tensor, ...], n: int, results: Any) -> None:
    times: list[float] = []
    _lane_updates(V, S, batch, n, times)
    results.put(times)


def compare_pair(V: int, S: int, batch: tuple[torch.Tensor, ...], n: int, blocks: int = 3) -> None:
    """A lane's update alone, against two lanes at once in two threads and in two processes."""
    times: dict[str, list[float]] = {"alone": [], "two threads": [], "two processes": []}
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, as a worker process is
    for _ in range(blocks):
        _lane_updates(V, S, batch, n, times["alone"])
        threads = [threading.Thread(target=_lane_updates, args=(V, S, batch, n, times["two threads"])) for _ in "ab"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results = spawn.Queue()
        procs = [spawn.Process(target=_process_lane, args=(V, S, batch, n, results)) for _ in "ab"]
        for p in procs:
            p.start()
        for _ in procs:
            times["two processes"] += results.get()
        for p in procs:
            p.join()
    alone = statistics.median(times["alone"])
    print(f"two lanes at once ({S} students each, one thread each; {blocks} alternating blocks of {n} updates)")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"  {name:<22}{median * 1e3:7.2f} ms per update   {median / alone:.2f}x alone")


if __name__ == "__main__":
    main()
