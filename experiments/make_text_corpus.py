"""How the `text` environment's shipped corpus was made (kept for provenance; not run by ilm).

The two excerpts come from public-domain texts packaged for the dictd dictionary server:
The Devil's Dictionary (Ambrose Bierce, 1911; Debian package dict-devil) and The Jargon
File 4.4.7 (2003; Debian package dict-jargon). This keeps the prose of each entry (the
definitions), drops headwords, pronunciations and verse, and stops near `--chars` per book.

    python experiments/make_text_corpus.py devil.dict jargon.dict plugins/ilm_plugins/environments/corpus
"""

from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path

HEADWORD = re.compile(r"^[A-Z][A-Z' .-]*[A-Z.],\s+(?:[a-z]+\.\s*)+")


def paragraphs(text: str) -> list[list[str]]:
    return [block.split("\n") for block in re.split(r"\n\s*\n", text)]


def devil(text: str) -> list[str]:
    start = text.index("\nABASEMENT, ")  # after the licence header and the preface
    out = []
    for lines in paragraphs(text[start:]):
        if not lines[0] or lines[0].startswith(" "):  # verse and quotations are indented
            continue
        prose = " ".join(line.strip() for line in lines)
        prose = HEADWORD.sub("", prose).strip()
        if len(prose.split()) >= 6:
            out.append(prose)
    return out


def jargon(text: str) -> list[str]:
    start = text.index("\n(TM)")
    out = []
    for lines in paragraphs(text[start:]):
        if not all(line.startswith("    ") for line in lines):  # headwords and pronunciations
            continue
        prose = " ".join(line.strip() for line in lines)
        prose = re.sub(r"\{\s*([^}]*)\}", r"\1", prose)  # cross-reference braces
        prose = re.sub(r"^\[[^\]]*\]\s*", "", prose)  # a leading [etymology or origin]
        prose = re.sub(r"^\d+\.\s+", "", prose)  # sense numbers
        if len(prose.split()) >= 6 and not prose.startswith("["):
            out.append(" ".join(prose.split()))
    return out


def write(path: Path, title: str, entries: list[str], chars: int) -> None:
    kept, size = [], 0
    for prose in entries:
        if size > chars:
            break
        kept.append(textwrap.fill(prose, 78))
        size += len(prose)
    path.write_text("\n\n".join(kept) + "\n", encoding="utf-8")
    print(f"{path}: {len(kept)} paragraphs, {path.stat().st_size} bytes ({title})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("devil_dict", type=Path, help="devil.dict of the Debian package dict-devil")
    parser.add_argument("jargon_dict", type=Path, help="jargon.dict of the Debian package dict-jargon")
    parser.add_argument("out", type=Path, help="the folder to write the two books into")
    parser.add_argument("--chars", type=int, default=160_000, help="stop near this many characters per book")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.out / "devils-dictionary.txt", "Bierce", devil(args.devil_dict.read_text(encoding="utf-8")), args.chars)
    write(args.out / "jargon-file.txt", "Jargon File", jargon(args.jargon_dict.read_text(encoding="utf-8")), args.chars)


if __name__ == "__main__":
    main()
