"""The `fairseq-lm` student and the fairseq teacher LM.

The "unavailable" and start-up tests always run (fairseq is an optional extra); the ones that
train fairseq's model skip with a reason when fairseq is not importable.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import pytest
from conftest import TINY

import ilm_plugins.fairseq_lm as fairseq_lm
from ilm_core import ConfigError, TeacherContext
from ilm_core.cli import plugins_cmd, run_cmd
from ilm_core.registry import Registry
from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment
from ilm_plugins.exams import PerplexityParams
from ilm_plugins.exams.perplexity import PerplexityExam
from ilm_plugins.fairseq_lm import INSTALL_HINT, FairseqLMParams
from ilm_plugins.students import TransformerLMParams
from ilm_plugins.teachers import SelectBinParams

HAVE_FAIRSEQ = importlib.util.find_spec("fairseq") is not None
needs_fairseq = pytest.mark.skipif(not HAVE_FAIRSEQ, reason=f"fairseq is not installed ({INSTALL_HINT})")


def fq_registry() -> Registry:
    """The installed plugins, plus `fairseq-lm` registered in-process if no entry point names it."""
    reg = Registry()
    reg.load_entry_points()
    if "fairseq-lm" not in reg.specs("student"):
        reg.register(fairseq_lm, name="ilm-fairseq-lm", distribution="ilm")
    return reg


@pytest.fixture
def fq_cli(cli, monkeypatch):
    """`ilm ARGS` in-process against `fq_registry()`."""
    reg = fq_registry()
    monkeypatch.setattr(plugins_cmd, "default_registry", lambda: reg)
    monkeypatch.setattr(run_cmd, "default_registry", lambda: reg)
    return cli


@pytest.fixture
def no_fairseq(monkeypatch):
    """Make fairseq look uninstalled to every `importlib.util.find_spec` check."""
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "fairseq" or name.startswith("fairseq.") else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


# -- always: the record, the params, the plugin without its extra ------------------------------
def test_record_and_presets():
    spec = fq_registry().get("student", "fairseq-lm")
    assert spec.requires == ("fairseq",) and spec.install_hint == INSTALL_HINT
    assert "batched" in spec.capabilities  # several students as one: fairseq's module under vmap
    assert set(spec.roadmap) == {"student.speaking.standard-lm", "student.data.use-all"}
    paper = FairseqLMParams(preset="paper").architecture()
    assert (paper["layers"], paper["dim"], paper["heads"], paper["ffn"], paper["dropout"]) == (6, 512, 8, 2048, 0.1)
    tiny = FairseqLMParams().architecture()  # tiny is the default: the CPU is the default device
    native = TransformerLMParams()
    assert (tiny["layers"], tiny["dim"], tiny["heads"], tiny["ffn"], tiny["dropout"]) == (
        native.layers,
        native.dim,
        native.heads,
        native.ffn,
        native.dropout,
    )
    assert FairseqLMParams(preset="paper", layers=2, dropout=0.0).architecture()["layers"] == 2
    with pytest.raises(ValueError, match="divisible"):
        FairseqLMParams(dim=64, heads=5)


def test_recipe_defaults_are_the_native_students():
    ours, native = FairseqLMParams(), TransformerLMParams()
    for name, value in ours.recipe().items():
        assert value == getattr(native, name), name
    assert ours.max_len == native.max_len


def test_listed_unavailable_with_install_hint(no_fairseq, fq_cli):
    code, out, _ = fq_cli("plugins", "--json")
    assert code == 0
    row = next(r for r in json.loads(out) if r["name"] == "fairseq-lm")
    assert row["status"] == "unavailable" and row["install"] == INSTALL_HINT


def test_run_exits_2_with_install_hint(no_fairseq, fq_cli, tmp_path):
    code, _, err = fq_cli("run", "--student", "fairseq-lm", *TINY, "--out", str(tmp_path / "run"))
    assert code == 2
    assert "fairseq" in err and INSTALL_HINT in " ".join(err.split())


def test_teacher_lm_fairseq_without_fairseq_is_a_config_error(no_fairseq):
    from ilm_plugins.fairseq_lm.teacher_lm import pool_features

    context = TeacherContext(
        vocabulary=list("ab"),
        teacher_corpus=[[0, 1]],
        pool=[[1]],
        budget=1,
        n_students=1,
        seed=0,
    )
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[fairseq\]'"):
        pool_features(context, SelectBinParams(lm="fairseq"))


def test_listing_plugins_does_not_import_fairseq():
    code = (
        "import sys\n"
        "from ilm_core.registry import default_registry\n"
        "import ilm_plugins.fairseq_lm as m\n"
        "reg = default_registry()\n"
        "if 'fairseq-lm' not in reg.specs('student'): reg.register(m, name='ilm-fairseq-lm')\n"
        "specs = reg.all_specs()\n"
        "assert any(s.name == 'fairseq-lm' for s in specs)\n"
        "[s.missing_requirements() for s in specs]\n"
        "assert 'fairseq' not in sys.modules, 'listing plugins imported fairseq'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# -- with fairseq: fairseq's own model, trained and scored ------------------------------------
@pytest.fixture(scope="module")
def task1():
    data = DomainsEnvironment(DomainsParams()).build(6639)
    oracle = [s for s, good in zip(data.pool, data.pool_in_exam_domain, strict=True) if good]
    worst = [s for s, good in zip(data.pool, data.pool_in_exam_domain, strict=True) if not good]
    return data, oracle, worst


def exam_perplexity(params: FairseqLMParams, lessons, seeds, data) -> list[float]:
    from ilm_plugins.fairseq_lm.student import FairseqLMStudent

    trained = FairseqLMStudent(params).train(lessons, seeds, len(data.vocabulary), "cpu")
    assert all(math.isfinite(x) for x in trained.final_losses) or params.updates == 0
    return [r.perplexity for r in PerplexityExam(PerplexityParams(feedback="fixed")).score(trained, data.exam)]


@needs_fairseq
def test_tiny_student_learns_from_oracle_lessons(task1):
    data, oracle, worst = task1
    seeds = [11, 12, 13]
    taught = [oracle[10 * i : 10 * i + 10] for i in range(3)]
    bad = [worst[10 * i : 10 * i + 10] for i in range(3)]
    trained = exam_perplexity(FairseqLMParams(updates=40), taught, seeds, data)
    untrained = exam_perplexity(FairseqLMParams(updates=0), taught, seeds, data)
    worst_case = exam_perplexity(FairseqLMParams(updates=40), bad, seeds, data)
    mean = sum(trained) / 3
    assert mean < sum(untrained) / 3
    assert mean < sum(worst_case) / 3
    assert all(t < u for t, u in zip(trained, untrained, strict=True))


@needs_fairseq
def test_students_are_seeded_by_their_own_seed(task1):
    data, oracle, _ = task1
    from ilm_plugins.fairseq_lm.student import FairseqLMStudent

    student = FairseqLMStudent(FairseqLMParams(updates=3, dropout=0.1))
    lesson = oracle[:10]
    alone = student.train([lesson], [5], len(data.vocabulary), "cpu").sentence_nll(data.exam)[0][0]
    together = student.train([oracle[10:20], lesson], [4, 5], len(data.vocabulary), "cpu").sentence_nll(data.exam)[0]
    assert together[1] == pytest.approx(alone, rel=1e-5)
    assert together[0] != pytest.approx(alone, rel=1e-3)


@needs_fairseq
def test_sentence_nll_counts_the_end_of_sentence(task1):
    data, oracle, _ = task1
    from ilm_plugins.fairseq_lm.student import FairseqLMStudent

    trained = FairseqLMStudent(FairseqLMParams(updates=0)).train([oracle[:2]], [0], len(data.vocabulary), "cpu")
    nll, ntokens = trained.sentence_nll([[0, 1, 2], []])
    assert ntokens == [4, 1] and len(nll) == 1 and len(nll[0]) == 2
    assert all(v > 0 and math.isfinite(v) for v in nll[0])


@needs_fairseq
def test_paper_preset_is_fairseq_transformer_lm():
    from ilm_plugins.fairseq_lm.lm import FairseqLM

    lm = FairseqLM(FairseqLMParams(preset="paper").architecture(), vocab_size=20, max_len=64, seed=0)
    decoder = lm.model.decoder
    assert type(lm.model).__name__ == "TransformerLanguageModel"
    assert len(decoder.layers) == 6 and decoder.embed_tokens.embedding_dim == 512
    assert decoder.layers[0].fc1.out_features == 2048 and decoder.layers[0].self_attn.num_heads == 8
    assert lm.args.dropout == 0.1 and lm.args.decoder_normalize_before  # as --arch transformer_lm


@needs_fairseq
def test_select_bin_with_fairseq_students_and_teacher_lm(fq_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = fq_cli(
        "run",
        "--teacher",
        "select-bin",
        "--student",
        "fairseq-lm",
        *TINY,
        "--set",
        "teacher.lm=fairseq",
        "--out",
        str(out),
    )
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["student"]["name"] == "fairseq-lm" and config["teacher"]["params"]["lm"] == "fairseq"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 3


def test_teacher_lm_fairseq_run_exits_2_without_fairseq(no_fairseq, fq_cli, tmp_path):
    code, _, err = fq_cli(
        "run", "--teacher", "select-bin", *TINY, "--set", "teacher.lm=fairseq", "--out", str(tmp_path / "run")
    )
    assert code == 2
    assert "teacher.lm" in err and INSTALL_HINT in " ".join(err.split())


@needs_fairseq
def test_fairseq_students_persist_across_lessons(task1):
    """A fairseq student keeps its weights and AdamW state between lessons, and a saved one
    continues exactly as the original (what rounds and student_lifetime = run need)."""
    data, oracle, worst = task1
    from ilm_plugins.fairseq_lm.student import FairseqLMStudent

    student = FairseqLMStudent(FairseqLMParams(updates=3, dropout=0.1))
    vocab = len(data.vocabulary)
    first, second = [oracle[:5], worst[:5]], [oracle[5:10], worst[5:10]]
    kept = student.create([7, 8], vocab, "cpu")
    kept.train(first)
    saved = kept.state_dict()
    kept.train(second)
    restored = student.create([7, 8], vocab, "cpu")
    restored.load_state_dict(saved)
    restored.train(second)
    assert restored.sentence_nll(data.exam)[0] == kept.sentence_nll(data.exam)[0]
    fresh = student.create([7, 8], vocab, "cpu")
    fresh.train(second)
    assert fresh.sentence_nll(data.exam)[0][0] != pytest.approx(kept.sentence_nll(data.exam)[0][0], rel=1e-4)
    assert kept.lms[0].opt.state_dict()["state"][0]["step"] == 6  # one AdamW through both lessons


@needs_fairseq
def test_a_group_without_dropout_trains_as_one_and_matches_each_student_alone(task1):
    """The batched path: fairseq's module under vmap gives each student what it gets alone (up to
    summation order), continues across lessons, and resumes from a saved state exactly."""
    data, oracle, worst = task1
    from ilm_plugins.fairseq_lm.batched import VmappedStudents
    from ilm_plugins.fairseq_lm.student import FairseqLMStudent

    vocab = len(data.vocabulary)
    for batch_size in (None, 3):
        student = FairseqLMStudent(FairseqLMParams(updates=4, batch_size=batch_size))
        first, second = [oracle[:6], worst[:4], oracle[6:10]], [worst[4:9], oracle[10:13], worst[9:15]]
        group = student.create([7, 8, 9], vocab, "cpu")
        assert isinstance(group, VmappedStudents)
        group.train(first)
        saved = group.state_dict()
        group.train(second)
        nll, tokens = group.sentence_nll(data.exam)
        assert tokens == [len(s) + 1 for s in data.exam]
        for i, seed in enumerate([7, 8, 9]):
            alone = student.create([seed], vocab, "cpu")
            alone.train([first[i]])
            alone.train([second[i]])
            assert group.final_losses[i] == pytest.approx(alone.final_losses[0], rel=1e-2)
            assert nll[i] == pytest.approx(alone.sentence_nll(data.exam)[0][0], rel=1e-2)
        restored = student.create([7, 8, 9], vocab, "cpu")
        restored.load_state_dict(saved)
        restored.train(second)
        assert restored.sentence_nll(data.exam)[0] == nll
    with_dropout = FairseqLMStudent(FairseqLMParams(updates=1, dropout=0.1)).create([7, 8], vocab, "cpu")
    assert not isinstance(with_dropout, VmappedStudents)  # each student its own seeded dropout draws
