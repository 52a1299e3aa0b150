"""`skyutils check`: runs every function on the spec's examples through each backend.

For each sample: the pure-Python twin, the public function (default dispatch) and, where the
library serves the function, the native binding; each result is compared with the others and,
where the spec gives one, with the expected value. Any difference is a mismatch.
"""

import contextlib
import hashlib
import math
import os
import shutil
import socket
import tempfile
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import skyutils
from skyutils import _native, _pure, _registry

NOT_GIVEN = object()
MD5_EMPTY = 'd41d8cd98f00b204e9800998ecf8427e'


def _outcome(fn: Callable, args: Tuple) -> Any:
    try:
        value = fn(*args)
    except Exception as e:
        return f'raises {type(e).__name__}'
    if hasattr(value, 'hexdigest'):
        return value.hexdigest()
    if isinstance(value, float) and math.isnan(value):
        return 'nan'
    return value


@contextlib.contextmanager
def _workspace() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix='skyutils-check-')
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _file(workspace: str, name: str, data: bytes) -> str:
    path = os.path.join(workspace, name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def samples(workspace: str) -> List[Tuple[str, Tuple, Any]]:
    """(function, arguments, expected or NOT_GIVEN): the spec's examples, and live queries."""
    directory = os.path.join(workspace, 'dir')
    os.mkdir(directory)
    for name in ('a', 'b', '.hidden'):
        _file(directory, name, b'')
    log = _file(workspace, 'log', b'a\nb\nc\n')
    crlf = _file(workspace, 'crlf', b'a\r\nb\r\nc\r\n')
    bad = _file(workspace, 'bad', b'\xff\xfebad\n')
    empty = _file(workspace, 'empty', b'')
    hello = _file(workspace, 'hello', b'hello world\n')
    threads = max(4, (os.cpu_count() or 1) - 1)
    return [
        ('base36_encode', ('ff',), '73'),
        ('base36_encode', ('0x10',), 'g'),
        ('base36_encode', (MD5_EMPTY,), 'ck2u8j60r58fu0sgyxrigm3cu'),
        ('base36_encode', ('f' * 40,), 'twj4yidkw7a8pn4g709kzmfoaol3x8f'),
        ('base36_encode', ('g',), 'raises ValueError'),
        ('read_last_n_lines', (log, 2), ['b\n', 'c']),
        ('read_last_n_lines', (log, 5), ['a\n', 'b\n', 'c']),
        ('read_last_n_lines', (crlf, 2), ['b\n', 'c']),
        ('read_last_n_lines', (bad, 1), ['\ufffd\ufffdbad']),
        ('read_last_n_lines', (empty, 3), []),
        ('read_last_n_lines', (os.path.join(workspace, 'missing'), 1), 'raises AssertionError'),
        ('find_free_port', (_free_port(),), NOT_GIVEN),
        ('find_free_port', (65535,), 'raises OSError'),
        ('format_float', (2.25,), '2.2'),
        ('format_float', (1.96,), '2.0'),
        ('format_float', (2.0,), '2'),
        ('format_float', (0.123, 2), '0.12'),
        (
            'truncate_long_string',
            ('this is a very long string that needs truncation', 20),
            'this is a very long ...',
        ),
        (
            'truncate_long_string',
            ('us-west-2-availability-zone-1', 20, True),
            'us-west-2...y-zone-1',
        ),
        ('hash_file', (empty, 'md5'), MD5_EMPTY),
        ('hash_file', (hello, 'sha256'), hashlib.sha256(b'hello world\n').hexdigest()),
        ('get_cpu_count', (), NOT_GIVEN),
        ('get_mem_size_gb', (), NOT_GIVEN),
        ('get_parallel_threads', (), threads),
        ('get_parallel_threads', ('kubernetes',), threads * 4),
        ('get_max_workers_for_file_mounts', ({'/remote': directory},), NOT_GIVEN),
        ('estimate_fd_for_directory', (directory,), 15),
        ('estimate_fd_for_directory', (log,), 'raises NotADirectoryError'),
        ('is_process_alive', (os.getpid(),), True),
        ('is_process_alive', (0,), False),
    ]


def run() -> Dict[str, Any]:
    """Every sample through every backend; the rows and whether they all agree."""
    bindings: Any = None
    if _native.LIB is not None:
        from skyutils import _bindings as bindings
    rows = []
    with _workspace() as workspace:
        for function, args, expected in samples(workspace):
            results = {
                'python': _outcome(getattr(_pure, function), args),
                'skyutils': _outcome(getattr(skyutils, function), args),
            }
            if bindings is not None and _registry.BY_NAME[function].c_symbols:
                results['native'] = _outcome(getattr(bindings, function), args)
            values = list(results.values())
            agree = all(v == values[0] for v in values)
            if expected is not NOT_GIVEN:
                agree = agree and values[0] == expected
            rows.append(
                {
                    'function': function,
                    'args': _show_args(args, workspace),
                    'expected': None if expected is NOT_GIVEN else expected,
                    'results': results,
                    'ok': agree,
                }
            )
    return {
        'native_loaded': _native.LIB is not None,
        'library': _native.LOADED.reason,
        'rows': rows,
        'mismatches': sum(not row['ok'] for row in rows),
    }


def _show_args(args: Tuple, workspace: str) -> str:
    shown = ', '.join(repr(a) for a in args)
    return shown.replace(workspace, '<tmp>')


def _cell(value: Any, width: int = 28, plain: bool = False) -> str:
    shown_as_is = plain or (isinstance(value, str) and value.startswith('raises'))
    text = value if shown_as_is else repr(value)
    return text if len(text) <= width else text[: width - 3] + '...'


def table(report: Dict[str, Any]) -> Iterator[str]:
    yield f"library: {report['library']}"
    yield f"{'function':<32} {'arguments':<34} {'python':<28} {'native':<28} result"
    for row in report['rows']:
        native = row['results'].get('native', 'python serves it')
        native_cell = _cell(native) if 'native' in row['results'] else native
        yield (
            f"{row['function']:<32} {_cell(row['args'], 34, plain=True):<34} "
            f"{_cell(row['results']['python']):<28} {native_cell:<28} "
            f"{'ok' if row['ok'] else 'MISMATCH'}"
        )
    yield (
        f"{len(report['rows'])} samples, {report['mismatches']} mismatch(es); native library "
        f"{'serving' if report['native_loaded'] else 'not serving'}"
    )


def exit_code(report: Dict[str, Any], require_native: bool) -> int:
    if report['mismatches']:
        return 1
    if require_native and not report['native_loaded']:
        return 1
    return 0


def explain_failure(report: Dict[str, Any], require_native: bool) -> Optional[str]:
    if report['mismatches']:
        return 'skyutils check: the backends disagree; please report this with the table above'
    if require_native and not report['native_loaded']:
        return f"skyutils check: --require-native, but {report['library']}"
    return None
