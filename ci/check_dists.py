"""Verifies every wheel in wheelhouse/ and sdist in dist/ by script, not by eye.

Usage: python ci/check_dists.py [wheelhouse] [dist]    (ci/check-wheels runs it)

A wheel: named py3-none-<a supported platform>; holds exactly the package's modules, py.typed,
the startup hook, the library and its metadata (py3-none-any: no library); it exports every
function of skyutils.h. The tag is checked against the binary: ELF machine, glibc (highest
GLIBC_x.y within manylinux_2_28, and auditwheel's verdict) or musl (libc.so, no glibc symbol
versions); for macOS each Mach-O slice, its minimum macOS, install name and libraries, read here
and listed by delocate. An sdist: carries the Python and Rust sources and no binary. Exit 1
with one line per problem.
"""

import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
from typing import Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, 'native', 'include', 'skyutils.h')


def _load_libcheck():
    """skyutils/_libcheck.py on its own (importing the package would need its dependencies)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        'skyutils_libcheck', os.path.join(ROOT, 'skyutils', '_libcheck.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_libcheck = _load_libcheck()  # the same header check the loader runs before dlopen

DIST_NAME = 'skypilot_rust'
ELF_MACHINES = {'x86_64': 62, 'aarch64': 183}
MACHO_CPUS = {'x86_64': 0x01000007, 'arm64': 0x0100000C}
PLATFORMS = re.compile(
    r'^(manylinux_2_28_(x86_64|aarch64)|musllinux_1_2_(x86_64|aarch64)|'
    r'macosx_(\d+)_(\d+)_universal2)$'
)
BINARY_SUFFIXES = ('.so', '.dylib', '.dll', '.pyd', '.o', '.a', '.whl')


def header_functions() -> Set[str]:
    with open(HEADER, encoding='utf-8') as f:
        text = re.sub(r'/\*.*?\*/', '', f.read(), flags=re.S)
    return set(re.findall(r'\b(skyutils_\w+)\s*\(', text))


# The startup hook and its table, at the wheel's top: installed into site-packages itself.
STARTUP_HOOK = ('_skyutils_hook.py', '_skyutils_verified.py', 'skypilot_rust.pth')


def package_modules() -> Set[str]:
    """Every .py file of the package in the source tree, as wheel paths."""
    found = set()
    for directory, _, files in os.walk(os.path.join(ROOT, 'skyutils')):
        for name in files:
            if name.endswith('.py'):
                found.add(os.path.relpath(os.path.join(directory, name), ROOT).replace(os.sep, '/'))
    return found


def elf_facts(data: bytes) -> Tuple[int, Set[str], Optional[Tuple[int, int]], List[str]]:
    """(e_machine, exported skyutils_* symbols, highest GLIBC_x.y needed or None, NEEDED)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    elf = ELFFile(io.BytesIO(data))
    exports = set()
    dynsym = elf.get_section_by_name('.dynsym')
    for symbol in dynsym.iter_symbols():
        if (
            symbol.name.startswith('skyutils_')
            and symbol['st_shndx'] != 'SHN_UNDEF'
            and symbol['st_info']['bind'] == 'STB_GLOBAL'
        ):
            exports.add(symbol.name)
    highest = None
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for _, auxiliaries in section.iter_versions():
                for aux in auxiliaries:
                    match = re.fullmatch(r'GLIBC_(\d+)\.(\d+)(?:\.\d+)?', aux.name)
                    if match:
                        version = (int(match.group(1)), int(match.group(2)))
                        highest = max(highest or version, version)
    dynamic = elf.get_section_by_name('.dynamic')
    needed = [tag.needed for tag in dynamic.iter_tags() if tag.entry.d_tag == 'DT_NEEDED']
    return elf['e_machine'], exports, highest, needed


class MachOSlice(NamedTuple):
    exports: Set[str]  # skyutils_* symbols the slice defines and exports
    minos: Optional[Tuple[int, int]]  # its minimum macOS (LC_BUILD_VERSION/LC_VERSION_MIN)
    install_name: Optional[str]  # LC_ID_DYLIB
    dylibs: List[str]  # the libraries it loads


MACHO_CPU_NAMES = {cpu: arch for arch, cpu in MACHO_CPUS.items()}


