"""Hypothesis strategies shared by the conformance and differential suites."""

import hashlib
import os
import shutil

from hypothesis import strategies as st

hex_like = st.one_of(
    st.text(alphabet='0123456789abcdefABCDEF', min_size=1, max_size=64),
    st.text(alphabet='0123456789abcdefABCDEFxX_+- \t\n\x0b\x0c\x1c\x1f\x85\u3000g', max_size=24),
    st.builds(lambda b: b.hex(), st.binary(min_size=16, max_size=16)),
    st.sampled_from(
        [
            '0x0',
            '0X_f',
            '  +0xff  ',
            '0',
            '-0',
            '00',
            '٣',
            'ff\u00a0',
            '\x1c' + 'f' * 32,
            'f' * 32 + '\x0b',
        ]
    ),
)


words = st.text(alphabet=st.sampled_from('ab ü日🙂-  \t.'), max_size=80) | st.text(max_size=60)


byte_soup = st.lists(
    st.sampled_from(
        [
            b'a',
            b'bc',
            b'\n',
            b'\r',
            b'\r\n',
            b'\xff',
            b'\xe2\x82',
            b'\xac',
            b'\x00',
            b' ',
            b'\xc3\xa9',
            b'line\n',
        ]
    ),
    max_size=200,
).map(b''.join)


algorithms = st.sampled_from(
    sorted(hashlib.algorithms_available) + ['MD5', 'Sha256', 'SHA3_256', 'nope', '']
)


env_text = st.one_of(
    st.floats().map(str),
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(
        [
            '',
            ' 3 ',
            '1e3',
            'inf',
            '-inf',
            'nan',
            '1_0',
            '0x10',
            '2.9',
            '-0.5',
            '8Gi',
            '\t7\n',
            '１２',
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters='\x00'),
        max_size=12,
    ),
)


number_text = st.one_of(
    st.integers(min_value=-10, max_value=10**12).map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(['max', '', ' ', 'junk', '100000', '50000', '0', '-1', '1e5', 'inf']),
)
cgroup_file = st.one_of(
    st.none(),
    number_text,
    st.tuples(number_text, number_text).map(' '.join),
    st.sampled_from(
        [
            'max 100000',
            '50000 100000',
            '250000 100000',
            'nan 100000',
            '50000 0',
            '50000 nan',
            '-5 100000',
            '1e5 1e5',
            '50000 100000 7',
            '8589934592\n',
        ]
    ),
)


def make_cgroup_tree(root, layout, cpu, period, memory):
    """Writes a fresh cgroup tree ('v1', 'v2' or 'none' layout) at root; None skips a file."""
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    if layout == 'v2':
        files = {'cgroup.controllers': 'cpu memory', 'cpu.max': cpu, 'memory.max': memory}
    elif layout == 'v1':
        files = {
            'cpu/cpu.cfs_quota_us': cpu,
            'cpu/cpu.cfs_period_us': period,
            'memory/memory.limit_in_bytes': memory,
        }
    else:
        files = {}
    for relative, text in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if text is not None:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
    return root


def make_mount_dirs(root, sizes):
    """Fresh directories under root with the given entry counts: {'/remote/i': path}."""
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    mounts = {}
    for i, size in enumerate(sizes):
        directory = os.path.join(root, f'd{i}')
        os.makedirs(directory)
        for j in range(size):
            open(os.path.join(directory, str(j)), 'w').close()
        mounts[f'/remote/{i}'] = directory
    return mounts
