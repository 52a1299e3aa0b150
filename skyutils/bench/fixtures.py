"""The files, directories, processes and sockets the cases run on; all removed on close."""

import os
import shutil
import socket
import subprocess
import tempfile
from typing import Callable, List

LINE = b'x' * 99 + b'\n'  # the spec's log: 100-byte lines


def _write_log(path: str, size: int) -> None:
    block = LINE * (1024 * 1024 // len(LINE))
    with open(path, 'wb') as f:
        written = 0
        while written < size:
            f.write(block)
            written += len(block)


class Fixtures:
    """Files, directories, processes and sockets the cases need; all removed on close."""

    def __init__(self, quick: bool, say: Callable[[str], None]):
        self.quick = quick
        self.say = say
        self.dir = tempfile.mkdtemp(prefix='skyutils-bench-')
        self.children: List[subprocess.Popen] = []
        self.sockets: List[socket.socket] = []

    def log(self, size: int) -> str:
        path = os.path.join(self.dir, f'log-{size}')
        if not os.path.exists(path):
            self.say(f'writing a {size >> 20} MiB log')
            _write_log(path, size)
        return path

    def blob(self, size: int) -> str:
        path = os.path.join(self.dir, f'blob-{size}')
        if not os.path.exists(path):
            with open(path, 'wb') as f:
                for _ in range(size >> 20):
                    f.write(os.urandom(1 << 20))
        return path

    def directory(self, entries: int) -> str:
        path = os.path.join(self.dir, f'dir-{entries}')
        if not os.path.exists(path):
            self.say(f'creating a directory of {entries} entries')
            os.mkdir(path)
            for i in range(entries):
                os.close(os.open(os.path.join(path, f'entry-{i:07d}'), os.O_CREAT | os.O_WRONLY))
        return path

    def live_pids(self, count: int) -> List[int]:
        self.say(f'starting {count} sleeping processes')
        while len(self.children) < count:
            self.children.append(subprocess.Popen(['sleep', '3600']))
        return [child.pid for child in self.children[:count]]

    def busy_ports(self, count: int) -> int:
        """A start port with `count` listening ports from it on; the next one is free."""
        for _ in range(100):
            with socket.socket() as probe:
                probe.bind(('127.0.0.1', 0))
                start = probe.getsockname()[1]
            start = start % 20000 + 20000  # keep the run inside 20000..40000+count
            held = []
            try:
                for port in range(start, start + count):
                    s = socket.socket()
                    held.append(s)
                    s.bind(('', port))
                    s.listen()
                self.sockets.extend(held)
                return start
            except OSError:
                for s in held:
                    s.close()
        raise RuntimeError(f'found no run of {count} free ports')

    def close(self) -> None:
        for child in self.children:
            child.kill()
            child.wait()
        for s in self.sockets:
            s.close()
        shutil.rmtree(self.dir, ignore_errors=True)