def macho_slices(data: bytes) -> Dict[str, MachOSlice]:
    """Each slice of a (fat or thin) 64-bit Mach-O library, by architecture, read by this
    script itself so that Linux can check what only macOS's otool and nm would otherwise say."""
    if data[:4] == b'\xca\xfe\xba\xbe':  # fat header: big-endian (cpu, subtype, offset, size)
        count = struct.unpack_from('>I', data, 4)[0]
        parts = [struct.unpack_from('>iiIII', data, 8 + 20 * i) for i in range(count)]
        return {
            MACHO_CPU_NAMES.get(cpu & 0xFFFFFFFF, hex(cpu & 0xFFFFFFFF)): macho_slice(
                data[offset : offset + size]
            )
            for cpu, _, offset, size, _ in parts
        }
    cpu = struct.unpack_from('<I', data, 4)[0]
    return {MACHO_CPU_NAMES.get(cpu, hex(cpu)): macho_slice(data)}


def macho_slice(data: bytes) -> MachOSlice:
    if data[:4] != b'\xcf\xfa\xed\xfe':
        raise ValueError('not a little-endian 64-bit Mach-O slice')
    ncmds = struct.unpack_from('<I', data, 16)[0]
    offset, exports, minos, install_name, dylibs = 32, set(), None, None, []

    def version(packed: int) -> Tuple[int, int]:
        return packed >> 16, (packed >> 8) & 0xFF

    def dylib_name(at: int) -> str:
        start = at + struct.unpack_from('<I', data, at + 8)[0]
        return data[start : data.index(b'\0', start)].decode()

    for _ in range(ncmds):
        cmd, size = struct.unpack_from('<II', data, offset)
        if cmd == 0x2:  # LC_SYMTAB: nlist_64 entries and their string table
            symoff, nsyms, stroff, _ = struct.unpack_from('<IIII', data, offset + 8)
            for i in range(nsyms):
                strx, kind = struct.unpack_from('<IB', data, symoff + 16 * i)
                # N_EXT and N_SECT, not a debugging entry: defined here and exported.
                if kind & 0xE0 == 0 and kind & 0x0F == 0x0F:
                    name = data[stroff + strx : data.index(b'\0', stroff + strx)].decode()
                    if name.startswith('_skyutils_'):
                        exports.add(name[1:])
        elif cmd == 0xD:  # LC_ID_DYLIB
            install_name = dylib_name(offset)
        elif cmd in (0xC, 0x80000018, 0x8000001F):  # LC_LOAD_DYLIB, weak, re-export
            dylibs.append(dylib_name(offset))
        elif cmd == 0x24:  # LC_VERSION_MIN_MACOSX
            minos = version(struct.unpack_from('<I', data, offset + 8)[0])
        elif cmd == 0x32:  # LC_BUILD_VERSION: platform, minos
            minos = version(struct.unpack_from('<I', data, offset + 12)[0])
        offset += size
    return MachOSlice(exports, minos, install_name, dylibs)


def check_wheel(path: str) -> Iterator[str]:
    name = os.path.basename(path)
    parts = name[: -len('.whl')].split('-')
    if len(parts) != 5 or parts[0] != DIST_NAME:
        yield f'{name}: not a {DIST_NAME} wheel name'
        return
    python, abi, platforms = parts[2], parts[3], parts[4].split('.')
    if (python, abi) != ('py3', 'none'):
        yield f'{name}: tagged {python}-{abi}, wants py3-none (the library has no CPython ABI)'
    bad = [p for p in platforms if not PLATFORMS.match(p) and p != 'any']
    if bad or len(platforms) != 1:
        yield f'{name}: platform tag {parts[4]} is not one of the supported single tags'
        return
    platform = platforms[0]
    version = parts[1]
    dist_info = f'{DIST_NAME}-{version}.dist-info/'
    lib_name = 'libskyutils.dylib' if platform.startswith('macosx') else 'libskyutils.so'
    lib_entry = f'skyutils/_lib/{lib_name}'
    with zipfile.ZipFile(path) as wheel:
        entries = [e for e in wheel.namelist() if not e.endswith('/')]
        library = wheel.read(lib_entry) if lib_entry in entries else None
    modules = package_modules()
    allowed_metadata = {
        'METADATA',
        'WHEEL',
        'RECORD',
        'entry_points.txt',
        'top_level.txt',
        'LICENSE',
        'licenses/LICENSE',
    }
    for entry in entries:
        if entry in modules or entry in (lib_entry, 'skyutils/py.typed') + STARTUP_HOOK:
            continue
        if entry.startswith(dist_info) and entry[len(dist_info) :] in allowed_metadata:
            continue
        yield f'{name}: unexpected file {entry}'
    for module in sorted(modules - set(entries)):
        yield f'{name}: missing module {module}'
    for hook in STARTUP_HOOK:
        if hook not in entries:
            yield f'{name}: missing the startup hook file {hook}'
    if platform == 'any':  # the Python-only wheel: no library, nothing else to prove
        if library is not None:
            yield f'{name}: the Python-only wheel carries {lib_entry}'
        return
    if library is None:
        yield f'{name}: no library at {lib_entry}'
        return
    wanted = header_functions()
    if platform.startswith(('manylinux', 'musllinux')):
        yield from check_elf_library(name, path, platform, library, wanted)
    else:
        yield from check_macos_library(name, path, platform, library, wanted)


