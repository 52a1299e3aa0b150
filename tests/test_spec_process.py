"""Spec for is_process_alive and find_free_port (spec §3, §12)."""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from ports import free_run, hold


def wait_for_zombie(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            if f.read().rsplit(b')', 1)[1].split()[0] == b'Z':
                return
        time.sleep(0.01)
    raise AssertionError(f'{pid} never became a zombie')


def test_alive_self_and_parent(impl):
    assert impl.is_process_alive(os.getpid()) is True
    assert impl.is_process_alive(os.getppid()) is True


@pytest.mark.parametrize('pid', [0, -1, -os.getpid(), -(2**40), 2**31, 2**63, 10**30])
def test_alive_impossible_pids(impl, pid):
    assert impl.is_process_alive(pid) is False


def test_alive_child_lifecycle(impl):
    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
    try:
        assert impl.is_process_alive(child.pid) is True
    finally:
        child.kill()
    if sys.platform.startswith('linux'):
        wait_for_zombie(child.pid)
        assert impl.is_process_alive(child.pid) is False  # zombie
    child.wait()
    assert impl.is_process_alive(child.pid) is False  # reaped


def test_alive_thread_id_is_not_a_process(impl):
    if not hasattr(threading, 'get_native_id') or not sys.platform.startswith('linux'):
        pytest.skip('thread ids are not pids here')
    tids = []
    stop = threading.Event()

    def run():
        tids.append(threading.get_native_id())
        stop.wait()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        while not tids:
            time.sleep(0.001)
        assert tids[0] != os.getpid()
        assert impl.is_process_alive(tids[0]) is False
    finally:
        stop.set()
        thread.join()


def test_alive_other_users_process(impl, as_unprivileged):
    if os.geteuid() != 0:
        pytest.skip('needs root to act as another user')
    with as_unprivileged():
        # pid 1 belongs to root: signalling it is denied, yet it exists.
        assert impl.is_process_alive(1) is True


def test_free_port_returns_start_when_free(impl):
    start = free_run(3)
    assert impl.find_free_port(start) == start


@pytest.mark.parametrize('host', ['127.0.0.1', '0.0.0.0', ''])
def test_free_port_skips_busy(impl, host):
    start = free_run(4)
    held = hold([start, start + 1], host)
    try:
        assert impl.find_free_port(start) == start + 2
    finally:
        for s in held:
            s.close()


def test_free_port_bound_without_listen_is_busy(impl):
    start = free_run(2)
    with socket.socket() as s:
        s.bind(('', start))
        assert impl.find_free_port(start) == start + 1


def test_free_port_leaves_port_free(impl):
    start = free_run(2)
    assert impl.find_free_port(start) == start
    with socket.socket() as s:
        s.bind(('', start))  # the probe socket was closed


def test_free_port_never_returns_65535(impl):
    with pytest.raises(OSError, match='No free ports available.'):
        impl.find_free_port(65535)
    with pytest.raises(OSError, match='No free ports available.'):
        impl.find_free_port(70000)


def test_free_port_zero(impl):
    assert impl.find_free_port(0) == 0


def test_free_port_bad_arguments(impl):
    with pytest.raises(OverflowError):
        impl.find_free_port(-1)
    with pytest.raises(TypeError):
        impl.find_free_port(1.5)
    with pytest.raises(TypeError):
        impl.find_free_port('8000')
