"""Native binding of base36_encode."""
from skyutils import _fallbacks, _native
from skyutils._pure import text as pure

# Called without argtypes (see _native.direct): returns bytes, or None when Python decides.
_encode = _native.direct('skyutils_base36_encode')
# Below this many characters Python's int() and divmod loop are as fast as the ctypes call
# (measured on the reference machine, Python 3.11: 1-2 digits 0.94-1.0 us in Python against
# 1.05-1.35 us native; 4 digits 1.52 against 1.16; 32 digits 5.8 against 1.2).
NATIVE_MIN_LENGTH = 4
_INT_MAX = _native.INT_MAX


def base36_encode(hex_str: str) -> str:
    """Converts a hex string to a base36 string."""
    if type(hex_str) is str:
        length = len(hex_str)
        if NATIVE_MIN_LENGTH <= length <= _INT_MAX:
            if hex_str.isascii():
                # ASCII: encode() and decode() take their fastest path with no codec named.
                encoded = _encode(hex_str.encode(), length)
                if encoded is not None:
                    return encoded.decode()
            # Non-ASCII spellings, invalid or negative input: Python decides (and raises).
            _fallbacks.record('base36_encode')
    # Short strings (faster in Python) and non-str input are Python's by design.
    return pure.base36_encode(hex_str)
