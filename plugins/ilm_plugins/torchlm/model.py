"""A causal Transformer LM that holds S independent students in one module.

Every parameter carries a leading student axis, so one batched forward pass
trains or scores all students at once while keeping them mathematically
independent (no parameter, statistic or attention ever crosses students).
"""

from __future__ import annotations

import math
from typing import Literal

import pydantic
import torch
import torch.nn.functional as F
from torch import nn


class LMSize(pydantic.BaseModel, extra="forbid"):
    """Architecture hyper-parameters shared by all students of a stack."""

    layers: int = pydantic.Field(2, ge=1)
    dim: int = pydantic.Field(64, ge=8)
    heads: int = pydantic.Field(4, ge=1)
    ffn: int = pydantic.Field(256, ge=1)
    dropout: float = pydantic.Field(0.0, ge=0.0, lt=1.0)
    max_len: int = pydantic.Field(64, ge=1)
    positions: Literal["learned", "sinusoidal"] = "learned"
    norm: Literal["pre", "post"] = "pre"

    @pydantic.model_validator(mode="after")
    def _heads_divide_dim(self) -> LMSize:
        if self.dim % self.heads != 0:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
        return self


def _sinusoidal(max_len: int, dim: int) -> torch.Tensor:
    """Fixed sine/cosine position table [max_len, dim] (Vaswani et al.)."""
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / max(half, 1))
    table = torch.zeros(max_len, dim)
    table[:, :half] = torch.sin(pos * freq)
    table[:, half : 2 * half] = torch.cos(pos * freq)
    return table


