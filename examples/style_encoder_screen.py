"""Screen a trained style encoder on dev hands with the older writer-fidelity metric.

    python examples/style_encoder_screen.py --run runs/enc --data chars74k --writers 35-44 --k 10
    python examples/style_encoder_screen.py --run runs/enc --data omniglot-latin --writers 0-19 --average

For every dev writer and character, the encoder reads K of the writer's other glyphs and the
character is drawn from the code (minigan.metrics.writer_fidelity: nearest-centroid writer
identification with the shipped writer network, character accuracy, ceiling and floor). This
metric flatters (one glyph at a time, centroids from the same writers); it is a screen beside
the pictures, not the judge. --average draws every character from the generator's average w
instead, whatever the glyphs: the figure a code that learned nothing would get.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from minigan.data import load_spec
from minigan.invert import w_statistics
from minigan.metrics import to_glyphs, writer_fidelity
from minigan.style import Style, char_labels, draw, ink_levels
from minigan.style_train import load_encoder


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="style_train run folder or checkpoint")
    p.add_argument("--data", default="chars74k", help="data set of the dev writers")
    p.add_argument("--writers", default="35-44", help="dev writer ids, FIRST-LAST")
    p.add_argument("--k", type=int, default=10, help="glyphs given per character drawn (0: all)")
    p.add_argument("--average", action="store_true", help="draw from the average w instead")
    p.add_argument("--seed", type=int, default=0, help="seeds the choice of the K glyphs")
    p.add_argument("--out", default=None, help="write the figures to this JSON file")
    args = p.parse_args(argv)
    enc, G, cfg = load_encoder(args.run)
    w_avg, spread = w_statistics(G, cfg)
    first, last = (int(x) for x in args.writers.split("-"))
    ds = load_spec(args.data)

    def make_glyph(others, char):
        glyphs = others.as_float(cfg.res) * 2.0 - 1.0                  # [K, 1, res, res]
        ws = (np.broadcast_to(w_avg, (1, cfg.num_ws, cfg.w_dim)).astype(np.float32) if args.average
              else enc.encode(glyphs, char_labels(cfg, others.chars())))
        style = Style(ws=ws, w_spread=spread, ink=float(np.median(ink_levels(glyphs))),
                      w_avg=w_avg.astype(np.float32))
        return to_glyphs(draw(G, cfg, style, char))[0]

    result = writer_fidelity(make_glyph, ds, range(first, last + 1), k=args.k or None,
                             seed=args.seed)
    result.update(run=str(args.run), data=args.data, average=args.average)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
