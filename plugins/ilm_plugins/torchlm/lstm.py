"""A causal LSTM LM that holds S independent students in one module, like `StackedTransformerLM`.

Every parameter carries a leading student axis and each time step is one batched matrix product
per layer, so a group of students trains in one pass while no parameter or state crosses students.
It speaks the Transformer stack's interface (`vocab_size`, `n_students`, `seeds`, `size.max_len`,
`forward(tokens [S, B, T]) -> logits [S, B, T, V]`), so the same trainer, scorer and sampler serve it.
"""

from __future__ import annotations

import pydantic
import torch
import torch.nn.functional as F
from torch import nn


class LSTMSize(pydantic.BaseModel, extra="forbid"):
    """Architecture of every student of an LSTM stack."""

    layers: int = pydantic.Field(1, ge=1)
    dim: int = pydantic.Field(64, ge=4, description="embedding and hidden size (the output is tied to the embedding)")
    max_len: int = pydantic.Field(64, ge=2, description="longest sentence + 1 it is asked to generate")


class StackedLSTMLM(nn.Module):
    """S independent causal LSTM LMs; student s is initialised from `manual_seed(seeds[s])` alone."""

    def __init__(self, vocab_size: int, size: LSTMSize, seeds: list[int]) -> None:
        super().__init__()
        if not seeds:
            raise ValueError("need at least one student seed")
        self.vocab_size, self.size, self.seeds = vocab_size, size, list(seeds)
        S, d = len(seeds), size.dim
        bound = d**-0.5  # torch.nn.LSTM's uniform initialisation range
        shapes: dict[str, tuple[tuple[int, ...], str]] = {"tok": ((vocab_size, d), "normal")}
        for i in range(size.layers):
            shapes |= {
                f"l{i}_ih": ((d, 4 * d), "uniform"),
                f"l{i}_hh": ((d, 4 * d), "uniform"),
                f"l{i}_b": ((4 * d,), "uniform"),
            }
        tensors = {name: torch.empty((S, *shape)) for name, (shape, _) in shapes.items()}
        for s, seed in enumerate(seeds):
            g = torch.Generator().manual_seed(int(seed))
            for name, (_, how) in shapes.items():
                if how == "normal":
                    tensors[name][s].normal_(0.0, 0.1, generator=g)
                else:
                    tensors[name][s].uniform_(-bound, bound, generator=g)
        self.params = nn.ParameterDict({k: nn.Parameter(v) for k, v in tensors.items()})
        #: dropout generators by device, as the Transformer stack keeps them (none: no dropout here)
        self._generators: dict[str, torch.Generator] = {}

    @property
    def n_students(self) -> int:
        return len(self.seeds)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        """Last layer's hidden states [S, B, T, d] for tokens [S, B, T]."""
        S, B, T = tokens.shape
        if S != self.n_students:
            raise ValueError(f"tokens have {S} students, model has {self.n_students}")
        offset = torch.arange(S, device=tokens.device).view(S, 1, 1) * self.vocab_size
        x = F.embedding(tokens + offset, self.params["tok"].reshape(S * self.vocab_size, -1))  # [S, B, T, d]
        d = self.size.dim
        for i in range(self.size.layers):
            w_hh = self.params[f"l{i}_hh"]
            gates_in = torch.baddbmm(
                self.params[f"l{i}_b"][:, None, :], x.reshape(S, B * T, d), self.params[f"l{i}_ih"]
            )
            gates_in = gates_in.view(S, B, T, 4 * d)
            h = x.new_zeros(S, B, d)
            c = x.new_zeros(S, B, d)
            outputs = []
            for t in range(T):
                gates = gates_in[:, :, t] + torch.bmm(h, w_hh)
                i_g, f_g, g_g, o_g = gates.chunk(4, dim=-1)
                c = torch.sigmoid(f_g) * c + torch.sigmoid(i_g) * torch.tanh(g_g)
                h = torch.sigmoid(o_g) * torch.tanh(c)
                outputs.append(h)
            x = torch.stack(outputs, dim=2)
        return x

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [S, B, T, V]; output weights tied to the embeddings."""
        S, B, T = tokens.shape
        h = self.hidden_states(tokens).reshape(S, B * T, -1)
        return torch.bmm(h, self.params["tok"].transpose(1, 2)).view(S, B, T, self.vocab_size)
