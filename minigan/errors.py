"""The errors a user can fix: bad options, missing or damaged input files, unwritable outputs.

Every `python -m minigan.<job>` prints a UserError as one line on stderr and exits with code 2.
Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations


class UserError(ValueError):
    """An expected problem with the user's input, options or files; its message names the file
    or option, says what is wrong, and says what to do."""
