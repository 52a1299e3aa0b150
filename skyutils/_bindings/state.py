"""The state array of the library's resumable calls (skyutils.h: SKYUTILS_STATE_*).

A tail or a directory is read in several library calls, each of bounded work, so that Python
runs signal handlers (Ctrl-C) between them; the library keeps its place, and an open
descriptor, in the caller's state array. The array owns that descriptor from the moment the
library stores it: whatever interrupts the caller (KeyboardInterrupt, any exception, a
signal handler's own call), the array's finalizer releases it.

The binding releases the state in an `except` that covers the whole read, so one interrupt
anywhere closes the descriptor before the call ends. A second one, landing inside that
`except`, skips the close, and PyPy runs finalizers only when it collects. So a state that
holds a descriptor is also held in `_open` the moment the binding sees the descriptor, and
released from there, when a binding next starts a read, once its call has ended: nothing else
references it (CPython), or the call is no longer on its thread's stack (PyPy, which has no
reference counts).

No Python code runs when a state is finalized, nor from a garbage-collection callback: CPython
runs a pending signal's handler on entering any Python frame, and what the handler raises in
a finalizer is swallowed. A `def __del__` lost one Ctrl-C in a hundred in a loop of
estimate_fd_for_directory calls (each call's state is finalized as it returns).
"""

import _thread
import sys
from ctypes import c_int64
from typing import Any, Dict, Optional, Tuple

from skyutils import _abi, _native

_close_state = _native.direct('skyutils_close_state')
_finalize_state = _native.direct('skyutils_close_state')  # a handle of its own: its restype is
_finalize_state.restype = type  # a callable, which ctypes calls with the C int result


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

    # The finalizer, in C only (see the module's text). CPython finalizes by looking __del__ up
    # on the type, calling the descriptor's __get__ with the state, then calling what that
    # returned with no arguments. Here __get__ is property's, in C, and calls the library's
    # close with the state (no-op when the slot is empty); the close's restype `type` turns its
    # int result into `int`, whose call (in C too) is the no-argument call that ends it.
    __del__ = property(_finalize_state)


# States holding a descriptor, by id: kept alive here until released (see the module's text),
# each with the frame and thread of the call that holds it where there are no reference counts.
_open: Dict[int, Tuple[State, Optional[Tuple[Any, int]]]] = {}
# A state nobody else references has this many references while sweep() looks at it: _open's
# tuple's and getrefcount's argument. (sweep binds no name to the state: under a Python tracer,
# CPython 3.8-3.10 copies a frame's locals into a dict at every event, one more reference.)
_UNREFERENCED = 2
# PyPy has no reference counts: there a held state is released once the call that holds it is
# no longer on its thread's stack (it ended, cut short), rather than once unreferenced.
_COUNTED = hasattr(sys, 'getrefcount')


def hold(state: State) -> None:
    """Keeps `state` (which holds a descriptor) until it is released; called by the binding
    whose call owns the state."""
    holder = None if _COUNTED else (sys._getframe(1), _thread.get_ident())
    _open[id(state)] = (state, holder)


def sweep() -> None:
    """Releases every held state whose call has ended without releasing it: an exception
    skipped both the release and the finalizer."""
    stacks = None if _COUNTED else sys._current_frames()
    for key in list(_open):
        held = _open.get(key)
        if held is None:
            continue
        holder = held[1]
        if holder is None:
            ended = sys.getrefcount(held[0]) <= _UNREFERENCED
        else:
            ended = not _on_stack(holder[0], stacks.get(holder[1]) if stacks else None)
        if ended:
            held[0].release()


def _on_stack(frame, top) -> bool:
    """Whether `frame` is `top` or one of its callers."""
    while top is not None:
        if top is frame:
            return True
        top = top.f_back
    return False
