"""Native binding of base36_encode."""

from ctypes import create_string_buffer

from skyutils import _fallbacks, _native
from skyutils._pure import text as pure

# Called without argtypes (see _native.direct): writes into the caller's buffer and returns
# its bytes, or None when Python decides.
_encode = _native.direct('skyutils_base36_encode')
# Below this many characters Python's int() and divmod loop are as fast as the ctypes call
# (measured on the reference machine, Python 3.11: 1-2 digits 0.94-1.0 us in Python against
# 1.05-1.35 us native; 4 digits 1.52 against 1.16; 32 digits 5.8 against 1.2).
NATIVE_MIN_LENGTH = 4
# Above this many the conversion (quadratic, in Python as in C) is Python's: C cannot be
# interrupted, and 65,536 digits take 0.13 s there (10^6 took 31 s), while Python's loop lets
# Ctrl-C through between its steps (`skyutils bench`'s machine, Python 3.11).
NATIVE_MAX_LENGTH = 1 << 16
# Buffers for results of SkyPilot's sizes (up to 76 hex digits), reused: a fresh one per call
# cost 0.45 us, a quarter of the call. Each call takes one from the pool and puts it back
# after ctypes has copied the result out, so a nested call (a signal handler's) or another
# thread never writes into a buffer in use; at most _POOL_KEEP wait here.
_SHORT_CAPACITY = 64
_SHORT_MAX_LENGTH = 76  # the longest input whose result fits: 76 - 76 // 5 + 3 <= 64
_POOL_KEEP = 16
_free_buffers: list = []


def base36_encode(hex_str: str) -> str:
    """Converts a hex string to a base36 string."""
    if type(hex_str) is str:
        length = len(hex_str)
        if NATIVE_MIN_LENGTH <= length <= NATIVE_MAX_LENGTH:
            if hex_str.isascii():
                # ASCII: encode() and decode() take their fastest path with no codec named.
                if length <= _SHORT_MAX_LENGTH:
                    try:
                        out = _free_buffers.pop()
                    except IndexError:
                        out = create_string_buffer(_SHORT_CAPACITY)
                    encoded = _encode(hex_str.encode(), length, out, _SHORT_CAPACITY)
                    if len(_free_buffers) < _POOL_KEEP:
                        _free_buffers.append(out)
                else:
                    capacity = length - length // 5 + 3
                    encoded = _encode(
                        hex_str.encode(), length, create_string_buffer(capacity), capacity
                    )
                if encoded is not None:
                    return encoded.decode()
            # Non-ASCII spellings, invalid or negative input: Python decides (and raises).
            _fallbacks.record('base36_encode')
    # Short and very long strings, and non-str input, are Python's by design.
    return pure.base36_encode(hex_str)
