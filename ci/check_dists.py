"""Verifies every wheel in wheelhouse/ and sdist in dist/ by script, not by eye.

Usage: python ci/check_dists.py [wheelhouse] [dist]    (ci/check-wheels runs it)

A wheel: named py3-none-<a supported platform>; holds exactly the package's modules, py.typed,
the library and its metadata; the library's architecture(s) match the tag; on Linux its highest
GLIBC symbol version is within the tag; it exports every function of skyutils.h. An sdist:
carries the Python and Rust sources and no binary. Exit 1 with one line per problem.
"""
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from typing import Iterator, List, Optional, Set, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, 'native', 'include', 'skyutils.h')


def _load_libcheck():
    """skyutils/_libcheck.py on its own (importing the package would need its dependencies)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'skyutils_libcheck', os.path.join(ROOT, 'skyutils', '_libcheck.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_libcheck = _load_libcheck()  # the same header check the loader runs before dlopen

DIST_NAME = 'skypilot_rust'
ELF_MACHINES = {'x86_64': 62, 'aarch64': 183}
MACHO_CPUS = {'x86_64': 0x01000007, 'arm64': 0x0100000C}
PLATFORMS = re.compile(r'^(manylinux_2_28_(x86_64|aarch64)|musllinux_1_2_(x86_64|aarch64)|'
                       r'macosx_(\d+)_(\d+)_universal2)$')
BINARY_SUFFIXES = ('.so', '.dylib', '.dll', '.pyd', '.o', '.a', '.whl')


def header_functions() -> Set[str]:
    with open(HEADER, encoding='utf-8') as f:
        text = re.sub(r'/\*.*?\*/', '', f.read(), flags=re.S)
    return set(re.findall(r'\b(skyutils_\w+)\s*\(', text))


# The startup hook, at the wheel's top: installed into site-packages itself.
STARTUP_HOOK = ('_skyutils_hook.py', 'skypilot_rust.pth')


def package_modules() -> Set[str]:
    """Every .py file of the package in the source tree, as wheel paths."""
    found = set()
    for directory, _, files in os.walk(os.path.join(ROOT, 'skyutils')):
        for name in files:
            if name.endswith('.py'):
                found.add(os.path.relpath(os.path.join(directory, name), ROOT).replace(os.sep, '/'))
    return found


def elf_facts(data: bytes) -> Tuple[int, Set[str], Optional[Tuple[int, int]]]:
    """(e_machine, exported skyutils_* symbols, highest GLIBC_x.y needed or None)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection
    elf = ELFFile(io.BytesIO(data))
    exports = set()
    dynsym = elf.get_section_by_name('.dynsym')
    for symbol in dynsym.iter_symbols():
        if (symbol.name.startswith('skyutils_') and symbol['st_shndx'] != 'SHN_UNDEF'
                and symbol['st_info']['bind'] == 'STB_GLOBAL'):
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
    return elf['e_machine'], exports, highest


def macho_slices(data: bytes) -> Set[int]:
    """CPU types of a Mach-O file's slices."""
    import struct
    if data[:4] == b'\xca\xfe\xba\xbe':
        count = struct.unpack_from('>I', data, 4)[0]
        return {struct.unpack_from('>i', data, 8 + 20 * i)[0] & 0xFFFFFFFF for i in range(count)}
    return {struct.unpack_from('<i', data, 4)[0] & 0xFFFFFFFF}


def macos_tool_facts(path: str, arch: str) -> Tuple[Set[str], Optional[Tuple[int, int]]]:
    """(exported skyutils_* symbols, minimum macOS) of one slice, read with nm and otool."""
    nm = subprocess.run(['nm', '-gU', '-arch', arch, path], capture_output=True, text=True,
                        check=True).stdout
    exports = {line.split()[-1].lstrip('_') for line in nm.splitlines()
               if line.split() and line.split()[-1].lstrip('_').startswith('skyutils_')}
    otool = subprocess.run(['otool', '-arch', arch, '-l', path], capture_output=True, text=True,
                           check=True).stdout
    match = re.search(r'\b(?:minos|version)\s+(\d+)\.(\d+)', otool)
    return exports, (int(match.group(1)), int(match.group(2))) if match else None


