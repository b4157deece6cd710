"""What every `python -m minigan.<job>` command shares on its command line."""
from __future__ import annotations

import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The description as written (its examples keep their lines), and each option's default
    after its help, unless the help already says it or there is none to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default" in text or "default:" in text or action.default in (None, "", False):
            return text
        return super()._get_help_string(action)
