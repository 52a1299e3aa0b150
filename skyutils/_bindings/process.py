"""Native bindings of is_process_alive and find_free_port."""

import operator
import os
from ctypes import byref, c_int, c_int32

from skyutils import _fallbacks, _native
from skyutils._abi import ERR_OS, NOT_FOUND, OK
from skyutils._native import LIB
from skyutils._pure import process as pure

_alive = _native.direct('skyutils_is_process_alive')  # pids fit a C int: MAX_PID == INT_MAX
assert LIB is not None, 'bindings are imported only once the library is loaded'
_find_free_port = LIB.skyutils_find_free_port


def is_process_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    if type(pid) is int:
        if pid <= 0 or pid > pure.MAX_PID:
            return False
        answer = _alive(pid)
        if answer >= 0:
            return answer == 1
    _fallbacks.record('is_process_alive')
    return pure.is_process_alive(pid)


def find_free_port(start_port: int) -> int:
    """First port from start_port up that an IPv4 TCP socket can bind on all interfaces."""
    start = operator.index(start_port)  # TypeError for floats and strings, as range() gives
    if start >= pure.PORT_LIMIT:
        raise OSError('No free ports available.')
    if start >= 0:
        port = c_int32()
        errno = c_int()
        status = _find_free_port(start, byref(port), byref(errno))
        if status == OK:
            return port.value
        if status == NOT_FOUND:
            raise OSError('No free ports available.')
        if status == ERR_OS:
            raise OSError(errno.value, os.strerror(errno.value))
    # Negative ports (Python raises OverflowError) and unexpected statuses.
    _fallbacks.record('find_free_port')
    return pure.find_free_port(start_port)
