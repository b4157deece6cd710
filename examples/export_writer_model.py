"""Ship a trained run's generator as minigan's default writing model.

    python examples/export_writer_model.py runs/c74-sg2-32

Keeps only what writing needs, the EMA generator's weights and the model config (plus the
training config and step, so the README's claims can be checked), in minigan/weights/
writer_default.npz, the file `python -m minigan.write` uses when no --ckpt is given.
"""
import argparse
import sys
from pathlib import Path

from minigan.checkpoint import load_checkpoint, save_checkpoint
from minigan.generate import generator_from_checkpoint, run_checkpoint
from minigan.style import check_style_model
from minigan.write import DEFAULT_MODEL


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder or checkpoint.npz of a content-conditioned style model")
    p.add_argument("--out", default=str(DEFAULT_MODEL))
    args = p.parse_args(argv)
    ckpt = load_checkpoint(run_checkpoint(args.run))
    G, cfg = generator_from_checkpoint(ckpt)
    check_style_model(cfg)
    path = save_checkpoint(Path(args.out), ckpt.step, {"model": cfg.to_dict(),
                                                      "train": ckpt.config.get("train", {})},
                           modules={"G_ema": G})
    print(f"wrote {path} ({path.stat().st_size / 2 ** 20:.1f} MiB, step {ckpt.step}, "
          f"{G.num_parameters():,} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
