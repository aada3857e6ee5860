"""Errors a user can cause, and how the command-line tools report them."""

from __future__ import annotations

import functools
import sys


class UserError(Exception):
    """Something the user can fix: a wrong path, an unknown class, a missing model.

    Its message is one sentence that says what was wrong and what to do.
    """


def reports_user_errors(main):
    """Wrap a command-line ``main`` so a UserError prints one line and exits with status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper
