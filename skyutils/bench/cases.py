"""Each function's hot cases, their targets, and what builds them."""

import hashlib
import os
from typing import Callable, Dict, List, Optional

from skyutils import _abi
from skyutils.bench.fixtures import Fixtures
from skyutils.bench.floors import Timer, cgroup_root, library_floor, tail_floor


class Case:
    """One measurement: a function, its arguments, and how many calls one timing covers."""

    def __init__(
        self,
        function: str,
        label: str,
        args: tuple = (),
        calls: int = 1,
        floor: Optional[Timer] = None,
        floor_note: str = '',
    ):
        self.function = function
        self.label = label
        self.args = args
        self.calls = calls  # > 1: `args[0]` is a list, one call per item (e.g. 500 pids)
        # The least work any implementation returning the same Python objects must do, timed
        # in the same rounds as the others: `skypilot / floor` is the best ratio this machine
        # allows. None when there is nothing to time it with (no library) or no such floor.
        self.floor = floor
        self.floor_note = floor_note


# The targets set when the functions were first measured: skypilot time / skyutils time, per
# (function, case label prefix). A target marked 'floor' means "within 10% of the floor"
# (directory counting: the kernel's time).
TARGETS = {
    ('read_last_n_lines', 'n=10,'): 3.0,
    ('read_last_n_lines', 'n=1000,'): 8.0,
    ('read_last_n_lines', 'n=100000,'): 8.0,
    ('estimate_fd_for_directory', ''): 'floor',
    ('get_max_workers_for_file_mounts', ''): 'floor',
    ('get_cpu_count', ''): 5.0,
    ('get_mem_size_gb', ''): 15.0,
    ('is_process_alive', ''): 15.0,
    ('find_free_port', ''): 3.0,
    ('base36_encode', ''): 4.0,
    ('hash_file', ''): 0.97,
    ('format_float', ''): 1.0,
    ('truncate_long_string', ''): 1.0,
    ('get_parallel_threads', ''): 1.0,
}


FLOOR_SLACK = 1.10  # 'within 10% of the floor'


MEAN_TARGETS = {'geometric_mean': 4.0, 'arithmetic_mean': 8.5, 'minimum': 1.0}


def target_of(function: str, label: str):
    for (name, prefix), target in TARGETS.items():
        if name == function and label.startswith(prefix):
            return target
    return None


def build_cases(fx: Fixtures, functions: Optional[List[str]] = None) -> List[Case]:
    """The cases of `functions` (all when None); fixtures are made only for those."""
    cases = []
    for function, make in case_makers(fx).items():
        if not functions or function in functions:
            cases.extend(make())
    return cases


def case_makers(fx: Fixtures) -> Dict[str, Callable[[], List[Case]]]:
    """function -> what builds its cases (and their fixtures) when called."""
    quick = fx.quick
    big = (64 if quick else 1024) << 20
    big_name = f'{big >> 20} MiB'
    entries = 10_000 if quick else 100_000
    pids = 100 if quick else 500
    busy = 100 if quick else 500
    hashed = (16 if quick else 64) << 20
    return dict(
        [
            (
                'read_last_n_lines',
                lambda: (
                    [
                        _tail_case(f'n={n}, {big_name} log', fx.log(big), n)
                        for n in (10, 1000, 100_000)
                    ]
                    + [_tail_case('n=1000, 10 MiB log', fx.log(10 << 20), 1000)]
                ),
            ),
            (
                'estimate_fd_for_directory',
                lambda: [
                    Case(
                        'estimate_fd_for_directory',
                        f'{entries} entries',
                        (fx.directory(entries),),
                        floor=library_floor(
                            _abi.FLOOR_DIRECTORY, os.fsencode(fx.directory(entries))
                        ),
                        floor_note='open, getdents64 into 32 KiB until done, close',
                    )
                ],
            ),
            (
                'get_max_workers_for_file_mounts',
                lambda: [
                    Case(
                        'get_max_workers_for_file_mounts',
                        f'one dir of {entries} entries',
                        ({'/remote': fx.directory(entries)},),
                        floor=library_floor(
                            _abi.FLOOR_DIRECTORY, os.fsencode(fx.directory(entries))
                        ),
                        floor_note='the directory count above',
                    )
                ],
            ),
            (
                'get_cpu_count',
                lambda: [
                    Case(
                        'get_cpu_count',
                        'cgroup and affinity read',
                        floor=library_floor(_abi.FLOOR_CPU_COUNT, cgroup_root()),
                        floor_note=(
                            'sysconf (reads sysfs), sched_getaffinity, stat, the cgroup CPU '
                            'files SkyPilot reads here'
                        ),
                    )
                ],
            ),
            (
                'get_mem_size_gb',
                lambda: [
                    Case(
                        'get_mem_size_gb',
                        'physical memory and cgroup limit',
                        floor=library_floor(_abi.FLOOR_MEMORY, cgroup_root()),
                        floor_note=(
                            '/proc/meminfo, stat, the cgroup memory file '
                            '(each open, fstat, read, close)'
                        ),
                    )
                ],
            ),
            ('is_process_alive', lambda: [_alive_case(fx.live_pids(pids))]),
            (
                'find_free_port',
                lambda: [
                    Case('find_free_port', f'{busy} busy ports ahead', (fx.busy_ports(busy),))
                ],
            ),
            (
                'base36_encode',
                lambda: [
                    Case('base36_encode', '32-digit hex', (hashlib.md5(b'bench').hexdigest(),))
                ],
            ),
            (
                'hash_file',
                lambda: [
                    Case('hash_file', f'sha256, {hashed >> 20} MiB', (fx.blob(hashed), 'sha256'))
                ],
            ),
            ('format_float', lambda: [Case('format_float', '2.25', (2.25,))]),
            (
                'truncate_long_string',
                lambda: [
                    Case(
                        'truncate_long_string',
                        '35 of a 60-char command',
                        ('sky launch --cloud aws --gpus A100:8 task.yaml --env FOO=bar --detach',),
                    )
                ],
            ),
            (
                'get_parallel_threads',
                lambda: [Case('get_parallel_threads', "'kubernetes'", ('kubernetes',))],
            ),
        ]
    )


def _tail_case(label: str, path: str, n: int) -> Case:
    return Case(
        'read_last_n_lines',
        label,
        (path, n),
        floor=tail_floor(path, n),
        floor_note='open, fstat, lseek, one pread of the tail, close; then decode '
        'and split into n str',
    )


def _alive_case(pids: List[int]) -> Case:
    return Case(
        'is_process_alive',
        f'{len(pids)} live pids',
        (pids,),
        calls=len(pids),
        floor=library_floor(_abi.FLOOR_PROCESS, amount=pids[0]),
        floor_note='pidfd_open, close, open + read + close of /proc/<pid>/stat (per pid)',
    )
