"""The `text` environment: real text split by domain, a tokenizer that sees only the teacher corpus,
disjoint data sets, the user's files and folders, and clear errors for bad text inputs."""

from __future__ import annotations

import json

import pytest
from conftest import TINY

from ilm_core import ConfigError
from ilm_plugins.environments import TextParams
from ilm_plugins.environments import text as text_module
from ilm_plugins.environments.text import TextEnvironment
from ilm_plugins.environments.textfiles import units_of

#: small sizes: a build takes a fraction of a second
SMALL = {"teacher_corpus_size": 60, "pool_size": 30, "exam_bank_size": 30, "heldout_size": 10, "exam_size": 5}
PARTS = ("teacher_corpus", "pool", "exam", "exam_bank", "heldout_exam")


def decoder(data):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(data.artifacts["tokenizer.json"])
    return lambda ids: tokenizer.decode(ids).strip()


@pytest.mark.parametrize("seed", [6639, 1007, 3])
def test_shipped_corpus_builds_disjoint_sets_of_two_domains(seed):
    data = TextEnvironment(TextParams(**SMALL)).build(seed)
    assert data.overlaps() == []
    for part in PARTS:
        sentences = [tuple(s) for s in getattr(data, part)]
        assert len(set(sentences)) == len(sentences), part
    assert data.exam_domain == "devils-dictionary"
    assert len(data.teacher_corpus) == 60 and len(data.pool) == 30 and sum(data.pool_in_exam_domain) == 15
    assert len(data.vocabulary) > 260  # byte alphabet plus learned merges
    assert data.minimal_pairs and data.heldout_minimal_pairs


def test_the_tokenizer_is_trained_on_the_teacher_corpus_only(monkeypatch):
    seen: list[str] = []
    train = text_module.train_tokenizer

    def spy(texts, size):
        seen.extend(texts)
        return train(texts, size)

    monkeypatch.setattr(text_module, "train_tokenizer", spy)
    data = TextEnvironment(TextParams(**SMALL)).build(7)
    decode = decoder(data)
    trained_on = set(seen)
    corpus = {decode(s) for s in data.teacher_corpus}
    assert corpus <= trained_on  # every corpus sentence, decoded back to its text
    for part in ("pool", "exam", "exam_bank", "heldout_exam"):
        texts = {decode(s) for s in getattr(data, part)}
        assert not texts & trained_on, part


def test_same_seed_same_data_and_tokenizer():
    env = TextEnvironment(TextParams(**SMALL))
    a, b = env.build(5), env.build(5)
    assert a == b
    assert env.build(6).exam != a.exam


def write_domains(tmp_path, n=80):
    """Two tiny domains of numbered sentences, each easy to tell apart by its words."""
    cooking = tmp_path / "cooking"
    cooking.mkdir()
    for part in range(2):  # a folder of two files
        (cooking / f"part{part}.txt").write_text(
            "\n\n".join(f"Stir the soup {i} times with butter and salt. Bake bread number {i} slowly." for i in
                        range(part * n, (part + 1) * n)), encoding="utf-8"
        )  # fmt: skip
    sailing = tmp_path / "sailing.txt"
    sailing.write_text("\n".join(f"Hoist sail {i} and steer the ketch windward now." for i in range(2 * n)))
    return {"cooking": [str(cooking)], "sailing": [str(sailing)]}


def test_user_sources_folders_exam_domain_units_and_limits(tmp_path):
    sources = write_domains(tmp_path)
    params = TextParams(**SMALL, sources=sources, exam_domain="sailing", unit="line", min_words=3, max_words=16)
    data = TextEnvironment(params).build(1)
    decode = decoder(data)
    assert data.exam_domain == "sailing" and data.overlaps() == []
    assert all("sail" in decode(s) for s in data.exam + data.heldout_exam)
    for sentence, inside in zip(data.pool, data.pool_in_exam_domain, strict=True):
        assert ("sail" in decode(sentence)) == inside
    # sentence splitting: the cooking paragraphs hold two sentences each
    cooking = TextEnvironment(TextParams(**SMALL, sources=sources, min_words=3, max_words=12)).build(1)
    texts = [decoder(cooking)(s) for s in cooking.exam]
    assert all(t.startswith(("Stir", "Bake")) and t.count(".") == 1 for t in texts)
    # the length limits and max_tokens drop sentences: nothing fits 20+ words
    with pytest.raises(ConfigError, match="cooking"):
        TextEnvironment(TextParams(**SMALL, sources=sources, min_words=20, max_words=30)).build(1)


def test_sentence_splitting_is_streamed_by_paragraph():
    lines = iter(["The cat sat. It was\n", "happy! Was it? Yes.\n", "\n", "A new paragraph\n"])
    assert list(units_of(lines, "sentence")) == ["The cat sat.", "It was happy!", "Was it?", "Yes.", "A new paragraph"]


