"""What this interpreter's io module says, where the text differs between implementations."""

import io
import os


def not_seekable_message() -> str:
    """The error of seeking an unseekable file (a FIFO's, in SkyPilot's reader): CPython ends
    it with a period, PyPy does not."""
    read_end, write_end = os.pipe()
    try:
        with open(read_end, 'rb', closefd=False) as stream:
            stream.seek(0, os.SEEK_END)
    except io.UnsupportedOperation as e:
        return str(e)
    finally:
        os.close(read_end)
        os.close(write_end)
    raise AssertionError('a pipe was seekable')