def check_wheel(path: str) -> Iterator[str]:
    name = os.path.basename(path)
    parts = name[:-len('.whl')].split('-')
    if len(parts) != 5 or parts[0] != DIST_NAME:
        yield f'{name}: not a {DIST_NAME} wheel name'
        return
    python, abi, platforms = parts[2], parts[3], parts[4].split('.')
    if (python, abi) != ('py3', 'none'):
        yield f'{name}: tagged {python}-{abi}, wants py3-none (the library has no CPython ABI)'
    bad = [p for p in platforms if not PLATFORMS.match(p)]
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
    allowed_metadata = {'METADATA', 'WHEEL', 'RECORD', 'entry_points.txt', 'top_level.txt',
                        'LICENSE', 'licenses/LICENSE'}
    for entry in entries:
        if entry in modules or entry in (lib_entry, 'skyutils/py.typed') + STARTUP_HOOK:
            continue
        if entry.startswith(dist_info) and entry[len(dist_info):] in allowed_metadata:
            continue
        yield f'{name}: unexpected file {entry}'
    for module in sorted(modules - set(entries)):
        yield f'{name}: missing module {module}'
    for hook in STARTUP_HOOK:
        if hook not in entries:
            yield f'{name}: missing the startup hook file {hook}'
    if library is None:
        yield f'{name}: no library at {lib_entry}'
        return
    wanted = header_functions()
    if platform.startswith(('manylinux', 'musllinux')):
        arch = platform.split('_', 3)[-1]
        if library[:4] != b'\x7fELF':
            yield f'{name}: {lib_entry} is not an ELF file'
            return
        unsound = _libcheck.problem_of_bytes(library)
        if unsound and 'built for' not in unsound:  # the architecture is checked below
            yield f'{name}: library {unsound}'
        machine, exports, highest = elf_facts(library)
        if machine != f'EM_{arch.upper()}' and machine != ELF_MACHINES.get(arch):
            yield f'{name}: library is built for {machine}, the tag says {arch}'
        if platform.startswith('manylinux'):
            limit = (2, 28)
            if highest is None or highest > limit:
                yield f'{name}: highest GLIBC symbol version {highest} exceeds {limit}'
            yield from auditwheel_verdict(path, platform)
        missing = wanted - exports
        if missing:
            yield f'{name}: library does not export {sorted(missing)}'
    else:
        cpus = macho_slices(library)
        for arch, cpu in MACHO_CPUS.items():
            if cpu not in cpus:
                yield f'{name}: universal2 library has no {arch} slice'
        tag_version = tuple(int(x) for x in PLATFORMS.match(platform).group(5, 6))
        if sys.platform != 'darwin':
            yield f'{name}: exports and minimum macOS need nm/otool: run this check on macOS'
            return
        with tempfile.NamedTemporaryFile(suffix='.dylib') as f:
            f.write(library)
            f.flush()
            facts = {arch: macos_tool_facts(f.name, arch) for arch in MACHO_CPUS}
        for arch, (exports, minos) in facts.items():
            if wanted - exports:
                yield f'{name}: {arch} slice does not export {sorted(wanted - exports)}'
            # arm64 Macs start at macOS 11, so an arm64 slice may ask for 11.0 under any tag.
            allowed = max(tag_version, (11, 0)) if arch == 'arm64' else tag_version
            if minos is None or minos > allowed:
                yield f'{name}: {arch} slice needs macOS {minos}, the tag allows {allowed}'


def auditwheel_verdict(path: str, platform: str) -> Iterator[str]:
    """auditwheel's own word that the wheel is consistent with its manylinux tag."""
    auditwheel = os.path.join(os.path.dirname(sys.executable), 'auditwheel')
    done = subprocess.run([auditwheel, 'show', path], capture_output=True, text=True,
                          check=False)
    said = ' '.join(done.stdout.split())
    if done.returncode != 0 or f'consistent with the following platform tag: "{platform}"' \
            not in said:
        yield f'{os.path.basename(path)}: auditwheel show does not confirm {platform}: {said}'


def check_sdist(path: str) -> Iterator[str]:
    name = os.path.basename(path)
    with tarfile.open(path, 'r:gz') as sdist:
        members = [m for m in sdist.getmembers() if m.isfile()]
        top = os.path.commonprefix([m.name for m in members]).split('/')[0]
        files = {m.name[len(top) + 1:]: sdist.extractfile(m).read() for m in members}
    for required in ('PKG-INFO', 'pyproject.toml', 'setup.py', 'build_native.py', 'LICENSE',
                     'native/Cargo.toml', 'native/Cargo.lock', 'native/include/skyutils.h',
                     'native/src/lib.rs', 'skyutils/__init__.py') + STARTUP_HOOK:
        if required not in files:
            yield f'{name}: missing {required}'
    for relative, data in files.items():
        if (relative.endswith(BINARY_SUFFIXES) or data[:4] in (b'\x7fELF', b'\xcf\xfa\xed\xfe',
                                                                 b'\xca\xfe\xba\xbe')):
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
    wheels = sorted(os.path.join(wheelhouse, f) for f in os.listdir(wheelhouse)
                    if f.endswith('.whl')) if os.path.isdir(wheelhouse) else []
    sdists = sorted(os.path.join(dist, f) for f in os.listdir(dist)
                    if f.endswith('.tar.gz')) if os.path.isdir(dist) else []
    problems: List[str] = []
    if not wheels and not sdists:
        problems.append(f'nothing to check: no wheel in {wheelhouse}, no sdist in {dist}')
    for path in wheels:
        problems.extend(check_wheel(path))
    for path in sdists:
        problems.extend(check_sdist(path))
    bindir = os.path.dirname(sys.executable)
    if wheels or sdists:
        problems.extend(run_tool([os.path.join(bindir, 'twine'), 'check', '--strict']
                                 + wheels + sdists))
    if wheels:
        problems.extend(run_tool([os.path.join(bindir, 'check-wheel-contents')] + wheels))
    for path in wheels + sdists:
        print(f'checked {os.path.basename(path)}')
    for problem in problems:
        print(f'PROBLEM: {problem}')
    print(f'{len(wheels)} wheel(s), {len(sdists)} sdist(s): '
          f"{'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
