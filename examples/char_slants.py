"""The average hand's slant of every letter and digit, the table `write` measures leans from.

    python examples/char_slants.py                                   # the shipped table
    python examples/char_slants.py --data "chars74k@0-34" --out slants-screen.json

A drawn glyph is leant as far from its character's average slant as the person's own glyphs
lean from theirs (minigan.write.slant_correction). The shipped table,
minigan/weights/char_slants.json, is that of Chars74K writers 0-44, the real hands the shipped
model learned from; writers 45-54, the held-out hands, are not in it. A screening generator
that did not learn from the dev writers is measured with a table without them too.

It also says how many glyphs the average hand's lean is worth when a person's is told from
few of theirs (minigan.write.lean_prior), the figure behind minigan.write.LEAN_PRIOR.
"""
from __future__ import annotations

import argparse
import json
import sys

from minigan._files import write_atomic
from minigan.data import load_spec
from minigan.write import LEAN_PRIOR, SLANTS, char_slants, lean_prior


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="chars74k@0-44", help="the hands to average (a data spec)")
    p.add_argument("--out", default=str(SLANTS), help="JSON {char: slant}")
    args = p.parse_args(argv)
    dataset = load_spec(args.data)
    table = char_slants(dataset)
    text = json.dumps({c: round(v, 5) for c, v in table.items()}, indent=0, ensure_ascii=False)
    write_atomic(args.out, lambda f: f.write(text.encode()))
    print(f"wrote {args.out}: {len(table)} characters from {args.data}")
    print(f"the average hand's lean is worth {lean_prior(dataset, table):.2f} of a person's glyphs "
          f"(minigan.write.LEAN_PRIOR is {LEAN_PRIOR:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
