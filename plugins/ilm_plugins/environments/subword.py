"""A byte-level BPE tokenizer (the `tokenizers` library) trained on the teacher corpus only.

Byte-level BPE represents any text, so exam and held-out sentences need no unknown token even
though the tokenizer never saw them; its vocabulary is the environment's vocabulary.
"""

from __future__ import annotations

from typing import Any


def train_tokenizer(texts: list[str], vocabulary_size: int) -> Any:
    """Train on `texts` (and nothing else); returns a `tokenizers.Tokenizer`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocabulary_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tokenizer


def vocabulary_of(tokenizer: Any) -> list[str]:
    """The tokenizer's tokens ordered by id (ids are 0..V-1 with no gap)."""
    by_id = {i: token for token, i in tokenizer.get_vocab().items()}
    return [by_id[i] for i in range(len(by_id))]


def encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer.encode_batch(texts)]
