"""Bad input through the real command lines: every case ends in a non-zero exit, one clear line
on stderr, no traceback and no output left behind; legitimate input does what it says.

Cases run `python -m minigan.<job>` (or its main(argv), see SUBPROCESS) on tiny files made here.
"""
import importlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minigan.backend import cuda_available
from minigan.checkpoint import load_checkpoint, save_checkpoint
from minigan.models import ModelConfig, build_models
from minigan.train import TrainConfig, Trainer

TINY = dict(z_dim=16, w_dim=16, mapping_layers=1, num_classes=4, charset="abcd",
            g_channels={4: 16, 8: 12, 16: 8}, d_channels={16: 8, 8: 12, 4: 16})
ENV = dict(os.environ, NUMBA_NUM_THREADS="1", PYTHONWARNINGS="ignore")


def cli(job, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", f"minigan.{job}", *map(str, args)],
                          capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300)


def assert_clean_failure(result, pattern, code=2, outputs=()):
    """Exit `code`, stderr exactly one line matching `pattern`, no traceback, no outputs."""
    err = result.stderr.strip()
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert len(err.splitlines()) == 1, err
    assert re.search(pattern, err), err
    for path in outputs:
        path = Path(path)
        assert not path.exists(), path
        if path.parent.is_dir():
            assert not list(path.parent.glob(f".{path.name}.*.tmp")), path


def _glyphs(n=8, seed=0) -> np.ndarray:
    """uint8 [n, 28, 28] white strokes on black."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    for img in images:
        r, c = rng.integers(6, 14, 2)
        img[r:r + 10, c:c + 3] = 255
        img[r:r + 3, c:c + 8] = 255
    return images


def _png_claiming(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's header)."""
    Image.new("L", (2, 2)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8                                  # signature, then the IHDR length and type
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4:ihdr + 13]))
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))


