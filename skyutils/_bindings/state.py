"""The state array of the library's resumable calls (skyutils.h: SKYUTILS_STATE_*).

A tail or a directory is read in several library calls, each of bounded work, so that Python
runs signal handlers (Ctrl-C) between them; the library keeps its place, and an open
descriptor, in the caller's state array. The array owns that descriptor from the moment the
library stores it: whatever interrupts the caller (KeyboardInterrupt, any exception, a
signal handler's own call), the array's finalizer releases it.

A finalizer is Python code, and CPython runs a pending signal's handler on entering it: a
handler that raises there skips the close. So a state that holds a descriptor is also held in
`_open` the moment the binding sees the descriptor, and released from there once nothing else
references it, when a binding next starts a read. (Not from a garbage-collection callback:
what a callback raises is swallowed, and a Ctrl-C landing there would be lost.)
"""

import sys
from ctypes import c_int64
from typing import Dict

from skyutils import _abi, _native

_close_state = _native.direct('skyutils_close_state')


class State(c_int64 * _abi.STATE_SLOTS):  # type: ignore[misc]  # a ctypes array type
    """One read's state array. A new one is zeroed, which the library takes for "no
    descriptor": the slot holds a descriptor plus one (no __init__ could set a marker before
    an interrupt lands, and a finalizer must never take 0 for a descriptor of its own)."""

    def descriptor(self) -> int:
        """The descriptor the library left open here, or -1."""
        return self[_abi.STATE_FD] - 1

    def release(self) -> None:
        """Closes the descriptor the library left here, if any. Closing and marking the slot
        empty are one library call, so a descriptor number is never closed twice (a second
        close could hit a descriptor someone opened since)."""
        if self[_abi.STATE_FD]:
            _close_state(self)
        _open.pop(id(self), None)

    # The finalizer is release() inlined: a Python frame's entry is where a pending signal's
    # handler runs, and one more frame is one more place where a second Ctrl-C could land
    # before the close. (What a finalizer raises is ignored, as at interpreter shutdown.)
    def __del__(self):
        if self[_abi.STATE_FD]:
            _close_state(self)


# States holding a descriptor, by id: kept alive here until released (see the module's text).
_open: Dict[int, State] = {}
# A state nobody else references has this many references while sweep() looks at it: _open's,
# the loop's variable and getrefcount's argument.
_UNREFERENCED = 3


# PyPy has no reference counts, so sweep() could never tell that a held state is unreferenced
# and would keep its descriptor open for good: there the finalizer alone releases it.
_COUNTED = hasattr(sys, 'getrefcount')


def hold(state: State) -> None:
    """Keeps `state` (which holds a descriptor) until it is released."""
    if _COUNTED:
        _open[id(state)] = state


def sweep() -> None:
    """Releases every held state that nothing but `_open` references any more: its call was
    cut short by an exception that skipped both the release and the finalizer."""
    for key in list(_open):
        state = _open.get(key)
        if state is not None and sys.getrefcount(state) <= _UNREFERENCED:
            state.release()
