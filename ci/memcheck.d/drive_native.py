"""Every native binding on success and error paths, for ci/memcheck to run under valgrind."""

import os
import tempfile

from skyutils import _bindings as b
from skyutils import _native

assert _native.LIB is not None
d = tempfile.mkdtemp()
p = os.path.join(d, 'log')
with open(p, 'wb') as f:
    f.write(b''.join(b'line %d\r\n' % i for i in range(5000)))
plain = os.path.join(d, 'plain.log')  # no '\r': the library's TAIL_PLAIN path
with open(plain, 'wb') as f:
    f.write(
        b''.join(b'line %d of a plain log, long enough to pass 256 KiB\n' % i for i in range(20000))
    )
for _ in range(20):
    b.read_last_n_lines(p, 10)
    b.read_last_n_lines(p, 3000)
    b.read_last_n_lines(plain, 10)
    b.read_last_n_lines(plain, 3000)  # longer than the pooled buffer: read from the fd
    b.read_last_n_lines(plain, 150000)  # a scan of several calls (MORE)
    b.estimate_fd_for_directory(d)
    b.get_cpu_count()
    b.get_mem_size_gb()
    b.is_process_alive(os.getpid())
    b.is_process_alive(2**31 - 2)
    b.base36_encode('f' * 64)
    b.base36_encode('f' * 200)  # longer than the pooled buffer
    b.find_free_port(60000)
    for bad in (
        lambda: b.read_last_n_lines(d, 1),
        lambda: b.estimate_fd_for_directory(p),
        lambda: b.base36_encode('g' * 40),
    ):
        try:
            bad()
        except Exception:
            pass
_native.LIB.skyutils_selftest_panic()
print('driver done')
