"""Tests for the stacked-student Transformer LM: independence, learning, clipping."""

import random

import pytest
import torch

try:
    import ilm_plugins  # noqa: F401
except ImportError:
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "plugins"))

from ilm_plugins.torchlm import (
    LMSize,
    StackedTransformerLM,
    TrainRecipe,
    extract,
    lm_vocab_size,
    pack,
    sentence_embeddings,
    sentence_nll,
    train_students,
)

V = 12
SIZE = LMSize(layers=2, dim=32, heads=4, ffn=64, max_len=16)


def _lesson(seed: int, n: int, max_len: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(V) for _ in range(rng.randint(1, max_len))] for _ in range(n)]


def _model(seeds: list[int], size: LMSize = SIZE) -> StackedTransformerLM:
    return StackedTransformerLM(lm_vocab_size(V), size, seeds)


def test_size_validation():
    with pytest.raises(ValueError, match="divisible"):
        LMSize(dim=30, heads=4)
    with pytest.raises(ValueError):
        LMSize(bogus=1)


def test_init_independent_of_stack():
    big, alone = _model([1, 2, 3]), _model([2])
    for name, p in big.params.items():
        assert torch.equal(p[1], alone.params[name][0]), name
    assert not torch.equal(big.params["tok"][0], big.params["tok"][1])
    assert all(torch.equal(p[0], big.params[k][1]) for k, p in extract(big, [1]).params.items())


@pytest.mark.parametrize("batch_size", [None, 2])
def test_batched_training_matches_alone(batch_size):
    seeds = [3, 5, 7]
    lessons = [_lesson(0, 4, 3), _lesson(1, 6, 9), _lesson(2, 3, 5)]
    probe = _lesson(9, 5, 8)
    recipe = TrainRecipe(updates=20, lr=3e-3, batch_size=batch_size, warmup=3)
    big = _model(seeds)
    losses = train_students(big, lessons, recipe, seeds, V)
    nll, ntok = sentence_nll(big, probe, V)
    assert losses.shape == (20, 3) and nll.shape == (3, 5)
    assert ntok.tolist() == [len(s) + 1 for s in probe]
    for s, seed in enumerate(seeds):
        alone = _model([seed])
        alone_losses = train_students(alone, [lessons[s]], recipe, [seed], V)
        torch.testing.assert_close(losses[:, s], alone_losses[:, 0], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(nll[s], sentence_nll(alone, probe, V)[0][0], rtol=1e-4, atol=1e-5)


def test_training_lowers_nll():
    lesson = [[1, 2, 3, 4], [5, 6, 7], [1, 2, 3]]
    model = _model([0, 1])
    before, _ = sentence_nll(model, lesson, V)
    losses = train_students(model, [lesson, lesson], TrainRecipe(updates=30, lr=3e-3), [0, 1], V)
    after, _ = sentence_nll(model, lesson, V)
    assert (after.sum(1) < 0.5 * before.sum(1)).all()
    assert (losses[-1] < losses[0]).all()


def test_per_student_clipping():
    lessons = [_lesson(0, 4, 6), _lesson(1, 4, 6)]
    recipe = TrainRecipe(updates=5, lr=1e-2, clip_norm=0.5)
    big = _model([1, 2])
    with torch.no_grad():
        big.params["tok"][0].mul_(500.0)  # student 0: huge loss, huge gradients
    losses = train_students(big, lessons, recipe, [1, 2], V)
    alone = _model([2])
    alone_losses = train_students(alone, [lessons[1]], recipe, [2], V)
    assert losses[0, 0] > 10 * losses[0, 1]
    torch.testing.assert_close(losses[:, 1], alone_losses[:, 0], rtol=1e-4, atol=1e-6)
    # atol: the key bias has a zero true gradient, so Adam turns float noise
    # (from different padding shapes) into steps of up to lr; all else is ~exact.
    for name, p in big.params.items():
        torch.testing.assert_close(p[1], alone.params[name][0], rtol=1e-4, atol=1e-4)


def test_pack_masks_padding():
    inp, tgt, mask = pack([[[1, 2, 3]], [[4], []]], V, "cpu")
    pad, eos = V, V + 1
    assert inp.shape == tgt.shape == mask.shape == (2, 2, 4)
    assert inp[0, 0].tolist() == [eos, 1, 2, 3] and tgt[0, 0].tolist() == [1, 2, 3, eos]
    assert mask[0, 0].all() and not mask[0, 1].any()  # padding sentence
    assert inp[1, 0].tolist() == [eos, 4, pad, pad] and tgt[1, 0].tolist() == [4, eos, pad, pad]
    assert mask[1, 0].tolist() == [True, True, False, False]
    assert tgt[1, 1].tolist() == [eos, pad, pad, pad] and mask[1, 1].tolist() == [True] + [False] * 3
    assert (tgt[~mask] == pad).all()
    with pytest.raises(ValueError):
        pack([[[V]]], V, "cpu")


@pytest.mark.parametrize(
    "size",
    [SIZE, LMSize(layers=1, dim=16, heads=2, ffn=32, positions="sinusoidal", norm="post", dropout=0.1)],
)
def test_shapes_and_embeddings(size):
    model = _model([4, 5, 6], size)
    inp, _, _ = pack([[[1, 2]], [[3]], [[4, 5, 6]]], V, "cpu")
    assert model(inp).shape == (3, 1, 4, lm_vocab_size(V))
    sents = [[1, 2], [], [3, 4, 5]]
    for kind in ("word", "hidden"):
        emb = sentence_embeddings(model, sents, V, kind)
        assert emb.shape == (3, 3, size.dim) and torch.isfinite(emb).all()
    word = sentence_embeddings(model, sents, V, "word")
    torch.testing.assert_close(word[1, 0], model.params["tok"][1, [1, 2]].mean(0).detach())
    assert (word[:, 1] == 0).all()
    train_students(model, [sents] * 3, TrainRecipe(updates=2), [4, 5, 6], V)


def test_dropout_masks_come_from_the_stack_not_the_global_rng():
    """Lanes train stacks on several threads at once: dropout must not draw from the global RNG."""
    size = LMSize(layers=1, dim=16, heads=2, ffn=32, dropout=0.2, max_len=16)
    lessons = [[[1, 2, 3, 4], [5, 6, 7]], [[8, 9, 1]]]
    runs = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        before = torch.random.get_rng_state()
        runs.append(train_students(_model([4, 5], size), lessons, TrainRecipe(updates=5), [4, 5], V))
        assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG was not used
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    no_dropout = train_students(
        _model([4, 5], size.model_copy(update={"dropout": 0.0})), lessons, TrainRecipe(updates=5), [4, 5], V
    )
    assert not torch.allclose(runs[0], no_dropout)  # dropout is active in training
