"""Finding runs of free TCP ports for the find_free_port tests."""

import socket
from typing import List


def kernel_port() -> int:
    """A port the kernel hands out as free on loopback."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def free_run(length: int) -> int:
    """A start port such that `length` ports from it are free right now."""
    for _ in range(200):
        start = kernel_port()
        if start + length >= 65535:
            continue
        sockets = []
        try:
            for port in range(start, start + length):
                s = socket.socket()
                sockets.append(s)
                s.bind(('', port))
            return start
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError('no run of free ports found')


def hold(ports: List[int], host: str = '') -> List[socket.socket]:
    """Listening sockets on these ports; the caller closes them."""
    held = []
    for port in ports:
        s = socket.socket()
        s.bind((host, port))
        s.listen()
        held.append(s)
    return held
