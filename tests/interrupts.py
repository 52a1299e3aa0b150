"""An interrupt at a chosen point of a call: sys.settrace raises KeyboardInterrupt at the k-th
'call' or 'line' event of skyutils' own code, as a signal handler raising there would. Every
point of a call can so be tried in turn, deterministically, on any interpreter. (A tracer that
raises is unset by the interpreter: one interrupt per call.)"""

import os
import sys
from typing import Tuple

import skyutils

_PACKAGE = os.path.dirname(os.path.abspath(skyutils.__file__)) + os.sep


def interrupt_at(point, call) -> Tuple[bool, int]:
    """Runs `call()`, raising KeyboardInterrupt at event `point` of skyutils' code (counted
    from 0; None: never). Returns whether it was interrupted, and the events it saw."""
    seen = [0]

    def tracer(frame, event, arg):
        if not frame.f_code.co_filename.startswith(_PACKAGE):
            return None
        if event in ('call', 'line'):
            seen[0] += 1
            if seen[0] - 1 == point:
                raise KeyboardInterrupt
        return tracer

    sys.settrace(tracer)
    try:
        call()
    except KeyboardInterrupt:
        return True, seen[0]
    finally:
        sys.settrace(None)
    return False, seen[0]
