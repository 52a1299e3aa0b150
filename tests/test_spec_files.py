"""Spec tables for read_last_n_lines, hash_file and estimate_fd_for_directory (§2, §6, §11)."""

import hashlib
import os

import pytest


@pytest.fixture
def write_file(tmp_path):
    def write(data: bytes, name: str = 'log.txt') -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


@pytest.mark.parametrize(
    'data, n, expected',
    [
        (b'a\nb\nc\n', 1, ['c']),
        (b'a\nb\nc\n', 2, ['b\n', 'c']),
        (b'a\nb\nc\n', 5, ['a\n', 'b\n', 'c']),
        (b'a\nb\nc', 2, ['b\n', 'c']),
        (b'a\r\nb\r\nc\r\n', 2, ['b\n', 'c']),
        (b'\n', 1, ['']),
        (b'\n\n', 2, ['\n', '']),
        (b'a\n\nb\n', 2, ['\n', 'b']),
        (b'x\r\r\ny\r', 2, ['x\n', 'y']),
        (b'\xff\xfebad\n', 1, ['\ufffd\ufffdbad']),
        (b'', 3, []),
        (b'a\nb\n', 0, []),
    ],
)
def test_read_last_n_lines_table(impl, write_file, data, n, expected):
    assert impl.read_last_n_lines(write_file(data), n) == expected


@pytest.mark.parametrize('chunk_size', [1, 2, 3, 7, 8192, 10**9])
def test_read_last_n_lines_ignores_chunk_size(impl, write_file, chunk_size):
    path = write_file(b''.join(b'line %d\r\n' % i for i in range(500)))
    expected = [f'line {i}\n' for i in range(480, 499)] + ['line 499']
    assert impl.read_last_n_lines(path, 20, chunk_size=chunk_size) == expected


def test_read_last_n_lines_huge_n_returns_whole_file(impl, write_file):
    path = write_file(b'a\nb\n')
    assert impl.read_last_n_lines(path, 10**30) == ['a\n', 'b']


def test_read_last_n_lines_long_tail_across_blocks(impl, write_file):
    lines = [b'%06d' % i + b'x' * (i % 300) for i in range(20000)]
    path = write_file(b'\n'.join(lines) + b'\n')
    got = impl.read_last_n_lines(path, 15000)
    assert len(got) == 15000
    assert got[0] == lines[5000].decode() + '\n'
    assert got[-1] == lines[-1].decode()


def test_read_last_n_lines_checks_in_order(impl, tmp_path):
    missing = str(tmp_path / 'missing')
    with pytest.raises(AssertionError, match='n must be non-negative'):
        impl.read_last_n_lines(missing, -1, chunk_size=0)
    with pytest.raises(AssertionError, match='chunk_size must be positive'):
        impl.read_last_n_lines(missing, 1, chunk_size=0)
    with pytest.raises(AssertionError, match='File not found'):
        impl.read_last_n_lines(missing, 0)


def test_read_last_n_lines_directory_is_runtime_error(impl, tmp_path):
    with pytest.raises(RuntimeError, match=r'Failed to read last 3 lines from') as info:
        impl.read_last_n_lines(str(tmp_path), 3)
    assert isinstance(info.value.__cause__, OSError)


def test_read_last_n_lines_decode_errors_pass_through(impl, write_file):
    path = write_file(b'ok\n\xff\n')
    with pytest.raises(UnicodeDecodeError):
        impl.read_last_n_lines(path, 2, errors='strict')
    with pytest.raises(LookupError):
        impl.read_last_n_lines(path, 2, encoding='no-such-codec')


def test_read_last_n_lines_other_encoding(impl, write_file):
    path = write_file('é\nü\n'.encode('latin-1'))
    assert impl.read_last_n_lines(path, 2, encoding='latin-1') == ['é\n', 'ü']
    assert impl.read_last_n_lines(path, 2, errors='ignore') == ['\n', '']


def test_read_last_n_lines_empty_file_never_decodes(impl, write_file):
    assert impl.read_last_n_lines(write_file(b''), 1, encoding='no-such-codec') == []


def test_hash_file_known_digests(impl, write_file):
    assert impl.hash_file(write_file(b''), 'md5').hexdigest() == 'd41d8cd98f00b204e9800998ecf8427e'
    digest = impl.hash_file(write_file(b'hello world\n'), 'sha256').hexdigest()
    assert digest == 'a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447'


def test_hash_file_returns_hash_object(impl, write_file):
    data = os.urandom(3 * 1024 * 1024 + 17)
    got = impl.hash_file(write_file(data), 'SHA512')
    assert got.name == 'sha512'
    assert got.digest() == hashlib.sha512(data).digest()
    got.update(b'more')
    assert got.hexdigest() == hashlib.sha512(data + b'more').hexdigest()


def test_hash_file_errors(impl, tmp_path, write_file):
    with pytest.raises(FileNotFoundError):
        impl.hash_file(str(tmp_path / 'missing'), 'no-such-alg')
    with pytest.raises(IsADirectoryError):
        impl.hash_file(str(tmp_path), 'md5')
    with pytest.raises(ValueError, match='unsupported hash type'):
        impl.hash_file(write_file(b'x'), 'no-such-alg')


def test_estimate_fd_counts_entries(impl, tmp_path):
    for i in range(7):
        (tmp_path / f'f{i}').write_text('x')
    (tmp_path / '.hidden').write_text('x')
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'deep').write_text('x')
    os.symlink('/nonexistent', tmp_path / 'dangling')
    assert impl.estimate_fd_for_directory(str(tmp_path)) == 5 * 10
    assert impl.estimate_fd_for_directory(str(tmp_path / 'sub')) == 5


def test_estimate_fd_errors(impl, tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(FileNotFoundError):
        impl.estimate_fd_for_directory(str(tmp_path / 'missing'))
    with pytest.raises(NotADirectoryError):
        impl.estimate_fd_for_directory(str(tmp_path / 'file'))


def test_permission_denied(impl, shared_dir, as_unprivileged):
    secret = os.path.join(shared_dir, 'secret')
    with open(secret, 'wb') as f:
        f.write(b'x\n')
    os.chmod(secret, 0)
    closed = os.path.join(shared_dir, 'closed')
    os.mkdir(closed, 0)
    with as_unprivileged():
        with pytest.raises(PermissionError):
            impl.hash_file(secret, 'md5')
        with pytest.raises(PermissionError):
            impl.estimate_fd_for_directory(closed)
        with pytest.raises(RuntimeError) as info:
            impl.read_last_n_lines(secret, 1)
        assert isinstance(info.value.__cause__, PermissionError)
