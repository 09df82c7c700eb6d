"""FusedAdam: the numbers of torch.optim's fused Adam/AdamW, step for step, and a state that resumes."""

import sys

import pytest
import torch

try:
    import ilm_plugins  # noqa: F401
except ImportError:
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "plugins"))

from ilm_plugins.torchlm.optim import FusedAdam


def _problem(seed: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(5, 3, generator=g).requires_grad_(), torch.randn(3, generator=g).requires_grad_()], torch.randn(
        7, 5, generator=g
    )


def _loss(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return ((x @ params[0] + params[1]).tanh() ** 2).sum()


@pytest.mark.slow
@pytest.mark.parametrize("decoupled,weight_decay", [(True, 0.1), (False, 0.0)])
def test_fused_adam_matches_torch_optim(decoupled: bool, weight_decay: float) -> None:
    ours, x = _problem(0)
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    initial = [p.detach().clone() for p in ours]
    opt = FusedAdam(ours, lr=0.05, betas=(0.9, 0.98), weight_decay=weight_decay, decoupled=decoupled)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ref = cls(theirs, lr=0.05, betas=(0.9, 0.98), weight_decay=weight_decay, fused=True)
    for step in range(6):
        opt.lr = ref.param_groups[0]["lr"] = 0.05 / (step + 1)  # a schedule changes lr between steps
        for params, o in ((ours, opt), (theirs, ref)):
            o.zero_grad()
            _loss(params, x).backward()
            o.step()
    for a, b, start in zip(ours, theirs, initial, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        assert not torch.equal(a, start)  # the parameters did move


def test_fused_adam_state_round_trip_continues_identically() -> None:
    a, x = _problem(1)
    opt_a = FusedAdam(a, lr=0.1)
    for _ in range(3):
        opt_a.zero_grad()
        _loss(a, x).backward()
        opt_a.step()
    b = [p.detach().clone().requires_grad_() for p in a]
    opt_b = FusedAdam(b, lr=0.5)
    opt_b.load_state_dict(opt_a.state_dict())
    for params, o in ((a, opt_a), (b, opt_b)):
        o.zero_grad()
        _loss(params, x).backward()
        o.step()
    for p, q in zip(a, b, strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    with pytest.raises(ValueError, match="holds 2 tensors, expected 1"):
        FusedAdam(a[:1], lr=0.1).load_state_dict(opt_a.state_dict())
