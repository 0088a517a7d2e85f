"""Text from outside (file names, values) made safe to print in a log or a message.

Control characters (NUL, newlines, escape sequences that repaint a terminal) are shown
as escapes, so that a file named `a\\nINFO: all good` cannot forge a log line.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))
