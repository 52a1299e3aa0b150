"""Native binding of base36_encode."""
from ctypes import byref, c_size_t, create_string_buffer

from skyutils import _fallbacks
from skyutils._native import LIB, OK
from skyutils._pure import text as pure

_encode = LIB.skyutils_base36_encode


def base36_encode(hex_str: str) -> str:
    """Converts a hex string to a base36 string."""
    if type(hex_str) is str and hex_str.isascii():
        raw = hex_str.encode('ascii')
        cap = len(raw) - len(raw) // 5 + 2  # base36 needs < 0.774 digits per hex digit
        out = create_string_buffer(cap)
        out_len = c_size_t()
        if _encode(raw, len(raw), out, cap, byref(out_len)) == OK:
            return out.raw[:out_len.value].decode('ascii')
    # Non-ASCII spellings, bytes, invalid or negative input: Python decides (and raises).
    _fallbacks.record('base36_encode')
    return pure.base36_encode(hex_str)