def test_blimp_files_give_the_pairs(tmp_path):
    sources = write_domains(tmp_path)
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"sentence_good": f"Hoist the sail {i} now", "sentence_bad": f"Hoist sail the {i} now", "UID": "order"}
        for i in range(20)
    ] + [{"sentence_good": "Steer the ketch", "sentence_bad": "Steer the ketchs", "field": "morphology"}]
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    params = TextParams(
        **SMALL, sources=sources, exam_domain="sailing", unit="line", min_words=3, minimal_pairs=[str(pairs)]
    )
    data = TextEnvironment(params).build(2)
    got = data.minimal_pairs + data.heldout_minimal_pairs
    assert len(got) == 21 and {p.phenomenon for p in got} == {"order", "morphology"}
    assert len(data.heldout_minimal_pairs) == round(21 * 0.2)
    assert data.overlaps() == []


def bad_run(cli, tmp_path, *sets):
    args = [a for s in sets for a in ("--set", s)]
    return cli("run", "--env", "text", *TINY, *args, "--out", str(tmp_path / "run"))


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "is empty"),
        (b"   \n\n  ", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "looks binary"),
        ("Caf\u00e9 au lait is served. ".encode("latin-1") * 50, "is not utf-8 text"),
    ],
)
def test_bad_text_files_exit_2_with_one_paragraph(cli, tmp_path, content, expected):
    sources = write_domains(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    code, _, err = bad_run(
        cli, tmp_path, f"environment.sources={json.dumps({'cooking': sources['cooking'], 'odd': [str(bad)]})}"
    )
    assert code == 2, err
    assert expected in err and "bad.txt" in err and "sources.odd" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "setting, expected",
    [
        ('environment.sources={"a": ["/nonexistent/file.txt"], "b": ["/nonexistent/b"]}', "does not exist"),
        ('environment.sources={"only": ["x.txt"]}', "at least two"),
        ("environment.exam_domain=poetry", "exam_domain"),
        ("environment.encoding=klingon-8", "encoding"),
    ],
)
def test_bad_text_params_exit_2(cli, tmp_path, setting, expected):
    code, _, err = bad_run(cli, tmp_path, setting)
    assert code == 2 and expected in err and "Traceback" not in err


def test_a_run_saves_the_tokenizer_in_the_run_directory(cli, tmp_path):
    out = tmp_path / "run"
    sizes = [f"environment.{k}={v}" for k, v in SMALL.items() if k not in ("exam_bank_size", "heldout_size")]
    code, _, err = cli("run", "--env", "text", *TINY, *(a for s in sizes for a in ("--set", s)), "--out", str(out))
    assert code == 0, err
    saved = json.loads((out / "environment" / "tokenizer.json").read_text())
    assert saved["model"]["type"] == "BPE"
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 3 and records[0]["heldout_perplexity_mean"] > 1


def test_big_files_are_sampled_not_kept_whole(tmp_path):
    from ilm_plugins.environments.textfiles import sample_units

    big = tmp_path / "big.txt"
    with big.open("w") as handle:
        for i in range(20_000):
            handle.write(f"Line number {i} says something short.\n")
    sample, fitted = sample_units("big", [str(big)], "line", "utf-8", 3, 10, k=50, seed=1)
    assert fitted == 20_000 and len(sample) == 50  # every line counted, 50 kept
    numbers = sorted(int(s.split()[2]) for s in sample)
    assert numbers[-1] > 10_000  # a uniform sample, not the head of the file
    assert sample == sample_units("big", [str(big)], "line", "utf-8", 3, 10, k=50, seed=1)[0]


@pytest.fixture
def no_tokenizers(monkeypatch):
    """Make `tokenizers` look uninstalled to every `importlib.util.find_spec` check."""
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name.split(".")[0] == "tokenizers" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_without_its_tokenizer_the_text_environment_is_listed_unavailable_and_refused_with_the_extra(
    no_tokenizers, cli, tmp_path
):
    from ilm_plugins.environments import TEXT_INSTALL_HINT

    code, out, _ = cli("plugins", "--json")
    assert code == 0
    rows = {(r["kind"], r["name"]): r for r in json.loads(out)}
    assert rows["environment", "text"]["status"] == "unavailable"
    assert rows["environment", "text"]["install"] == TEXT_INSTALL_HINT
    assert rows["environment", "domains"]["status"] != "unavailable"  # the core and Task 1 need no tokenizer
    code, _, err = cli("run", "--env", "text", *TINY, "--out", str(tmp_path / "run"))
    assert code == 2 and "Traceback" not in err
    assert "tokenizers" in err and TEXT_INSTALL_HINT in " ".join(err.split())
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
