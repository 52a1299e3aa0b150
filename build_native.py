"""Builds the Rust library with cargo and puts it where skyutils loads it (skyutils/_lib/).

Used by setup.py during `pip install` / wheel builds, and runnable on its own:
    python build_native.py [--into DIR]

SKYUTILS_NATIVE decides whether a native build happens:
    1     build it; fail the install when the build fails
    0     no native library (a Python-only install)
    auto  build when cargo is on PATH (the default in a git checkout; an sdist's default is 0,
          so that what pip builds from it never depends on what happens to be installed)
SKYUTILS_CARGO_TARGET: cargo target triples, comma-separated, e.g. x86_64-unknown-linux-gnu.2.28
with SKYUTILS_CARGO=zigbuild (cargo-zigbuild) to link against an older glibc. Two or more are
fused with lipo (macOS universal2); a universal2 build (cibuildwheel sets _PYTHON_HOST_PLATFORM
and ARCHFLAGS) picks x86_64-apple-darwin and aarch64-apple-darwin by itself. zigbuild's
universal2-apple-darwin builds the fused library in one step (ci/build-wheels on Linux).
SKYUTILS_CARGO_FLAGS: more cargo arguments, space-separated (e.g. -Zbuild-std=std,panic_unwind
for a target whose standard library is built from source).
"""

import os
import shutil
import subprocess
import sys
from typing import List, Optional

ROOT = os.path.dirname(os.path.abspath(__file__))
CRATE_DIR = os.path.join(ROOT, 'native')
LIB_FILE = 'libskyutils.dylib' if sys.platform == 'darwin' else 'libskyutils.so'


def lib_file(target: Optional[str]) -> str:
    """The library's file name for a cargo target (None: this host)."""
    if target is None:
        return LIB_FILE
    return 'libskyutils.dylib' if 'apple-darwin' in target else 'libskyutils.so'


MODE_ENV = 'SKYUTILS_NATIVE'


class NativeBuildError(RuntimeError):
    """The library was asked for and could not be built."""


def is_sdist() -> bool:
    """An unpacked sdist has PKG-INFO at its root; a git checkout does not."""
    return os.path.isfile(os.path.join(ROOT, 'PKG-INFO'))


def mode() -> str:
    value = os.environ.get(MODE_ENV, '').strip().lower()
    if value in ('1', '0', 'auto'):
        return value
    if value:
        raise NativeBuildError(f'{MODE_ENV}={value!r}: use 1, 0 or auto')
    return '0' if is_sdist() else 'auto'


def cargo() -> str:
    return os.environ.get('CARGO', 'cargo')


# How to get the library when a build went without it (skyutils/_native.py says the same).
NATIVE_HINT = (
    'for the native library, install a platform wheel, or build with SKYUTILS_NATIVE=1 and '
    'cargo on PATH'
)


def python_only_reason() -> str:
    """Why this build is Python-only (when wanted() is False)."""
    chosen = mode()
    if chosen == '0':
        return f'{MODE_ENV}=0' if os.environ.get(MODE_ENV) else 'an sdist builds Python-only'
    if not os.path.isdir(CRATE_DIR):
        return 'the Rust crate (native/) is not here'
    return f'{cargo()} is not on PATH'


def wanted() -> bool:
    """Whether this build should include the native library."""
    chosen = mode()
    if chosen == 'auto':
        return shutil.which(cargo()) is not None and os.path.isdir(CRATE_DIR)
    return chosen == '1'


def _wants_universal2() -> bool:
    host = os.environ.get('_PYTHON_HOST_PLATFORM', '')
    archflags = os.environ.get('ARCHFLAGS', '')
    return host.endswith('universal2') or ('x86_64' in archflags and 'arm64' in archflags)


def targets() -> List[Optional[str]]:
    """The cargo targets to build; None is the host's own."""
    explicit = os.environ.get('SKYUTILS_CARGO_TARGET', '').strip()
    if explicit:
        return [t.strip() for t in explicit.split(',') if t.strip()]
    if sys.platform == 'darwin' and _wants_universal2():
        return ['x86_64-apple-darwin', 'aarch64-apple-darwin']
    return [None]


