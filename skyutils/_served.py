"""The functions the startup hook puts in SkyPilot's place, at their first call.

Each is the native binding of the same name, run in SkyPilot's module: errors SkyPilot raises
inside `ux_utils.print_exception_no_traceback()` are raised inside SkyPilot's own (so an
uncaught one prints as SkyPilot's does), and SkyPilot's log records are written to its logger
as its own function writes them (or, where only it knows them, that call is SkyPilot's own).
Everything a function reads in SkyPilot's module is read there at call time.
"""

import sys
from typing import Callable, Optional, Tuple

from skyutils import _dispatch, _native, _registry

_DEBUG = 10  # logging.DEBUG, without importing logging
_LOW_FD_LIMIT = 1024  # below it SkyPilot warns, once a process


def serve(name: str, module, original: Callable) -> Tuple[Optional[Callable], str]:
    """(the function that serves `name` in SkyPilot's `module`, why); (None, why) where
    SkyPilot's own should, as when the library did not load."""
    if _native.LIB is None:
        return None, f"SkyPilot's own: the library did not load ({_native.LOADED.reason})"
    if name in _dispatch.python_reasons(sys.implementation.name) or name not in _MAKERS:
        return None, f"SkyPilot's own: skyutils serves {name} with Python here"
    row = _registry.BY_NAME.get(name) or next(w for w in _registry.WAITS if w.name == name)
    return _MAKERS[name](module, original), f'served natively: {row.native}'


def _as_skypilot_raises(module, error: BaseException):
    """Raises `error` inside SkyPilot's print_exception_no_traceback(), where SkyPilot raises
    it (it leaves sys.tracebacklimit at 0 for what is printed)."""
    with module.ux_utils.print_exception_no_traceback():
        raise error


def _read_last_n_lines(module, original):
    from skyutils._bindings import files

    read = files.read_last_n_lines

    def read_last_n_lines(file_path, n, chunk_size=8192, encoding='utf-8', errors='replace'):
        try:
            return read(file_path, n, chunk_size, encoding, errors)
        except RuntimeError as e:  # SkyPilot's "Failed to read last n lines"
            _as_skypilot_raises(module, e)

    return read_last_n_lines


def _base36_encode(module, original):
    from skyutils._bindings import text

    return text.base36_encode


def _find_free_port(module, original):
    from skyutils._bindings import process

    find = process.find_free_port

    def find_free_port(start_port):
        # SkyPilot logs a debug line for each port it cannot bind (its logger is at DEBUG in
        # every SkyPilot process): where the first port binds there is none to write, else
        # SkyPilot's own scans again and writes them, with its errors' own text.
        try:
            port = find(start_port)
        except OSError:
            if module.logger.isEnabledFor(_DEBUG):
                return original(start_port)
            raise
        if port != start_port and module.logger.isEnabledFor(_DEBUG):
            return original(start_port)
        return port

    return find_free_port


def _with_env_errors(module, binding):
    def served():
        try:
            return binding()
        except ValueError as e:  # a SKYPILOT_POD_* variable SkyPilot cannot parse
            _as_skypilot_raises(module, e)

    served.__name__ = served.__qualname__ = binding.__name__
    return served


def _get_cpu_count(module, original):
    from skyutils._bindings import system

    return _with_env_errors(module, system.get_cpu_count)


def _get_mem_size_gb(module, original):
    from skyutils._bindings import system

    return _with_env_errors(module, system.get_mem_size_gb)


def _get_max_workers_for_file_mounts(module, original):
    import resource

    from skyutils._bindings import files
    from skyutils._pure import system

    def get_max_workers_for_file_mounts(common_file_mounts, cloud_str=None):
        soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft_limit < _LOW_FD_LIMIT and not module._fd_limit_warning_shown:
            return original(common_file_mounts, cloud_str)  # its once-a-process warning
        workers = system.max_workers_for_file_mounts(
            common_file_mounts,
            cloud_str,
            files.estimate_fd_for_directory,
            module.get_parallel_threads,
            soft_limit,
        )
        module.logger.debug(f'Using {workers} workers for file mounts.')  # SkyPilot's record
        return workers

    return get_max_workers_for_file_mounts


def _tail_log_file(module, original):
    """SkyPilot's log tailer, its tail block served: the last N lines come from the file's
    end in short executor steps (skyutils._logtail), yielded as they are decided, then
    SkyPilot's own function follows the file from where its block would have left it (called
    with tail=None, which runs the rest of it alone). Anything the served block cannot decide
    is SkyPilot's own, from the start."""
    import asyncio
    import inspect

    from skyutils._logtail import Tail

    signature = inspect.signature(original)

    async def _tail_log_file(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)  # what SkyPilot's own raises, here first
        tail = bound.arguments.get('tail')
        tailer = None
        # None, odd values, and tails deque() refuses (OverflowError): SkyPilot's to decide.
        if type(tail) is int and 0 <= tail <= sys.maxsize and 'f' in bound.arguments:
            tailer = Tail.open(getattr(bound.arguments['f'], '_file', None))
        if tailer is not None:
            try:
                async for chunk in _block(bound.arguments['f'], tailer, tail):
                    yield chunk
            finally:
                tailer.close()
            if tailer.start >= 0:  # found and streamed: SkyPilot's own follows from there
                bound.arguments['tail'] = None
        # The rest, or (nothing served) all of it from the start: SkyPilot's own.
        rest = original(*bound.args, **bound.kwargs)
        try:
            async for chunk in rest:
                yield chunk
        finally:
            await rest.aclose()

    async def _block(f, tailer, tail):
        """The kept lines, yielded as each step decides them; then the file is left where
        SkyPilot's read of every line would have left it."""
        run = asyncio.get_running_loop().run_in_executor
        executor = getattr(f, '_executor', None)  # aiofiles' own, as SkyPilot's reads use
        decode_payload = module.message_utils.decode_payload
        found = None
        while found is None:
            found = await run(executor, tailer.find_start, tail, decode_payload)
        if not found:
            return  # tailer.start < 0
        while True:
            lines = await run(executor, tailer.next_lines, decode_payload)
            if lines is None:
                break
            for line in lines:
                yield line
        await f.seek(tailer.end)

    return _tail_log_file


def _zip_files_and_folders(module, original):
    from skyutils.skypilot import zip_files

    return zip_files.make(module, original)


def _compute_zip_blob_id(module, original):
    from skyutils.skypilot import blob_id

    return blob_id.make(module, original)


def _stream_response(module, original):
    from skyutils.skypilot import stream

    return stream.make(module, original)


def _extract_members(module, original):
    from skyutils.skypilot import extract

    return extract.make(module, original)


_MAKERS = {
    'base36_encode': _base36_encode,
    'read_last_n_lines': _read_last_n_lines,
    'find_free_port': _find_free_port,
    'get_cpu_count': _get_cpu_count,
    'get_mem_size_gb': _get_mem_size_gb,
    'get_max_workers_for_file_mounts': _get_max_workers_for_file_mounts,
    '_tail_log_file': _tail_log_file,
    'zip_files_and_folders': _zip_files_and_folders,
    '_compute_zip_blob_id': _compute_zip_blob_id,
    'stream_response': _stream_response,
    '_extract_members': _extract_members,
}