def check_elf_library(
    name: str, path: str, platform: str, library: bytes, wanted: Set[str]
) -> Iterator[str]:
    arch = platform.split('_', 3)[-1]
    if library[:4] != b'\x7fELF':
        yield f'{name}: the library is not an ELF file'
        return
    unsound = _libcheck.problem_of_bytes(library)
    if unsound and 'built for' not in unsound:  # the architecture is checked below
        yield f'{name}: library {unsound}'
    machine, exports, highest, needed = elf_facts(library)
    if machine != f'EM_{arch.upper()}' and machine != ELF_MACHINES.get(arch):
        yield f'{name}: library is built for {machine}, the tag says {arch}'
    if platform.startswith('manylinux'):
        limit = (2, 28)
        if highest is None or highest > limit:
            yield f'{name}: highest GLIBC symbol version {highest} exceeds {limit}'
        if 'libc.so.6' not in needed:
            yield f'{name}: a manylinux library must load glibc (libc.so.6); it loads {needed}'
    else:
        # musl's C library under the musllinux name, with no symbol versions; glibc's would
        # not load there.
        if highest is not None or 'libc.so.6' in needed:
            yield f'{name}: a musllinux library needs glibc ({highest}, {needed})'
        if f'libc.musl-{arch}.so.1' not in needed:
            yield f'{name}: a musllinux library must load libc.musl-{arch}.so.1; it loads {needed}'
    yield from auditwheel_verdict(path, platform)
    missing = wanted - exports
    if missing:
        yield f'{name}: library does not export {sorted(missing)}'


# What a macOS library may load: the system's own libraries, present on every Mac.
MACOS_SYSTEM_PREFIXES = ('/usr/lib/', '/System/Library/')


def check_macos_library(
    name: str, path: str, platform: str, library: bytes, wanted: Set[str]
) -> Iterator[str]:
    try:
        slices = macho_slices(library)
    except (ValueError, struct.error, IndexError) as e:
        yield f'{name}: the library is not a readable Mach-O file: {e}'
        return
    if set(slices) != set(MACHO_CPUS):
        yield f'{name}: universal2 library has slices {sorted(slices)}, wants {sorted(MACHO_CPUS)}'
    tag_version = tuple(int(x) for x in PLATFORMS.match(platform).group(4, 5))
    for arch, facts in sorted(slices.items()):
        if wanted - facts.exports:
            yield f'{name}: {arch} slice does not export {sorted(wanted - facts.exports)}'
        # x86_64 must run on the tag's macOS; arm64 Macs start at 11.0, which any tag allows.
        allowed = (11, 0) if arch == 'arm64' else tag_version
        if facts.minos is None or facts.minos > allowed:
            yield f'{name}: {arch} slice needs macOS {facts.minos}, the tag allows {allowed}'
        if arch == 'x86_64' and facts.minos != tag_version:
            yield f'{name}: x86_64 slice is marked macOS {facts.minos}, the tag says {tag_version}'
        if facts.install_name != '@rpath/libskyutils.dylib':
            yield f'{name}: {arch} slice install name is {facts.install_name!r}, wants @rpath'
        foreign = [d for d in facts.dylibs if not d.startswith(MACOS_SYSTEM_PREFIXES)]
        if foreign:
            yield f'{name}: {arch} slice loads non-system libraries {foreign}'
    yield from delocate_listing(path)


