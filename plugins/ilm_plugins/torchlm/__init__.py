"""Stacked PyTorch Transformer students: S independent LMs trained in one pass."""

from .data import eos_id, lm_vocab_size, pack, pad_id
from .model import LMSize, StackedTransformerLM, extract
from .train import TrainRecipe, sentence_embeddings, sentence_nll, train_students

__all__ = [
    "LMSize",
    "StackedTransformerLM",
    "TrainRecipe",
    "eos_id",
    "extract",
    "lm_vocab_size",
    "pack",
    "pad_id",
    "sentence_embeddings",
    "sentence_nll",
    "train_students",
]