def _target_env(target: Optional[str]) -> dict:
    """The environment of one target's cargo run. Arm64 Macs start at macOS 11, so an arm64
    slice is marked 11.0 whatever older macOS the x86_64 slice supports (Apple's linker does
    the same; zig, under cargo-zigbuild, would stamp the older version on it)."""
    env = dict(os.environ)
    wanted = env.get('MACOSX_DEPLOYMENT_TARGET', '')
    if target and target.startswith('aarch64-apple-darwin') and wanted:
        major = wanted.split('.')[0]
        if major.isdigit() and int(major) < 11:
            env['MACOSX_DEPLOYMENT_TARGET'] = '11.0'
    return env


def _cargo_build(target: Optional[str]) -> str:
    """Builds one target; returns the path of the library cargo wrote."""
    subcommand = os.environ.get('SKYUTILS_CARGO', 'build')
    command = [
        cargo(),
        subcommand,
        '--release',
        '--locked',
        '--manifest-path',
        os.path.join(CRATE_DIR, 'Cargo.toml'),
    ]
    if target:
        command += ['--target', target]
    command += os.environ.get('SKYUTILS_CARGO_FLAGS', '').split()
    print('build_native:', ' '.join(command), flush=True)
    result = subprocess.run(command, check=False, env=_target_env(target))
    if result.returncode != 0:
        raise NativeBuildError(f'cargo failed with exit code {result.returncode}')
    target_dir = os.environ.get('CARGO_TARGET_DIR', os.path.join(CRATE_DIR, 'target'))
    # zigbuild's "triple.glibc" targets put their output under the plain triple.
    parts = [target.split('.')[0]] if target else []
    return os.path.join(target_dir, *parts, 'release', lib_file(target))


def build(into: str) -> str:
    """Runs cargo (release) and copies the library to `into`/LIB_FILE; returns that path."""
    if not os.path.isfile(os.path.join(CRATE_DIR, 'Cargo.toml')):
        raise NativeBuildError(f'no Rust crate at {CRATE_DIR} (this source tree has no native/)')
    if shutil.which(cargo()) is None:
        raise NativeBuildError(f'{MODE_ENV}=1 but cargo ({cargo()}) is not on PATH')
    wanted_targets = targets()
    built = [_cargo_build(target) for target in wanted_targets]
    os.makedirs(into, exist_ok=True)
    destination = os.path.join(into, lib_file(wanted_targets[0]))
    # Written beside it, then renamed over it: a process that has the old library mapped
    # keeps its inode (rewriting a mapped library in place kills that process with SIGBUS).
    staging = destination + '.new'
    if len(built) == 1:
        shutil.copyfile(built[0], staging)
    else:
        # One file with a slice per architecture (macOS universal2).
        command = ['lipo', '-create', '-output', staging] + built
        print('build_native:', ' '.join(command), flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            raise NativeBuildError('lipo failed to fuse the per-architecture libraries')
    if wanted_targets[0] and '-linux-musl' in wanted_targets[0]:
        _name_musl_libc(
            staging if os.path.exists(staging) else destination, wanted_targets[0].split('-')[0]
        )
    os.replace(staging, destination)
    return destination


def _name_musl_libc(library: str, arch: str) -> None:
    """Names musl's C library as musllinux platforms do (libc.musl-<arch>.so.1, what a build
    inside a musllinux container records and what auditwheel's policy lists) rather than zig's
    `libc.so`. musl's loader takes any libc.* name for itself, so either loads; only the tag
    check tells them apart."""
    needed = subprocess.run(
        ['patchelf', '--print-needed', library], capture_output=True, text=True, check=False
    )
    if needed.returncode != 0:
        raise NativeBuildError(
            'a musl build needs patchelf on PATH to name libc: '
            + (needed.stderr.strip() or 'patchelf failed')
        )
    if 'libc.so' in needed.stdout.split():
        command = ['patchelf', '--replace-needed', 'libc.so', f'libc.musl-{arch}.so.1', library]
        print('build_native:', ' '.join(command), flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            raise NativeBuildError('patchelf failed to rename libc.so')


if __name__ == '__main__':
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--into',
        default=os.path.join(ROOT, 'skyutils', '_lib'),
        help='directory to put the library in (default: skyutils/_lib)',
    )
    args = parser.parse_args()
    try:
        print(build(args.into))
    except NativeBuildError as e:
        sys.exit(f'build_native: {e}')
