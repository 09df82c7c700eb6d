"""Read a user's text files safely: streamed line by line, cut into sentences, sampled.

Files are never loaded whole: each is read line by line, cut into units (sentences, lines or
paragraphs) and a seeded reservoir keeps a uniform sample of the units that fit the length
limits, so a domain of gigabytes needs memory only for the sample. A file that is empty,
binary or not in the configured encoding stops the build with a `ConfigError` naming it.
"""

from __future__ import annotations

import codecs
import random
import re
from collections.abc import Iterator
from pathlib import Path

from ilm_core import ConfigError

#: a sentence ends at . ! or ? (closing quotes or brackets may follow) before a space and a capital
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
#: a paragraph longer than this (no blank line in between) is cut, so memory stays bounded
MAX_PARAGRAPH_CHARS = 100_000
SNIFF_BYTES = 8192


def files_of(label: str, paths: list[str]) -> list[Path]:
    """The files of one source: each path is a file, or a folder whose files (recursively, sorted) are read."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not found:
                raise ConfigError(f"environment.sources.{label}: the folder {str(path)!r} holds no file to read")
            files += found
        elif path.is_file():
            files.append(path)
        elif path.exists():  # a named pipe, socket or device: reading it may wait for ever
            raise ConfigError(
                f"environment.sources.{label}: {str(path)!r} is not a regular file (a named pipe, socket or "
                "device); give a text file or a folder of text files (a source is read more than once)"
            )
        else:
            raise ConfigError(
                f"environment.sources.{label}: {str(path)!r} does not exist; give a text file or a folder of text files"
            )
    return files


def check_file(path: Path, label: str, encoding: str) -> None:
    """Refuse, before reading it, a file that is empty or binary."""
    where = f"environment.sources.{label}: the file {str(path)!r}"
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise ConfigError(f"{where} is empty; give files that hold text (or remove it from the source)")
    if b"\x00" in head and not encoding.lower().replace("-", "").startswith("utf16"):
        raise ConfigError(
            f"{where} looks binary (it holds NUL bytes), not {encoding} text; give plain text files "
            "(convert documents to .txt first)"
        )


def lines_of(path: Path, label: str, encoding: str) -> Iterator[str]:
    """The file's lines, decoded incrementally; a byte sequence the encoding rejects stops with the line number."""
    check_file(path, label, encoding)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield decoder.decode(raw)
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"environment.sources.{label}: the file {str(path)!r} is not {encoding} text (line {number}: "
                    f"{exc.reason} at byte {exc.start}); convert it to {encoding} or set environment.encoding to "
                    "the file's encoding (e.g. latin-1)"
                ) from None


def units_of(lines: Iterator[str], unit: str) -> Iterator[str]:
    """Cut a stream of lines into units: 'line' = each non-blank line; 'paragraph' = text between blank
    lines, joined; 'sentence' = each paragraph cut at sentence ends."""
    if unit == "line":
        for line in lines:
            if line.strip():
                yield " ".join(line.split())
        return
    buffer: list[str] = []
    size = 0

    def flush() -> Iterator[str]:
        paragraph = " ".join(" ".join(buffer).split())
        buffer.clear()
        if not paragraph:
            return
        if unit == "paragraph":
            yield paragraph
        else:
            yield from (s for s in SENTENCE_END.split(paragraph) if s)

    for line in lines:
        if not line.strip():
            yield from flush()
            size = 0
            continue
        buffer.append(line)
        size += len(line)
        if size > MAX_PARAGRAPH_CHARS:
            yield from flush()
            size = 0
    yield from flush()


def sample_units(
    label: str, paths: list[str], unit: str, encoding: str, min_words: int, max_words: int, k: int, seed: int
) -> tuple[list[str], int]:
    """A seeded uniform sample (reservoir) of at most k distinct units within the word limits,
    in a random order, and how many units fitted the limits in all."""
    rng = random.Random(seed)
    reservoir: list[str] = []
    seen = 0
    files = files_of(label, paths)
    for path in files:
        for text in units_of(lines_of(path, label, encoding), unit):
            if not min_words <= len(text.split()) <= max_words:
                continue
            seen += 1
            if len(reservoir) < k:
                reservoir.append(text)
            else:
                j = rng.randrange(seen)
                if j < k:
                    reservoir[j] = text
    distinct = list(dict.fromkeys(reservoir))
    rng.shuffle(distinct)
    return distinct, seen