def delocate_listing(path: str) -> Iterator[str]:
    """delocate's own list of what the wheel's libraries load: system libraries only (delocate
    reads with otool; off macOS, ci/check-wheels puts llvm's otool on PATH under that name)."""
    listdeps = os.path.join(os.path.dirname(sys.executable), 'delocate-listdeps')
    if not os.path.exists(listdeps):
        yield f'{os.path.basename(path)}: delocate is not installed beside this Python'
        return
    if shutil.which('otool') is None:
        yield f'{os.path.basename(path)}: no otool for delocate (ci/check-wheels provides one)'
        return
    done = subprocess.run(
        [listdeps, '--all', '--depending', path], capture_output=True, text=True, check=False
    )
    listed = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith('/')]
    if done.returncode != 0 or not listed:
        yield f'{os.path.basename(path)}: delocate-listdeps failed: {done.stdout}{done.stderr}'
    foreign = [line for line in listed if not line.startswith(MACOS_SYSTEM_PREFIXES)]
    if foreign:
        yield f'{os.path.basename(path)}: delocate lists non-system libraries {foreign}'
    print(f'delocate-listdeps {os.path.basename(path)}: {", ".join(listed)}')


def auditwheel_verdict(path: str, platform: str) -> Iterator[str]:
    """auditwheel's own word that the wheel is consistent with its manylinux/musllinux tag."""
    auditwheel = os.path.join(os.path.dirname(sys.executable), 'auditwheel')
    if not os.path.exists(auditwheel):
        yield f'{os.path.basename(path)}: auditwheel is not installed beside this Python'
        return
    done = subprocess.run([auditwheel, 'show', path], capture_output=True, text=True, check=False)
    said = ' '.join(done.stdout.split())
    if (
        done.returncode != 0
        or f'consistent with the following platform tag: "{platform}"' not in said
    ):
        yield f'{os.path.basename(path)}: auditwheel show does not confirm {platform}: {said}'


def check_sdist(path: str) -> Iterator[str]:
    name = os.path.basename(path)
    with tarfile.open(path, 'r:gz') as sdist:
        members = [m for m in sdist.getmembers() if m.isfile()]
        top = os.path.commonprefix([m.name for m in members]).split('/')[0]
        files = {m.name[len(top) + 1 :]: sdist.extractfile(m).read() for m in members}
    for required in (
        'PKG-INFO',
        'pyproject.toml',
        'setup.py',
        'build_native.py',
        'LICENSE',
        'native/Cargo.toml',
        'native/Cargo.lock',
        'native/build.rs',
        'native/include/skyutils.h',
        'native/src/lib.rs',
        'skyutils/__init__.py',
    ) + STARTUP_HOOK:
        if required not in files:
            yield f'{name}: missing {required}'
    for relative, data in files.items():
        if relative.endswith(BINARY_SUFFIXES) or data[:4] in (
            b'\x7fELF',
            b'\xcf\xfa\xed\xfe',
            b'\xca\xfe\xba\xbe',
        ):
            yield f'{name}: carries a binary: {relative}'
        if relative.startswith(('native/target/', 'skyutils/_lib/', 'build/')):
            yield f'{name}: carries build output: {relative}'


def run_tool(command: List[str]) -> Iterator[str]:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        yield f"{' '.join(command[:2])} failed:\n{done.stdout}{done.stderr}"


def main(argv: List[str]) -> int:
    wheelhouse = argv[0] if argv else os.path.join(ROOT, 'wheelhouse')
    dist = argv[1] if len(argv) > 1 else os.path.join(ROOT, 'dist')
    wheels = (
        sorted(os.path.join(wheelhouse, f) for f in os.listdir(wheelhouse) if f.endswith('.whl'))
        if os.path.isdir(wheelhouse)
        else []
    )
    sdists = (
        sorted(os.path.join(dist, f) for f in os.listdir(dist) if f.endswith('.tar.gz'))
        if os.path.isdir(dist)
        else []
    )
    problems: List[str] = []
    if not wheels and not sdists:
        problems.append(f'nothing to check: no wheel in {wheelhouse}, no sdist in {dist}')
    for path in wheels:
        problems.extend(check_wheel(path))
    for path in sdists:
        problems.extend(check_sdist(path))
    bindir = os.path.dirname(sys.executable)
    if wheels or sdists:
        problems.extend(
            run_tool([os.path.join(bindir, 'twine'), 'check', '--strict'] + wheels + sdists)
        )
    if wheels:
        problems.extend(run_tool([os.path.join(bindir, 'check-wheel-contents')] + wheels))
    for path in wheels + sdists:
        print(f'checked {os.path.basename(path)}')
    for problem in problems:
        print(f'PROBLEM: {problem}')
    print(
        f'{len(wheels)} wheel(s), {len(sdists)} sdist(s): '
        f"{'OK' if not problems else f'{len(problems)} problem(s)'}"
    )
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
