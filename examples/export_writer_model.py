"""Ship a trained run's generator as minigan's default writing model.

    python examples/export_writer_model.py runs/c74-sg2-32

Keeps only what writing needs, the EMA generator's weights and the model config (plus the
training config and step, and for a model taught new characters with `train --extend` its
base's training config, so the README's claims can be checked), in minigan/weights/
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
    config = {"model": cfg.to_dict(), "train": dict(ckpt.config.get("train", {}))}
    if config["train"].get("extend"):
        # A model taught new characters by `train --extend`: keep how its base was trained too,
        # and only the base file's name (not where it lay on the machine that trained it).
        base = Path(config["train"]["extend"])
        if base.exists():
            base_config = load_checkpoint(run_checkpoint(base)).config
            config["base_train"] = base_config.get("base_train", base_config.get("train", {}))
        config["train"]["extend"] = base.name
    path = save_checkpoint(Path(args.out), ckpt.step, config, modules={"G_ema": G})
    print(f"wrote {path} ({path.stat().st_size / 2 ** 20:.1f} MiB, step {ckpt.step}, "
          f"{G.num_parameters():,} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
