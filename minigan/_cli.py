"""What every `python -m minigan.<job>` command shares on its command line: the help layout,
option checks made when the options are parsed, and one handler for what can go wrong.

The policy (docs/errors.md): a problem the user can fix ends in one line on stderr and exit
code 2; Ctrl-C or SIGTERM ends in exit 130 or 143 with nothing half-written; anything else is a
bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import functools
import linecache
import math
import os
import signal
import sys
import threading
from pathlib import Path

from .errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The description as written (its examples keep their lines), and each option's default
    after its help, unless the help already says it or there is none to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default" in text or "default:" in text or action.default in (None, "", False):
            return text
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block): the option, what is wrong, and
    where to look. Exit code 2, as for every other user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# ----------------------------------------------------------------- option types

def int_in(lo: int | None = None, hi: int | None = None):
    """An argparse type: an integer in [lo, hi] (either bound may be None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        _check_range(value, lo, hi, text)
        return value
    parse.__name__ = "integer"
    return parse


def float_in(lo: float | None = None, hi: float | None = None, above: bool = False):
    """An argparse type: a finite number in [lo, hi] (or (lo, hi] with above=True)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if above and lo is not None and value <= lo:
            raise argparse.ArgumentTypeError(f"must be more than {lo:g}, got {text}")
        _check_range(value, lo, hi, text)
        return value
    parse.__name__ = "number"
    return parse


def _check_range(value, lo, hi, text):
    if lo is not None and value < lo:
        raise argparse.ArgumentTypeError(f"must be at least {lo:g}, got {text}")
    if hi is not None and value > hi:
        raise argparse.ArgumentTypeError(f"must be at most {hi:g}, got {text}")


def output_file(text: str) -> str:
    """An argparse type for a file a job will write: not a folder, and inside a folder that
    exists or can be made and can be written to. Checked before any work is done, so a long run
    never ends by failing to save its result."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError("an output file name is needed")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name inside it")
    check_writable_folder(path.parent, text)
    return text


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")


def image_file(text: str) -> str:
    """An argparse type for a picture a job will write: an output_file whose name says which
    image format to write."""
    output_file(text)
    if Path(text).suffix.lower() not in IMAGE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text}: name the picture with one of "
                                         f"{', '.join(IMAGE_SUFFIXES)}")
    return text


def output_folder(text: str) -> str:
    """An argparse type for a folder a job writes into (made if missing)."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError("an output folder name is needed")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    check_writable_folder(path, text)
    return text


def check_writable_folder(folder: Path, text: str) -> None:
    """The nearest existing folder at or above `folder` must be a writable folder."""
    existing = Path(os.path.abspath(folder))
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {existing} is a file, so no folder can be "
                                         f"made there")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: the folder {existing} is not writable")


def input_source(text: str) -> str:
    """An argparse type for glyphs or a saved file given by name or path: a path ending in .npz
    is checked at once to be a real .npz archive of arrays (never a pickle), before any model
    is loaded. Names and folders are left to the reader."""
    from ._files import open_npz

    if Path(text).suffix.lower() == ".npz":
        try:
            open_npz(text).close()
        except UserError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


def given_options(build_parser, argv) -> set[str]:
    """The dests the command line actually set (not left at their defaults)."""
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return set(vars(args))


# ----------------------------------------------------------------- the handler

class Interrupted(KeyboardInterrupt):
    """Raised by a SIGTERM handler so that a terminated job stops like a Ctrl-C'd one."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def raise_interrupted(signum, frame):
    raise Interrupted(signum)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number, as shells report it: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def expected_message(e: BaseException) -> str | None:
    """The one line to print for an error the user can fix, or None for a bug."""
    from PIL import Image

    if isinstance(e, UserError):
        return str(e)
    if isinstance(e, Image.DecompressionBombError):
        return f"{str(e).rstrip('.')}; use a smaller image"
    if isinstance(e, MemoryError):
        return f"not enough memory ({e or 'an array too large'}); ask for smaller sizes"
    if isinstance(e, OSError):
        if e.filename is not None and e.strerror:
            where = e.filename if e.filename2 is None else f"{e.filename} -> {e.filename2}"
            return f"{where}: {e.strerror}"
        return str(e) or type(e).__name__
    if type(e) is ValueError and _raised_by_minigan(e):
        # A check written before UserError existed: still a deliberate message.
        return str(e)
    return None


def _raised_by_minigan(e: BaseException) -> bool:
    """Whether e comes from a `raise` statement in minigan's own code: not from NumPy, and not
    from a failing line of minigan's (an unpacking that does not fit is a bug, not a message)."""
    tb = e.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = tb.tb_frame.f_code.co_filename
    if PACKAGE_DIR not in Path(filename).resolve().parents:
        return False
    return linecache.getline(filename, tb.tb_lineno).lstrip().startswith("raise ")


def job(main):
    """Wrap a job's main(argv) -> int with the error policy: a user error prints one line on
    stderr and returns 2; Ctrl-C and SIGTERM return 130 and 143; a bug raises on."""
    @functools.wraps(main)
    def run(argv=None) -> int:
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, raise_interrupted) if in_main_thread else None
        try:
            return main(argv)
        except SystemExit as e:         # argparse's --help and its option errors
            if isinstance(e.code, int) or e.code is None:
                return e.code or 0
            raise
        except KeyboardInterrupt as e:
            print("interrupted: stopped before finishing; no output was half-written",
                  file=sys.stderr)
            return exit_code(e)
        except Exception as e:  # noqa: BLE001 - sorted into the user's and bugs just below
            message = expected_message(e)
            if message is None:
                raise
            print(f"error: {' '.join(message.split())}", file=sys.stderr)
            return 2
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    return run
