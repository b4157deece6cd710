"""The judge: its split, its gating, its near-copy rule, its weights and its protocol."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from minigan.data import CHARSET_62
from minigan.metrics.judge import (GROUPS, HELD, NEAR_COPY, NUM_WRITERS, Judge, character_groups,
                                   copy_scores, gain, held_back, held_back_mask, load_judge,
                                   near_copy_share, writer_group)


# ---------------------------------------------------------------- the split

def test_every_writer_holds_back_one_fixed_group_of_ten_characters():
    groups = character_groups()
    assert len(groups) == GROUPS and all(len(g) == HELD for g in groups)
    assert len(set("".join(groups))) == GROUPS * HELD                     # disjoint
    assert character_groups() == groups                                   # fixed by the seed
    counts = np.bincount([writer_group(w) for w in range(NUM_WRITERS)], minlength=GROUPS)
    assert counts.min() >= NUM_WRITERS // GROUPS                           # balanced
    assert held_back(40) in groups
    mask = held_back_mask(np.array([40, 40]), np.array([CHARSET_62.index(held_back(40)[0]),
                                                        CHARSET_62.index(next(c for c in CHARSET_62 if c not in held_back(40)))]))
    assert mask.tolist() == [True, False]
    with pytest.raises(ValueError, match="0-54"):
        writer_group(55)


# ---------------------------------------------------------------- a planted judge

def _glyph(writer: int, label: int) -> np.ndarray:
    """A stand-in glyph whose first two pixels say who wrote it and what it reads as."""
    g = np.zeros((28, 28), np.uint8)
    g[0, 0], g[0, 1] = writer, label
    return g


class _Planted:
    """Duck-typed FeatureNet: the writer net is sure of pixel (0, 0), the char net reads (0, 1)."""

    def __init__(self, classes, pixel, charset=CHARSET_62):
        self.net = SimpleNamespace(classes=classes)
        self.charset, self.pixel = charset, pixel

    def logits(self, images):
        out = np.zeros((len(images), self.net.classes), np.float32)
        out[np.arange(len(images)), images[:, 0, self.pixel]] = 5.0
        return out

    def predict(self, images):
        return self.logits(images).argmax(1)


@pytest.fixture
def planted():
    return Judge(_Planted(NUM_WRITERS, 0), _Planted(62, 1))


def test_a_writers_own_glyphs_beat_another_writers(planted):
    chars = "abcdefghij"
    labels = [CHARSET_62.index(c) for c in chars]
    own = planted.score(np.stack([_glyph(7, c) for c in labels]), chars, 7)
    other = planted.score(np.stack([_glyph(8, c) for c in labels]), chars, 7)
    assert own.rank == 1 and other.rank == 2
    assert own.prob > 0.7 and other.prob < 0.01
    assert gain(own.prob, other.prob, own.prob) == pytest.approx(1.0)
    assert gain(other.prob, other.prob, own.prob) == pytest.approx(0.0)
    half = planted.score(np.stack([_glyph(7 if i < 5 else 8, c) for i, c in enumerate(labels)]), chars, 7)
    assert gain(half.prob, other.prob, own.prob) == pytest.approx(
        (half.prob - other.prob) / (own.prob - other.prob))
    assert 0.0 < gain(half.prob, other.prob, own.prob) < 1.0


def test_a_misread_glyph_adds_no_evidence(planted):
    # Three glyphs by writer 7, read right; two by writer 8, misread: 8 gets no say.
    chars = "abcde"
    images = np.stack([_glyph(7, CHARSET_62.index("a")), _glyph(7, CHARSET_62.index("b")),
                       _glyph(7, CHARSET_62.index("c")), _glyph(8, CHARSET_62.index("x")),
                       _glyph(8, CHARSET_62.index("y"))])
    assert planted.readable(images, chars).tolist() == [True, True, True, False, False]
    v = planted.score(images, chars, 8)
    assert v.readable == 3 and v.rank > 1 and v.prob < 0.01


def test_case_is_folded_when_reading():
    judge = Judge(_Planted(NUM_WRITERS, 0), _Planted(62, 1))
    assert judge.readable(np.stack([_glyph(0, CHARSET_62.index("O"))]), "o").tolist() == [True]
    assert judge.readable(np.stack([_glyph(0, CHARSET_62.index("0"))]), "o").tolist() == [False]


def test_a_sample_with_no_readable_glyph_is_a_failure(planted):
    images = np.stack([_glyph(3, CHARSET_62.index("z"))] * 4)
    v = planted.score(images, "abcd", 3)
    assert v.readable == 0 and v.prob == 0.0 and v.rank == NUM_WRITERS


def test_gain_needs_a_ceiling_above_the_floor():
    with pytest.raises(ValueError, match="not above the floor"):
        gain(0.3, 0.5, 0.5)


# ---------------------------------------------------------------- near-copies

def _ring(r=7, cx=14, cy=14):
    yy, xx = np.mgrid[0:28, 0:28]
    return (np.abs(np.hypot(yy - cy, xx - cx) - r) < 1.5).astype(np.uint8) * 255


def _bar():
    g = np.zeros((28, 28), np.uint8)
    g[4:24, 12:16] = 255
    return g


def test_near_copies_are_found_after_a_shift_and_different_glyphs_are_not():
    style = np.stack([_ring(), _bar()])
    copied = np.roll(_ring(), (2, -1), axis=(0, 1))                       # the ring, moved
    different = _ring(r=4)[None].repeat(1, 0)
    assert copy_scores(copied[None], style)[0] > 0.99
    assert copy_scores(different, style)[0] < NEAR_COPY
    assert near_copy_share(np.stack([copied, different[0]]), style) == 0.5


def test_copy_scores_handle_empty_sets():
    assert copy_scores(np.zeros((0, 28, 28), np.uint8), np.stack([_bar()])).shape == (0,)


# ---------------------------------------------------------------- the shipped weights

def test_the_shipped_judge_loads_without_pickle():
    judge = load_judge()
    assert judge.writer_net.net.classes == NUM_WRITERS and judge.charset == CHARSET_62
    for net in (judge.writer_net, judge.char_net):
        assert "held" in net.meta["trained_on"] and net.meta["seed"] == 0
        assert net.meta["eval_set"].startswith("held-back glyphs of Chars74K writers 0-44")


@pytest.fixture
def chars74k(real_data):
    real_data("chars74k_hnd.npz")
    from minigan.data import load
    return load("chars74k")


def test_the_shipped_judge_reproduces_its_figures_and_never_saw_the_held_back_glyphs(chars74k):
    from minigan.metrics.judge import FLOOR_WRITERS, real_glyphs, summarise
    judge = load_judge()
    meta = judge.writer_net.meta
    ceiling = summarise(judge.verdicts([real_glyphs(chars74k, w, held_back(w)) for w in FLOOR_WRITERS],
                                       [held_back(w) for w in FLOOR_WRITERS], list(FLOOR_WRITERS)))
    assert ceiling["top1"] == pytest.approx(meta["ten_glyph_gated_top1"], abs=1e-9)
    assert ceiling["prob"] == pytest.approx(meta["ten_glyph_prob"], abs=1e-4)
    trained = int(meta["trained_on"].rsplit(": ", 1)[1].split()[0])
    assert trained == len(chars74k) - NUM_WRITERS * HELD


def test_the_protocol_puts_the_writers_own_glyphs_at_one_and_anothers_at_zero(chars74k):
    from minigan.metrics.judge import FLOOR_WRITERS, judge_protocol, real_glyphs

    def own(glyphs, chars, held, samples):       # plants the writer's real held-back glyphs
        w = _whose(chars74k, glyphs)
        return [real_glyphs(chars74k, w, held)] * samples

    def anothers(glyphs, chars, held, samples):  # another writer of the same group
        w = _whose(chars74k, glyphs)
        v = next(v for v in FLOOR_WRITERS if v != w and writer_group(v) == writer_group(w))
        return [real_glyphs(chars74k, v, held)] * samples

    best = judge_protocol(own, chars74k, writers=[35, 36, 37], k=10)
    worst = judge_protocol(anothers, chars74k, writers=[35, 36, 37], k=10)
    assert best["gain"] == pytest.approx(1.0)
    assert worst["gain"] < 0.3 and best["gain_at_chance"] == worst["gain_at_chance"]
    assert 0 < best["gain_at_chance"] < 1
    assert best["method"]["near_copies"] == best["ceiling"]["near_copies"]
    assert best["char_accuracy_vs_real"] == pytest.approx(1.0)
    for w in (35, 36, 37):
        assert not set(best["held_back"][w]) & set(_given_chars(chars74k, w))


def _whose(ds, glyphs) -> int:
    """The writer whose real glyph the first given glyph is."""
    return int(ds.writers[np.flatnonzero((ds.images == glyphs[0]).all(axis=(1, 2)))[0]])


def _given_chars(ds, w):
    from minigan.metrics.judge import given_glyphs
    return given_glyphs(ds, w, None)[1]


# ---------------------------------------------------------------- evaluate's judge mode

@pytest.fixture(scope="module")
def tiny_62(tmp_path_factory):
    """A tiny untrained content-conditioned StyleGAN2 over 0-9 A-Z a-z."""
    from minigan.checkpoint import save_checkpoint
    from minigan.models import ModelConfig, build_models

    cfg = ModelConfig(model="stylegan2", res=16, z_dim=16, w_dim=16, mapping_layers=1,
                      conditioning="content", num_classes=62, charset=CHARSET_62,
                      g_channels={4: 8, 8: 8, 16: 8}, d_channels={16: 8, 8: 8, 4: 8})
    d = tmp_path_factory.mktemp("model62")
    G, _ = build_models(cfg)
    save_checkpoint(d / "checkpoint.npz", 0, {"model": cfg.to_dict()}, modules={"G_ema": G})
    return d


def test_evaluate_judges_the_real_glyphs_without_a_model(chars74k, tmp_path, capsys):
    from minigan.evaluate import main
    out = tmp_path / "e.json"
    assert main(["--metrics", "judge", "--writers", "35-36", "--out", str(out)]) == 0
    report = json.loads(out.read_text())["judge"]
    assert report["ceiling"]["n"] == 2 and report["floor"]["n"] > 2 and "method" not in report
    assert report["ceiling"]["prob"] > report["floor"]["prob"]
    assert "ceiling" in capsys.readouterr().out


def test_evaluate_judges_a_style_model_through_the_cli(chars74k, tiny_62, tmp_path, capsys):
    from minigan.evaluate import main
    out = tmp_path / "e.json"
    assert main(["--ckpt", str(tiny_62), "--metrics", "judge", "--writers", "35-36", "--judge-k", "5",
                 "--judge-samples", "2", "--style-steps", "1", "--tune-steps", "0",
                 "--out", str(out)]) == 0
    report = json.loads(out.read_text())["judge"]
    assert report["method"]["n"] == 4 and report["k"] == 5
    assert np.isfinite(report["gain"]) and 0 <= report["method"]["near_copies"] <= 1
    assert "gain" in capsys.readouterr().out


def test_evaluate_rejects_a_bad_k(capsys):
    from minigan.evaluate import main
    assert main(["--metrics", "judge", "--judge-k", "0"]) == 2
    assert "--judge-k" in capsys.readouterr().err


def test_writer_style_example_scores_and_pictures_the_dev_protocol(chars74k, tiny_62, tmp_path):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / "writer_style.py"
    spec = importlib.util.spec_from_file_location("writer_style", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, pic, draws = tmp_path / "r.json", tmp_path / "p.png", tmp_path / "d.npz"
    # Writers 40 and 41 hold back the same characters, so with K = all they are given the
    # same characters: their kept draws must still be their own.
    assert held_back(40) == held_back(41)
    args = ["--ckpt", str(tiny_62), "--writers", "40-41", "--k", "all", "--samples", "2", "--steps", "1",
            "--tune-steps", "0", "--out", str(out), "--picture", str(pic), "--draws", str(draws)]
    assert module.main(args) == 0
    first = json.loads(out.read_text())
    assert first["method"]["n"] == 4 and "top1" in first["old_metric"]["method"]
    assert first["settings"]["lean_prior"] == 0.0                          # write's plain median
    assert pic.is_file()
    with np.load(draws) as z:
        assert len(z.files) == 3                                           # settings + 2 writers
    assert module.main(args) == 0                                          # from the kept draws
    assert json.loads(out.read_text())["method"] == first["method"]
    # Two methods compared writer by writer from their kept draws: the same draws differ by
    # nothing, and each method's gain is the protocol's own figure.
    spec = importlib.util.spec_from_file_location("compare_styles", path.parent / "compare_styles.py")
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    other = tmp_path / "e.npz"
    assert module.main(args[:-1] + [str(other), "--without-tone"]) == 0
    report = tmp_path / "c.json"
    assert compare.main([str(draws), str(other), "--writers", "40-41", "--boot", "200",
                         "--json", str(report)]) == 0
    c = json.loads(report.read_text())                  # float32 probabilities, summed in another order
    assert c["gain_a"] == pytest.approx(first["gain"], abs=1e-6)
    assert c["gain_b"] == pytest.approx(json.loads(out.read_text())["gain"], abs=1e-6)
    assert c["gain_b_minus_a"] == pytest.approx(c["gain_b"] - c["gain_a"], abs=1e-9)
    assert compare.main([str(draws), str(draws), "--writers", "40-41", "--boot", "200",
                         "--json", str(report)]) == 0
    same = json.loads(report.read_text())
    assert same["gain_b_minus_a"] == 0 and same["median_b_minus_a"] == 0
    assert same["b_better_writers"] == same["b_worse_writers"] == 0 and same["sign_test_p"] == 1.0
    assert compare.sign_test(9, 1) == pytest.approx(22 / 1024)      # 2 x (1 + 10) / 2^10
    assert compare.sign_test(14, 6) == pytest.approx(0.1153, abs=1e-4)
    assert compare.main([str(draws), str(draws), "--writers", "40-41", "--boot", "200",
                         "--lean-from", "chars74k@0-4", "--json", str(report)]) == 0
    lean = json.loads(report.read_text())["lean_error"]                 # the same draws lean alike
    assert lean["from"] == "chars74k@0-4" and 0 < lean["a"] == lean["b"] < 1
    assert lean["b_closer_writers"] == 0
    # Folds pooled: the same two writers given as two one-writer folds score as one fold does.
    assert compare.main([str(draws), str(other), "--writers", "40-41", "--json", str(report)]) == 0
    one = json.loads(report.read_text())
    assert compare.main([f"{draws},{draws}", f"{other},{other}", "--writers", "40-40,41-41",
                         "--json", str(report)]) == 0
    pooled = json.loads(report.read_text())
    for key in ("gain_a", "gain_b", "gain_b_minus_a", "interval_5_95", "per_writer_gain_b"):
        assert pooled[key] == pytest.approx(one[key], abs=1e-9), key
    pic = tmp_path / "c.png"
    assert compare.main([str(draws), str(other), "--writers", "40-41", "--picture", str(pic),
                         "--picture-writers", "41"]) == 0
    assert pic.is_file()
    with pytest.raises(SystemExit, match="not among --writers"):
        compare.main([str(draws), str(other), "--writers", "40-41", "--picture-writers", "39"])
    with pytest.raises(SystemExit, match="one of each per fold"):
        compare.main([f"{draws},{draws}", str(other), "--writers", "40-40,41-41"])
    with pytest.raises(SystemExit):                                        # no fit is started
        module.main(args[:-2] + ["--lean-prior", "-1"])
