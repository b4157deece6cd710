"""Measure `extract` on the generated sheet set (examples/make_sheets.py): labels, empty cells,
specks, glyph fidelity and time per sheet.

    python examples/eval_sheets.py --json docs/results/sheets/eval.json --preview docs/sheets-preview.png

Each sheet goes through a file (PNG or JPEG, as captured) and `extract_sheets`, like a user's
scan. Fidelity is the best correlation between each cut glyph and the true glyph (the whole
glyph as the pen laid it down, normalised the same way) within a 1 px shift.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from make_sheets import SHEETS, make_all  # noqa: E402

from minigan.data import extract_sheets  # noqa: E402
from minigan.data.preview import extraction_sheet  # noqa: E402
from minigan.data.synth_sheets import load_strokes, score_extraction  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("MINIGAN_DATA", ""), help="folder with chars74k_hnd.npz")
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument("--preview", type=Path, help="write the extraction preview of one sheet here")
    p.add_argument("--preview-sheet", default="phone_keystone_cast_ballpoint", choices=list(SHEETS))
    p.add_argument("--only", nargs="*", help="just these sheets")
    args = p.parse_args()
    strokes = load_strokes(Path(args.data) / "chars74k_hnd.npz")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, sheet in make_all(strokes):
            if args.only and name not in args.only:
                continue
            path = Path(tmp) / (name + (".jpg" if sheet.spec.jpeg else ".png"))
            sheet.save(path)
            t = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ds = extract_sheets([path], sheet.spec.chars)
            except ValueError as e:  # a refused sheet scores nothing
                print(f"{name:40s} FAILED: {e}", flush=True)
                results[name] = {"error": str(e), "label_accuracy": 0.0, "empty_found": 0.0,
                                 "specks_as_glyphs": 0, "stray_glyphs": 0, "fidelity_mean": 0.0,
                                 "fidelity_min": 0.0, "seconds": round(time.perf_counter() - t, 2)}
                continue
            seconds = time.perf_counter() - t
            r = score_extraction(ds, sheet)
            r.update(seconds=round(seconds, 2), pixels=f"{sheet.image.width}x{sheet.image.height}")
            results[name] = r
            print(
                f"{name:40s} labels {r['label_accuracy']:.3f}  empty {r['empty_found']:.2f}  "
                f"specks {r['specks_as_glyphs']}  stray {r['stray_glyphs']}  fidelity {r['fidelity_mean']:.3f} "
                f"(min {r['fidelity_min']:.3f})  {seconds:.1f} s",
                flush=True,
            )
            if args.preview and name == args.preview_sheet:
                args.preview.parent.mkdir(parents=True, exist_ok=True)
                extraction_sheet(ds).save(args.preview)
    own = [r for n, r in results.items() if not n.startswith("template")]
    tpl = [r for n, r in results.items() if n.startswith("template")]
    summary = {}
    for label, rs in (("own_sheets", own), ("template_sheets", tpl)):
        if rs:
            summary[label] = {
                "sheets": len(rs),
                "label_accuracy": float(np.mean([r["label_accuracy"] for r in rs])),
                "empty_found": float(np.mean([r["empty_found"] for r in rs])),
                "specks_as_glyphs": int(sum(r["specks_as_glyphs"] for r in rs)),
                "fidelity_mean": float(np.mean([r["fidelity_mean"] for r in rs])),
                "worst_sheet_fidelity": float(min(r["fidelity_mean"] for r in rs)),
                "seconds_per_sheet": float(np.mean([r["seconds"] for r in rs])),
            }
            print(label, summary[label])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, shared with other jobs (loaded)"}
        args.json.write_text(json.dumps({"meta": meta, "summary": summary, "sheets": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