class StackedTransformerLM(nn.Module):
    """S independent causal Transformer LMs evaluated with batched kernels.

    Student ``s`` is initialised only from ``torch.Generator().manual_seed(seeds[s])``,
    so a student's weights do not depend on which other students share the stack.
    The output projection is tied to the token embedding.

    Dropout (``size.dropout > 0``) is active only in train mode and draws its masks from
    a generator owned by the stack and seeded by its seeds, never from the global torch RNG:
    stacks can train on several threads at once and stay reproducible. With dropout a
    student's trajectory does depend on which students share its stack.
    """

    pos_table: torch.Tensor  # a buffer, registered with sinusoidal positions only

    def __init__(self, vocab_size: int, size: LMSize, seeds: list[int]) -> None:
        super().__init__()
        if not seeds:
            raise ValueError("need at least one student seed")
        self.vocab_size = vocab_size
        self.size = size
        self.seeds = list(seeds)
        S, d, f, L = len(seeds), size.dim, size.ffn, size.layers
        # Parameter order below is also the per-student draw order at init.
        shapes: dict[str, tuple[tuple[int, ...], str]] = {"tok": ((vocab_size, d), "normal")}
        if size.positions == "learned":
            shapes["pos"] = ((size.max_len, d), "normal")
        for i in range(L):
            shapes |= {
                f"l{i}_ln1_w": ((d,), "ones"),
                f"l{i}_ln1_b": ((d,), "zeros"),
                f"l{i}_qkv_w": ((d, 3 * d), "normal"),
                f"l{i}_qkv_b": ((3 * d,), "zeros"),
                f"l{i}_out_w": ((d, d), "normal"),
                f"l{i}_out_b": ((d,), "zeros"),
                f"l{i}_ln2_w": ((d,), "ones"),
                f"l{i}_ln2_b": ((d,), "zeros"),
                f"l{i}_ff1_w": ((d, f), "normal"),
                f"l{i}_ff1_b": ((f,), "zeros"),
                f"l{i}_ff2_w": ((f, d), "normal"),
                f"l{i}_ff2_b": ((d,), "zeros"),
            }
        if size.norm == "pre":
            shapes |= {"lnf_w": ((d,), "ones"), "lnf_b": ((d,), "zeros")}
        tensors = {name: torch.empty((S, *shape)) for name, (shape, _) in shapes.items()}
        for s, seed in enumerate(seeds):
            g = torch.Generator().manual_seed(int(seed))
            for name, (_, how) in shapes.items():
                if how == "normal":
                    tensors[name][s].normal_(0.0, 0.02, generator=g)
                elif how == "ones":
                    tensors[name][s].fill_(1.0)
                else:
                    tensors[name][s].zero_()
        self.params = nn.ParameterDict({k: nn.Parameter(v) for k, v in tensors.items()})
        if size.positions == "sinusoidal":
            self.register_buffer("pos_table", _sinusoidal(size.max_len, d), persistent=False)
        self._generators: dict[str, torch.Generator] = {}

    @property
    def n_students(self) -> int:
        return len(self.seeds)

    def _p(self, name: str) -> torch.Tensor:
        param: torch.Tensor = self.params[name]
        return param

    def _dropout(self, x: torch.Tensor, p: float) -> torch.Tensor:
        """Inverted dropout with masks from this stack's own generator (see the class docstring)."""
        if p <= 0.0:
            return x
        key = str(x.device)
        if key not in self._generators:
            seed = hash(tuple(self.seeds)) & (2**63 - 1)  # ints hash the same in every process
            self._generators[key] = torch.Generator(device=x.device).manual_seed(seed)
        keep = torch.rand(x.shape, generator=self._generators[key], device=x.device, dtype=x.dtype) >= p
        return x * keep / (1.0 - p)

    def _attention(self, qkv: torch.Tensor, B: int, T: int, p_drop: float) -> torch.Tensor:
        """Causal self-attention within each sentence: qkv [S, B*T, 3d] -> [S, B*T, d]."""
        S, d, H = qkv.shape[0], self.size.dim, self.size.heads
        q, k, v = qkv.view(S * B, T, 3, H, d // H).permute(2, 0, 3, 1, 4).contiguous()
        att: torch.Tensor
        if p_drop > 0.0:  # explicit, so the attention dropout also uses the stack's generator
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // H)
            causal = torch.ones(T, T, dtype=torch.bool, device=qkv.device).triu(1)
            att = self._dropout(scores.masked_fill(causal, float("-inf")).softmax(-1), p_drop) @ v
        else:
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # [S*B, H, T, dh]
        return att.transpose(1, 2).reshape(S, B * T, d)

    @staticmethod
    def _ln(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Layer norm over the last dim with per-student affine; x is [S, N, d]."""
        return torch.addcmul(b[:, None, :], F.layer_norm(x, x.shape[-1:]), w[:, None, :])

    def _linear(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        """Per-student affine map: [S, N, i] @ [S, i, o] + [S, o]."""
        return torch.baddbmm(self._p(prefix + "_b")[:, None, :], x, self._p(prefix + "_w"))

    def word_embeddings(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token embeddings [S, B, T, d] (no positions), each student's own table."""
        S, V = self.n_students, self.vocab_size
        if tokens.shape[0] != S:
            raise ValueError(f"tokens have {tokens.shape[0]} students, model has {S}")
        offset = torch.arange(S, device=tokens.device).view(S, *([1] * (tokens.dim() - 1))) * V
        table = self._p("tok").reshape(S * V, -1)
        return F.embedding(tokens + offset, table)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        """Last hidden states [S, B, T, d] (after the final layer norm with pre-norm)."""
        S, B, T = tokens.shape
        size = self.size
        d = size.dim
        if T > size.max_len:
            raise ValueError(f"sequence length {T} exceeds max_len {size.max_len}")
        p_drop = size.dropout if self.training else 0.0
        pos = self._p("pos")[:, None, :T] if size.positions == "learned" else self.pos_table[:T]
        x = (self.word_embeddings(tokens) + pos).reshape(S, B * T, d)
        x = self._dropout(x, p_drop)
        for i in range(size.layers):
            pre = f"l{i}"
            h = self._ln(x, self._p(pre + "_ln1_w"), self._p(pre + "_ln1_b")) if size.norm == "pre" else x
            att = self._attention(self._linear(h, pre + "_qkv"), B, T, p_drop)
            x = x + self._dropout(self._linear(att, pre + "_out"), p_drop)
            if size.norm == "post":
                x = self._ln(x, self._p(pre + "_ln1_w"), self._p(pre + "_ln1_b"))
            h = self._ln(x, self._p(pre + "_ln2_w"), self._p(pre + "_ln2_b")) if size.norm == "pre" else x
            h = self._linear(F.relu(self._linear(h, pre + "_ff1")), pre + "_ff2")
            x = x + self._dropout(h, p_drop)
            if size.norm == "post":
                x = self._ln(x, self._p(pre + "_ln2_w"), self._p(pre + "_ln2_b"))
        if size.norm == "pre":
            x = self._ln(x, self._p("lnf_w"), self._p("lnf_b"))
        return x.view(S, B, T, d)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [S, B, T, V] for tokens [S, B, T]; output weights tied to embeddings."""
        S, B, T = tokens.shape
        h = self.hidden_states(tokens).reshape(S, B * T, -1)
        logits = torch.bmm(h, self._p("tok").transpose(1, 2))
        return logits.view(S, B, T, self.vocab_size)


def extract(model: StackedTransformerLM, indices: list[int]) -> StackedTransformerLM:
    """A new stack holding copies of the given students (e.g. to keep the best ones)."""
    out = StackedTransformerLM(model.vocab_size, model.size, [model.seeds[i] for i in indices])
    idx = torch.as_tensor(indices, dtype=torch.long)
    with torch.no_grad():
        for name, p in out.params.items():
            p.copy_(model.params[name].detach().cpu()[idx])
    return out.to(next(model.parameters()).device)
