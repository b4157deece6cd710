"""The documentation a newcomer reads: short, its links resolve, its commands and figures hold."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SETUP = ('python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && '
         '.venv/bin/python -m minigan.train')
TESTS = ".venv/bin/python -m pytest --benchmark-disable"
PAGES = sorted([README, ROOT / "kernels" / "README.md", *(ROOT / "docs").rglob("*.md")])

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where links are not links."""
    return CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """The anchor a Markdown heading gets on the usual hosts: lower case, punctuation dropped,
    spaces as hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen, out = {}, set()
    for line in FENCE.sub("", page.read_text()).splitlines():
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page.read_text()))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]          # http:, https:, mailto:


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"
        assert ROOT in dest.parents or dest == ROOT, f"{page.relative_to(ROOT)}: {target} leaves the project"
        if anchor:
            assert dest.suffix == ".md", f"{page.relative_to(ROOT)}: {target}: an anchor into a non-Markdown file"
            assert anchor in anchors(dest), f"{page.relative_to(ROOT)}: {target}: no such heading"


def test_the_checker_catches_a_broken_link_and_a_broken_anchor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A `write` heading, here\n[ok](#a-write-heading-here) [gone](missing.md)\n"
                    "`[not a link](nowhere.md)`\n")
    assert relative_links(page) == ["#a-write-heading-here", "missing.md"]
    assert anchors(page) == {"a-write-heading-here"}


def test_the_readme_is_short_and_opens_with_the_commands():
    lines = README.read_text().splitlines()
    assert len(lines) <= 220, f"README.md has {len(lines)} lines"
    setup = [i for i, line in enumerate(lines) if SETUP in line]
    tests = [i for i, line in enumerate(lines) if line.strip() == TESTS]
    assert setup and setup[0] < 60, "the set-up command must be in the README's first 60 lines"
    assert tests and tests[0] < 80, "the test command must be in the README's first 80 lines"


def readme_jobs() -> list[str]:
    """The jobs in the README's jobs table (rows that open with a job name in backticks)."""
    section = README.read_text().split("## The jobs", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, re.M)


def test_the_jobs_table_lists_the_jobs():
    assert {"data", "train", "generate", "invert", "write", "evaluate"} <= set(readme_jobs())


@pytest.mark.parametrize("job", readme_jobs())
def test_every_job_in_the_readme_answers_help(job):
    result = subprocess.run([sys.executable, "-m", f"minigan.{job}", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m minigan.{job}"), result.stdout[:200]


NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def results_table() -> list[str]:
    section = README.read_text().split("## Results", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|") and "---" not in line]


def test_every_figure_in_the_readme_results_is_in_the_experiment_record():
    """Each number in the README's results table appears, to the digits shown, on the page that
    holds the commands behind it (docs/experiments.md)."""
    rows = results_table()
    assert len(rows) > 5
    known = [float(n) for n in NUMBER.findall((ROOT / "docs" / "experiments.md").read_text())]
    missing = []
    for row in rows[1:]:
        for figure in NUMBER.findall(CODE.sub("", row)):
            places = len(figure.partition(".")[2])
            if not any(round(k, places) == float(figure) for k in known):
                missing.append(figure)
    assert not missing, f"README figures absent from docs/experiments.md: {missing}"


def test_the_readme_sheet_asks_for_every_character_its_letter_writes():
    """"Use your own handwriting": the shipped model draws the punctuation more plainly than a
    person's letters, so every character the example letter writes must be on the sheet the
    README has you print, and extract reads the sheet with the same characters."""
    section = README.read_text().split("## Use your own handwriting", 1)[1].split("\n## ", 1)[0]
    sheets = re.findall(r'minigan\.data (template|extract) .*?--chars "?([^"\s]+)', section)
    assert [kind for kind, _ in sheets] == ["template", "extract"] and sheets[0][1] == sheets[1][1]
    chars = sheets[0][1]
    rows = int(re.search(r"template .*--rows (\d+)", section).group(1))
    assert len(chars) <= rows * 8, "the template would leave characters out"
    text = re.search(r'minigan\.write "([^"]+)" --style mine\.npz', section).group(1)
    needed = {c for c in text.replace("\\n", "") if not (c.isspace() or c.isascii() and c.isalnum())}
    assert needed and needed <= set(chars), f"the sheet lacks {sorted(needed - set(chars))}"


def test_the_readme_path_from_a_filled_sheet_to_its_letter(tmp_path):
    """Steps 1-5 as a newcomer follows them: the README's sheet filled in by the test person
    (letters from a built-in writer, the punctuation drawn with a pen), extracted with the
    README's characters, then the README's letter written from it, every glyph their own."""
    from handsheet import make_hand

    from minigan.write import main

    section = README.read_text().split("## Use your own handwriting", 1)[1].split("\n## ", 1)[0]
    chars = re.search(r'minigan\.data template --chars "([^"]+)"', section).group(1)
    text = re.search(r'minigan\.write "([^"]+)" --style mine\.npz', section).group(1)
    hand, _ = make_hand(chars, tmp_path, rows_per_char=1)
    out = tmp_path / "letter.png"
    assert main([text, "--style", str(hand), "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
