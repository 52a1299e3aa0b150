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
and ARCHFLAGS) picks x86_64-apple-darwin and aarch64-apple-darwin by itself.
"""
import os
import shutil
import subprocess
import sys
from typing import List, Optional

ROOT = os.path.dirname(os.path.abspath(__file__))
CRATE_DIR = os.path.join(ROOT, 'native')
LIB_FILE = 'libskyutils.dylib' if sys.platform == 'darwin' else 'libskyutils.so'
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


def _cargo_build(target: Optional[str]) -> str:
    """Builds one target; returns the path of the library cargo wrote."""
    subcommand = os.environ.get('SKYUTILS_CARGO', 'build')
    command = [cargo(), subcommand, '--release', '--locked',
               '--manifest-path', os.path.join(CRATE_DIR, 'Cargo.toml')]
    if target:
        command += ['--target', target]
    print('build_native:', ' '.join(command), flush=True)
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise NativeBuildError(f'cargo failed with exit code {result.returncode}')
    target_dir = os.environ.get('CARGO_TARGET_DIR', os.path.join(CRATE_DIR, 'target'))
    # zigbuild's "triple.glibc" targets put their output under the plain triple.
    parts = [target.split('.')[0]] if target else []
    return os.path.join(target_dir, *parts, 'release', LIB_FILE)


def build(into: str) -> str:
    """Runs cargo (release) and copies the library to `into`/LIB_FILE; returns that path."""
    if not os.path.isfile(os.path.join(CRATE_DIR, 'Cargo.toml')):
        raise NativeBuildError(f'no Rust crate at {CRATE_DIR} (this source tree has no native/)')
    if shutil.which(cargo()) is None:
        raise NativeBuildError(f'{MODE_ENV}=1 but cargo ({cargo()}) is not on PATH')
    built = [_cargo_build(target) for target in targets()]
    os.makedirs(into, exist_ok=True)
    destination = os.path.join(into, LIB_FILE)
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
    os.replace(staging, destination)
    return destination


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--into', default=os.path.join(ROOT, 'skyutils', '_lib'),
                        help='directory to put the library in (default: skyutils/_lib)')
    args = parser.parse_args()
    try:
        print(build(args.into))
    except NativeBuildError as e:
        sys.exit(f'build_native: {e}')