def _rewrite_checkpoint(src: Path, dst: Path, change) -> Path:
    """Copy a checkpoint's arrays and metadata through change(arrays, meta)."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    change(arrays, meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(dst, **arrays)
    return dst


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """Tiny checkpoints (StyleGAN2, StyleGAN, CondGAN), glyph sets and damaged files."""
    d = tmp_path_factory.mktemp("bad_input")
    f = {"dir": d}
    glyphs = _glyphs()
    labels = np.arange(8) % 4
    f["glyphs"] = d / "glyphs.npz"
    np.savez(f["glyphs"], images=glyphs, labels=labels, charset=np.array("abcd"))

    data = ((glyphs[:, None, 6:22, 6:22] / 127.5 - 1).astype(np.float32), labels, None, "abcd")
    tc = asdict(TrainConfig(data=str(f["glyphs"]), batch=4, r1_interval=2))
    trainer = Trainer(ModelConfig(model="stylegan2", res=16, **TINY), TrainConfig(**tc), data)
    trainer.step()                                       # a trained checkpoint, if briefly
    f["sg2"] = d / "sg2.npz"
    trainer.save(f["sg2"])
    for name, cfg in (("sg1", ModelConfig(model="stylegan", res=16, **TINY)),
                      ("condgan", ModelConfig(model="condgan", res=16, conditioning="none",
                                              num_writers=2, **TINY))):
        G, D = build_models(cfg)
        f[name] = save_checkpoint(d / f"{name}.npz", 0, {"model": cfg.to_dict(), "train": tc},
                                  modules={"G": G, "D": D, "G_ema": G})

    def nan_weights(arrays, meta):
        key = next(k for k in arrays if k.startswith("module/G_ema/") and arrays[k].ndim == 2)
        arrays[key] = np.full_like(arrays[key], np.nan)

    def no_weight(arrays, meta):
        del arrays[next(k for k in arrays if k.startswith("module/G_ema/"))]

    def no_model(arrays, meta):
        del meta["config"]["model"]

    def other_model(arrays, meta):
        meta["config"]["model"]["model"] = "condgan"

    def no_channels(arrays, meta):
        meta["config"]["model"].pop("g_channels")

    for name, change in (("nan_ckpt", nan_weights), ("no_weight", no_weight),
                         ("no_model", no_model), ("other_model", other_model),
                         ("no_channels", no_channels)):
        f[name] = _rewrite_checkpoint(f["sg2"], d / f"{name}.npz", change)

    f["junk"] = d / "junk.npz"
    f["junk"].write_bytes(np.random.default_rng(0).bytes(3000))
    f["nan_glyphs"] = d / "nan_glyphs.npz"
    nan = glyphs / 255.0
    nan[0, 3, 3] = np.nan
    np.savez(f["nan_glyphs"], images=nan, labels=labels, charset=np.array("abcd"))
    f["big_values"] = d / "big_values.npz"
    np.savez(f["big_values"], images=glyphs.astype(np.float32) * 4, labels=labels,
             charset=np.array("abcd"))
    f["bad_labels"] = d / "bad_labels.npz"
    np.savez(f["bad_labels"], images=glyphs, labels=labels + 7, charset=np.array("abcd"))
    f["frac_labels"] = d / "frac_labels.npz"
    np.savez(f["frac_labels"], images=glyphs, labels=labels + 0.5, charset=np.array("abcd"))
    f["shape4d"] = d / "shape4d.npz"
    np.savez(f["shape4d"], images=glyphs[:, None], labels=labels, charset=np.array("abcd"))
    f["pickled"] = d / "pickled.npz"
    np.savez(f["pickled"], images=np.array([{"a": 1}] * 8, dtype=object), labels=labels)
    f["bomb"] = d / "bomb.npz"                # declares 3 GiB of unpacked arrays in 4 KiB
    with zipfile.ZipFile(f["bomb"], "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("images.npy", b"\0" * 4096)
        archive.filelist[0].file_size = 3 * 1024 ** 3
    f["huge_png"] = d / "huge" / "a"
    f["huge_png"].mkdir(parents=True)
    _png_claiming(f["huge_png"] / "big.png", 14000, 14000)
    f["huge_png"] = d / "huge"
    (d / "large" / "a").mkdir(parents=True)
    _png_claiming(d / "large" / "a" / "big.png", 5000, 5000)
    f["large_png"] = d / "large"
    f["nan_style"] = d / "nan_style.npz"
    np.savez(f["nan_style"], ws=np.full((1, 6, 16), np.nan, np.float32),
             w_spread=np.float32(1.0), fitted_on=np.array("ab"))
    f["a_file"] = d / "a_file.txt"
    f["a_file"].write_text("not a folder")
    f["a_dir"] = d / "a_dir"
    f["a_dir"].mkdir()
    return f


# (id, job, arguments with {placeholders} from `files`, stderr pattern, outputs to stay absent)
CASES = [
    # train: options checked when parsed
    ("train-kimg-0", "train", "--kimg 0 --out {o}/r", r"--kimg: must be more than 0", ["{o}/r"]),
    ("train-kimg-neg", "train", "--kimg -5 --out {o}/r", r"--kimg", ["{o}/r"]),
    ("train-kimg-nan", "train", "--kimg nan --out {o}/r", r"--kimg: nan is not a finite",
     ["{o}/r"]),
    ("train-batch-0", "train", "--batch 0 --out {o}/r", r"--batch: must be at least 1", ["{o}/r"]),
    ("train-batch-neg", "train", "--batch -4 --out {o}/r", r"--batch", ["{o}/r"]),
    ("train-batch-huge", "train", "--batch 10000000 --out {o}/r", r"--batch: must be at most",
     ["{o}/r"]),
    ("train-r1-interval-0", "train", "--r1-interval 0 --out {o}/r", r"--r1-interval", ["{o}/r"]),
    ("train-lr-nan", "train", "--lr nan --out {o}/r", r"--lr", ["{o}/r"]),
    ("train-mode-seeking-neg", "train", "--mode-seeking -1 --out {o}/r", r"--mode-seeking",
     ["{o}/r"]),
    ("train-mode-seeking-nan", "train", "--mode-seeking nan --out {o}/r",
     r"--mode-seeking: nan is not a finite", ["{o}/r"]),
    ("train-hand-pairs-neg", "train", "--hand-pairs -1 --out {o}/r", r"--hand-pairs", ["{o}/r"]),
    ("train-hand-pairs-and-mode-seeking", "train",
     "--hand-pairs 1 --mode-seeking 0.1 --out {o}/r", r"--hand-pairs and --mode-seeking", ["{o}/r"]),
    ("train-lr-neg", "train", "--lr -0.1 --out {o}/r", r"--lr: must be more than 0", ["{o}/r"]),
    ("train-tick-0", "train", "--tick-kimg 0 --out {o}/r", r"--tick-kimg", ["{o}/r"]),
    ("train-seed-neg", "train", "--seed -1 --out {o}/r", r"--seed", ["{o}/r"]),
    ("train-batch-word", "train", "--batch four --out {o}/r", r"'four' is not a whole number",
     ["{o}/r"]),
    ("train-out-is-file", "train", "--out {a_file}", r"a_file.txt is a file, not a folder", []),
    ("train-out-under-file", "train", "--out {a_file}/run", r"is a file, so no folder", []),
    ("train-metrics-unknown", "train", "--metrics fid,is --data {glyphs} --out {o}/r",
     r"--metrics: unknown \['is'\]", ["{o}/r"]),
    # train: data checked where it is read
    ("train-data-nan", "train", "--data {nan_glyphs} --out {o}/r", r"nan_glyphs.npz: .*NaN",
     ["{o}/r"]),
    ("train-data-range", "train", "--data {big_values} --out {o}/r",
     r"big_values.npz: pixel values run from 0 to 1020", ["{o}/r"]),
    ("train-data-labels", "train", "--data {bad_labels} --out {o}/r",
     r"bad_labels.npz: labels span 7..10 but the charset has 4", ["{o}/r"]),
    ("train-data-fraction-labels", "train", "--data {frac_labels} --out {o}/r",
     r"labels must be whole numbers", ["{o}/r"]),
    ("train-data-4d", "train", "--data {shape4d} --out {o}/r", r"images must be \[N,H,W\]",
     ["{o}/r"]),
    ("train-data-junk", "train", "--data {junk} --out {o}/r", r"junk.npz: not an .npz archive",
     ["{o}/r"]),
    ("train-data-pickle", "train", "--data {pickled} --out {o}/r",
     r"pickled.npz: \['images'\] hold Python objects, which minigan never unpickles", ["{o}/r"]),
    ("train-data-bomb", "train", "--data {bomb} --out {o}/r", r"bomb.npz: unpacks to 3.0 GiB",
     ["{o}/r"]),
    ("train-data-missing", "train", "--data {dir}/nothing.npz --out {o}/r",
     r"nothing.npz: no such", ["{o}/r"]),
    ("train-resume-nothing", "train", "--resume --out {o}/r", r"cannot resume: .* does not exist",
     []),
    # generate
    ("generate-cols-0", "generate", "--ckpt {sg2} --cols 0 --out {o}/g.png",
     r"--cols: must be at least 1", ["{o}/g.png"]),
    ("generate-mix-rows-0", "generate", "--ckpt {sg2} --mix --rows 0 --out {o}/g.png", r"--rows",
     ["{o}/g.png"]),
    ("generate-n-0", "generate", "--ckpt {sg2} --n 0 --out {o}/g.png", r"--n", ["{o}/g.png"]),
    ("generate-n-huge", "generate", "--ckpt {sg2} --n 2000000000 --out {o}/g.png",
     r"--n: must be at most", ["{o}/g.png"]),
    ("generate-truncation-nan", "generate", "--ckpt {sg2} --truncation nan --out {o}/g.png",
     r"--truncation", ["{o}/g.png"]),
    ("generate-crossover", "generate", "--ckpt {sg2} --mix --crossover 99 --out {o}/g.png",
     r"--crossover must be in \[0, 6\]", ["{o}/g.png"]),
    ("generate-mix-condgan", "generate", "--ckpt {condgan} --mix --out {o}/g.png",
     r"--mix: style mixing needs", ["{o}/g.png"]),
    ("generate-unknown-chars", "generate", "--ckpt {sg2} --chars xyz --out {o}/g.png",
     r"cannot draw 'xyz'", ["{o}/g.png"]),
    ("generate-ckpt-missing", "generate", "--ckpt {dir}/none.npz --out {o}/g.png",
     r"none.npz does not exist", ["{o}/g.png"]),
    ("generate-ckpt-junk", "generate", "--ckpt {junk} --out {o}/g.png",
     r"junk.npz: not an .npz archive", ["{o}/g.png"]),
    ("generate-ckpt-nan", "generate", "--ckpt {nan_ckpt} --out {o}/g.png",
     r"nan_ckpt.npz: the weights of G_ema hold NaN", ["{o}/g.png"]),
    ("generate-ckpt-missing-weight", "generate", "--ckpt {no_weight} --out {o}/g.png",
     r"no_weight.npz: the weights of G_ema do not fit .*missing", ["{o}/g.png"]),
    ("generate-ckpt-no-model", "generate", "--ckpt {no_model} --out {o}/g.png",
     r"no_model.npz holds no model configuration", ["{o}/g.png"]),
    ("generate-ckpt-other-model", "generate", "--ckpt {other_model} --out {o}/g.png",
     r"other_model.npz: the weights of G_ema do not fit", ["{o}/g.png"]),
    ("generate-ckpt-missing-key", "generate", "--ckpt {no_channels} --out {o}/g.png",
     r"no_channels.npz: the weights of G_ema do not fit", ["{o}/g.png"]),
    ("generate-ckpt-glyphs", "generate", "--ckpt {glyphs} --out {o}/g.png",
     r"glyphs.npz has no readable metadata|glyphs.npz is not a minigan", ["{o}/g.png"]),
    ("generate-out-sys", "generate", "--ckpt {sg2} --out /sys/minigan-grid.png",
     r"/sys/minigan-grid.png: .*(denied|[Rr]ead-only|is not writable)", []),
    ("generate-out-txt", "generate", "--ckpt {sg2} --out {o}/g.txt", r"g.txt: name the picture",
     ["{o}/g.txt"]),
    ("generate-out-dir", "generate", "--ckpt {sg2} --out {a_dir}", r"a_dir is a folder", []),
    ("generate-out-under-file", "generate", "--ckpt {sg2} --out {a_file}/g.png",
     r"is a file, so no folder", []),
    # invert
    ("invert-lr-nan", "invert", "--ckpt {sg2} --glyphs {glyphs} --lr nan --out {o}/i.npz",
     r"--lr: nan is not a finite", ["{o}/i.npz"]),
    ("invert-lr-0", "invert", "--ckpt {sg2} --glyphs {glyphs} --lr 0 --out {o}/i.npz",
     r"--lr: must be more than 0", ["{o}/i.npz"]),
    ("invert-steps-0", "invert", "--ckpt {sg2} --glyphs {glyphs} --steps 0 --out {o}/i.npz",
     r"--steps", ["{o}/i.npz"]),
    ("invert-limit-0", "invert", "--ckpt {sg2} --glyphs {glyphs} --limit 0 --out {o}/i.npz",
     r"--limit", ["{o}/i.npz"]),
    ("invert-glyphs-nan", "invert", "--ckpt {sg2} --glyphs {nan_glyphs} --out {o}/i.npz",
     r"NaN or inf pixels", ["{o}/i.npz"]),
    ("invert-glyphs-junk", "invert", "--ckpt {sg2} --glyphs {junk} --out {o}/i.npz",
     r"junk.npz: not an .npz archive", ["{o}/i.npz"]),
    ("invert-glyphs-huge-image", "invert", "--ckpt {sg2} --glyphs {huge_png} --out {o}/i.npz",
     r"big.png: far too large for one glyph \(Image size \(196000000 pixels\)", ["{o}/i.npz"]),
    ("invert-glyphs-large-image", "invert", "--ckpt {sg2} --glyphs {large_png} --out {o}/i.npz",
     r"big.png: 5000x5000 is far too large for one glyph", ["{o}/i.npz"]),
    ("invert-condgan", "invert", "--ckpt {condgan} --glyphs {glyphs} --out {o}/i.npz",
     r"inversion needs a StyleGAN", ["{o}/i.npz"]),
    ("invert-out-dir", "invert", "--ckpt {sg2} --glyphs {glyphs} --out {a_dir}",
     r"a_dir is a folder", []),
    ("invert-preview-under-file", "invert",
     "--ckpt {sg2} --glyphs {glyphs} --out {o}/i.npz --preview {a_file}/p.png",
     r"is a file, so no folder", ["{o}/i.npz"]),
    # write (the shipped model unless --ckpt)
    ("write-x-height-0", "write", "ab --x-height 0 --out {o}/w.png", r"--x-height", ["{o}/w.png"]),
    ("write-width-0", "write", "ab --width 0 --out {o}/w.png", r"--width", ["{o}/w.png"]),
    ("write-width-10", "write", "ab --width 10 --out {o}/w.png",
     r"--width: must be at least 100, got 10", ["{o}/w.png"]),
    ("write-width-huge", "write", "ab --width 2000000000 --out {o}/w.png",
     r"--width: must be at most", ["{o}/w.png"]),
    ("write-pull-nan", "write", "ab --pull nan --out {o}/w.png", r"--pull", ["{o}/w.png"]),
    ("write-variation-neg", "write", "ab --variation -1 --out {o}/w.png", r"--variation",
     ["{o}/w.png"]),
    ("write-tune-lr-inf", "write", "ab --tune-lr inf --out {o}/w.png", r"--tune-lr",
     ["{o}/w.png"]),
    ("write-style-nan", "write", "ab --style {nan_style} --out {o}/w.png",
     r"nan_style.npz: the style's ws hold NaN", ["{o}/w.png"]),
    ("write-style-junk", "write", "ab --style {junk} --out {o}/w.png",
     r"junk.npz: not an .npz archive", ["{o}/w.png"]),
    ("write-style-nan-glyphs", "write", "ab --style {nan_glyphs} --ckpt {sg2} --out {o}/w.png",
     r"NaN or inf pixels", ["{o}/w.png"]),
    ("write-ckpt-nan", "write", "ab --ckpt {nan_ckpt} --out {o}/w.png",
     r"weights of G_ema hold NaN", ["{o}/w.png"]),
    ("write-glyphs-out-under-file", "write", "ab --out {o}/w.png --glyphs-out {a_file}/g.npz",
     r"is a file, so no folder", ["{o}/w.png"]),
    ("write-out-dir", "write", "ab --out {a_dir}", r"a_dir is a folder", []),
    # evaluate
    ("evaluate-ckpt-nan", "evaluate", "--ckpt {nan_ckpt} --data {glyphs} --out {o}/e.json",
     r"weights of G_ema hold NaN", ["{o}/e.json"]),
    ("evaluate-n-0", "evaluate", "--data {glyphs} --n 0 --out {o}/e.json", r"--n", ["{o}/e.json"]),
    ("evaluate-writers", "evaluate", "--data {glyphs} --writers 5-x --out {o}/e.json",
     r"--writers", ["{o}/e.json"]),
    ("evaluate-out-dir", "evaluate", "--data {glyphs} --out {a_dir}", r"a_dir is a folder", []),
    # data
    ("data-template-rows-0", "data", "template --chars AB --rows 0 --out {o}/t.png", r"--rows",
     ["{o}/t.png"]),
    ("data-template-dpi-0", "data", "template --chars AB --rows 2 --dpi 0 --out {o}/t.png",
     r"--dpi", ["{o}/t.png"]),
    ("data-preview-scale-0", "data", "preview {glyphs} --scale 0 --out {o}/p.png", r"--scale",
     ["{o}/p.png"]),
    ("data-preview-no-such-writer", "data", "preview {glyphs} --writer 99 --out {o}/p.png",
     r"glyphs.npz: no glyphs by writer 99 to show", ["{o}/p.png"]),
    ("data-info-junk", "data", "info {junk}", r"junk.npz: not an .npz archive", []),
    ("data-info-bomb", "data", "info {bomb}", r"bomb.npz: unpacks to 3.0 GiB", []),
    ("data-info-pickle", "data", "info {pickled}", r"pickled.npz: .*never unpickles", []),
]


# Every case goes through the job's main(argv), the function `python -m minigan.<job>` calls.
# Starting a process costs about 0.7 s of CPU (the NumPy and numba imports), so by default these
# cases run as real processes and the rest in this process, where a traceback would fail the
# test just the same; MINIGAN_TEST_SUBPROCESS=all runs every case as a real process.
SUBPROCESS = {"train-kimg-0", "train-data-nan", "train-data-bomb", "generate-cols-0",
              "generate-ckpt-nan", "generate-out-sys", "invert-lr-nan",
              "invert-glyphs-huge-image", "write-width-10", "write-style-nan", "write-out-dir",
              "evaluate-ckpt-nan", "data-template-rows-0", "data-info-junk"}


def _in_process(job, argv, capsys):
    module = importlib.import_module("minigan.data.__main__" if job == "data" else f"minigan.{job}")
    code = module.main(argv)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, captured.out, captured.err)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(files, case, capsys):
    name, job, args, pattern, outputs = case
    names = {k: v for k, v in files.items()}
    names["o"] = files["dir"] / "outputs" / name
    argv = [a.format(**names) for a in args.split()]
    if name in SUBPROCESS or os.environ.get("MINIGAN_TEST_SUBPROCESS") == "all":
        result = cli(job, *argv)
    else:
        result = _in_process(job, argv, capsys)
    assert_clean_failure(result, pattern, outputs=[p.format(**names) for p in outputs])


@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU, so --device cuda works")
def test_asking_for_a_gpu_that_is_not_there(files, tmp_path):
    result = cli("train", "--device", "cuda", "--data", files["glyphs"], "--out", tmp_path / "r")
    assert_clean_failure(result, r"device 'cuda' was requested but is not available: install",
                         outputs=[tmp_path / "r"])


def test_invert_a_stylegan_v1_checkpoint_with_its_defaults(files, tmp_path):
    """Its noise maps were float64 and the float32 AdaIN path refused them."""
    result = cli("invert", "--ckpt", files["sg1"], "--glyphs", files["glyphs"], "--steps", "2",
                 "--out", tmp_path / "inv.npz", "--preview", tmp_path / "p.png")
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "inv.npz") as z:
        assert np.isfinite(z["ws"]).all() and z["ws"].shape == (8, 6, 16)
    assert (tmp_path / "p.png").is_file()


def test_generate_and_write_with_good_input(files, tmp_path):
    result = cli("generate", "--ckpt", files["sg2"], "--n", "4", "--out", tmp_path / "g.png")
    assert result.returncode == 0, result.stderr
    grid = np.asarray(Image.open(tmp_path / "g.png"))
    assert grid.std() > 0                                   # not a blank page
    result = cli("write", "ab c", "--width", "144", "--out", tmp_path / "w.png",
                 "--glyphs-out", tmp_path / "sub" / "g.npz")
    assert result.returncode == 0, result.stderr
    page = np.asarray(Image.open(tmp_path / "w.png"))
    assert page.shape[1] == 144 and page.min() < 128        # ink on the page
    with np.load(tmp_path / "sub" / "g.npz") as z:
        assert z["images"].shape == (3, 28, 28)


def _wait_for(path: Path, proc, seconds=120):
    deadline = time.time() + seconds
    while not path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert path.exists(), proc.communicate()[0]


def test_sigterm_checkpoints_and_resume_applies_lr_and_keeps_the_log_consistent(files, tmp_path):
    """SIGTERM stops like Ctrl-C (checkpoint, exit 143); a new run in an old folder starts a
    new log; --resume from another folder finds the data, applies --lr, refuses --batch, and
    cuts log lines written after the checkpoint; temporary files of killed writes go."""
    run = tmp_path / "run"
    (run / "grids").mkdir(parents=True)
    (run / "metrics.jsonl").write_text('{"step": 999, "old": true}\n')   # an older run's log
    (run / "grids" / "grid_0000999.png").write_bytes(b"old")
    glyphs = tmp_path / "g.npz"
    glyphs.write_bytes(files["glyphs"].read_bytes())
    args = [sys.executable, "-m", "minigan.train", "--data", "g.npz", "--batch", "4",
            "--tick-kimg", "0.008", "--kimg", "10", "--out", str(run)]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=ENV)
    _wait_for(run / "checkpoint.npz", proc)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, output
    assert "resume with --resume" in output and "Traceback" not in output
    step = load_checkpoint(run / "checkpoint.npz").step
    assert step >= 2
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps[0] == 2 and steps[-1] == step          # the old run's line went
    assert steps == sorted(set(steps))
    assert not (run / "grids" / "grid_0000999.png").exists()

    # As a kill between the log and the checkpoint leaves it: a line past the checkpoint, and
    # a temporary file of an interrupted GIF write.
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": step + 2}) + "\n" + '{"step": ')
    (run / ".progress.gif.abc123.tmp").write_bytes(b"partial")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = cli("train", "--resume", "--out", run, "--batch", "8", cwd=elsewhere)
    assert_clean_failure(refused, r"--batch: a resumed run keeps its own value \(4\); "
                                  r"--resume may change only --kimg, --lr")
    kimg = (step + 2) * 4 / 1000
    result = cli("train", "--resume", "--out", run, "--lr", "0.001", "--kimg", kimg,
                 cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"resumed \S+ at step {step} with --kimg {kimg:g}, --lr 0.001\n",
                     result.stdout), result.stdout
    ckpt = load_checkpoint(run / "checkpoint.npz")
    assert ckpt.step == step + 2 and ckpt.config["train"]["lr"] == 0.001
    assert ckpt.optimizers["G"]["lr"].tolist() == [0.001]
    resumed = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert resumed[:len(steps)] == steps and resumed[-1] == step + 2   # no line twice
    assert resumed == sorted(set(resumed))
    assert not list(run.glob(".*.tmp"))

    again = cli("train", "--resume", "--out", run, cwd=elsewhere)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout


def test_a_second_ctrl_c_aborts_at_once_and_keeps_the_last_checkpoint(files, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "minigan.train", "--data", str(files["glyphs"]),
                             "--batch", "128", "--tick-kimg", "0.128", "--kimg", "100",
                             "--out", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    _wait_for(run / "checkpoint.npz", proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)                                 # a step of 128 takes longer than this
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert_clean_failure(subprocess.CompletedProcess([], 130, out, err),
                         r"aborted at step \d+ without checkpointing; \S+ keeps step 1", code=130)
    assert load_checkpoint(run / "checkpoint.npz").step == 1
    assert not list(run.glob(".*.tmp")) and not list((run / "grids").glob(".*.tmp"))


def test_ctrl_c_in_invert_leaves_nothing_behind(files, tmp_path):
    target = tmp_path / "inv.npz"
    proc = subprocess.Popen([sys.executable, "-m", "minigan.invert", "--ckpt", str(files["sg2"]),
                             "--glyphs", str(files["glyphs"]), "--steps", "100000",
                             "--out", str(target)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 120
    line = ""
    while "step 1/" not in line and time.time() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_bug_keeps_its_traceback():
    """Only expected errors become one line: an error inside NumPy is a bug and shows where."""
    from minigan._cli import expected_message

    try:
        np.zeros(-1)
    except ValueError as e:
        assert expected_message(e) is None
    from minigan.models import preset

    try:
        preset("no-such-preset")                 # a check of minigan's own, raised in minigan
    except ValueError as e:
        assert expected_message(e).startswith("--preset: unknown preset 'no-such-preset'")
    from minigan.train import TrainConfig, Trainer

    try:
        Trainer(preset("sg2-16-small"), TrainConfig(), (np.zeros((1, 1, 16, 16)),))
    except ValueError as e:                     # a failing line in minigan, not a check
        assert "unpack" in str(e) and expected_message(e) is None

