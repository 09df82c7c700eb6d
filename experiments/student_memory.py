"""What one paper-size student costs in memory, and how many fit on one GPU (computed on a CPU).

The paper's student is fairseq's `transformer_lm` (6 layers, 512 dims, 8 heads, FFN 2048,
sinusoidal positions, untied output, pre-norm with a final layer norm). This script counts
its parameters (by formula, and from fairseq's own model when fairseq is installed), measures
the activations one update keeps for the backward pass (summing the tensors autograd saves,
native student at the same size, one Task 1 lesson), and adds fp32 weights, gradients and
Adam's two moments. Tensor sizes are the same on a GPU; what a GPU adds is one CUDA context
per process (`--context-gb`, an assumption to replace by a measurement:
`ilm bench --device cuda --size paper`).

    python experiments/student_memory.py                       # Task 1 sizes, 32/80/141 GB GPUs
    python experiments/student_memory.py --vocab 10 --lesson 10 --length 10 --group 6
"""

from __future__ import annotations

import argparse
import random

import torch
import torch.nn.functional as F

from ilm_plugins.torchlm.data import lm_vocab_size, pack
from ilm_plugins.torchlm.model import LMSize, StackedTransformerLM

LAYERS, DIM, HEADS, FFN = 6, 512, 8, 2048
FAIRSEQ_SPECIALS = 4  # bos, pad, eos, unk


def fairseq_params(vocab: int, layers: int = LAYERS, dim: int = DIM, ffn: int = FFN) -> int:
    """transformer_lm's parameters: token embedding, per layer attention (4 projections with
    biases), FFN (two with biases) and two layer norms, a final layer norm, an untied output
    projection without bias; sinusoidal positions have none."""
    v = vocab + FAIRSEQ_SPECIALS
    layer = 4 * (dim * dim + dim) + (dim * ffn + ffn) + (ffn * dim + dim) + 2 * (2 * dim)
    return v * dim + layers * layer + 2 * dim + dim * v


def fairseq_counted(vocab: int) -> int | None:
    """The same count from fairseq's own model, when fairseq is installed."""
    try:
        from ilm_plugins.fairseq_lm import PRESETS
        from ilm_plugins.fairseq_lm.lm import FairseqLM

        lm = FairseqLM(PRESETS["paper"], vocab, max_len=64, seed=0)
    except ImportError:
        return None
    return sum(p.numel() for p in lm.model.parameters())


def saved_activation_bytes(vocab: int, lesson: int, length: int) -> int:
    """Bytes of the tensors autograd keeps from one forward pass for the backward pass."""
    size = LMSize(layers=LAYERS, dim=DIM, heads=HEADS, ffn=FFN, dropout=0.1, positions="sinusoidal", norm="pre")
    model = StackedTransformerLM(lm_vocab_size(vocab), size, seeds=[0]).train()
    rng = random.Random(0)
    sentences = [[rng.randrange(vocab) for _ in range(length)] for _ in range(lesson)]
    inputs, targets, mask = pack([sentences], vocab)
    seen: dict[int, int] = {}

    def keep(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        logits = model(inputs)
        loss = (F.cross_entropy(logits.flatten(0, 2), targets.flatten(), reduction="none") * mask.flatten()).sum()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    loss.backward()
    return sum(n for ptr, n in seen.items() if ptr not in params)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=20, help="environment vocabulary (Task 1: 20)")
    ap.add_argument("--lesson", type=int, default=10, help="sentences per lesson (the budget)")
    ap.add_argument("--length", type=int, default=10, help="tokens per sentence")
    ap.add_argument("--group", type=int, default=6, help="students per process (one CUDA context each)")
    ap.add_argument("--context-gb", type=float, default=0.5, help="assumed CUDA context + allocator slack per process")
    ap.add_argument("--gpus-gb", default="32,80,141", help="GPU memory sizes to compute for")
    args = ap.parse_args()

    n = fairseq_params(args.vocab)
    counted = fairseq_counted(args.vocab)
    state = n * (4 + 4 + 8)  # fp32 weights, gradients, Adam's two moments
    acts = saved_activation_bytes(args.vocab, args.lesson, args.length)
    student = state + acts
    mib = 2**20
    print(f"paper-size student (fairseq transformer_lm {LAYERS}x{DIM}, FFN {FFN}), vocabulary {args.vocab}")
    print(f"- parameters: {n:,} (formula)" + (f", {counted:,} (fairseq's model)" if counted else ""))
    print(f"- weights + gradients + Adam moments (fp32, 16 B/parameter): {state / mib:.1f} MiB")
    print(f"- activations kept for backward, one update on {args.lesson} x {args.length} tokens: {acts / mib:.1f} MiB")
    print(f"- one student while it trains: {student / mib:.1f} MiB")
    print()
    print(f"| GPU memory | students per GPU, {args.group} per process ({args.context_gb:g} GB context each) |")
    print("|---|---|")
    for gb in (float(x) for x in args.gpus_gb.split(",")):
        per_group = args.group * student + args.context_gb * 2**30
        groups = int(gb * 2**30 // per_group)
        print(f"| {gb:g} GB | {groups * args.group} ({groups} processes) |")


if __name__ == "__main__":
    main()
