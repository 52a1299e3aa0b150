"""The native build step; all metadata lives in pyproject.toml.

With the native library the wheel is `py3-none-<platform>`: the library does not use the
CPython ABI, so one wheel per platform serves every Python 3. Without it (SKYUTILS_NATIVE=0,
the sdist's default) the wheel is `py3-none-any` and skyutils uses its pure-Python backend.
"""

import os
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_native

NATIVE = build_native.wanted()


# Installed at site-packages' top with _skyutils_hook.py: every interpreter of the environment
# runs its one `import` line at start-up (see _skyutils_hook.py); pip uninstall removes it.
STARTUP_HOOK = 'skypilot_rust.pth'


class BuildPyWithNative(build_py):
    """Copies the Python sources and the startup hook's .pth, then builds the library into
    skyutils/_lib/."""

    def run(self):
        super().run()
        if not getattr(self, 'editable_mode', False):
            self.copy_file(
                os.path.join(build_native.ROOT, STARTUP_HOOK),
                os.path.join(self.build_lib, STARTUP_HOOK),
            )
        if not NATIVE:
            # One line, where the build's output is shown (pip install -v, python -m build).
            print(
                f'skypilot-rust: Python-only build ({build_native.python_only_reason()}); '
                f'{build_native.NATIVE_HINT}',
                file=sys.stderr,
                flush=True,
            )
            return
        if getattr(self, 'editable_mode', False):
            into = os.path.join(build_native.ROOT, 'skyutils', '_lib')  # the tree is the install
        else:
            into = os.path.join(self.build_lib, 'skyutils', '_lib')
        build_native.build(into)


class NativeDistribution(Distribution):
    def has_ext_modules(self):
        # Makes the wheel a platform wheel (platlib, not .data/purelib) when native.
        return NATIVE


class Py3NoneWheel(bdist_wheel):
    def get_tag(self):
        python, abi, platform = super().get_tag()
        if NATIVE:
            return 'py3', 'none', platform
        return python, abi, platform


setup(
    distclass=NativeDistribution,
    cmdclass={'build_py': BuildPyWithNative, 'bdist_wheel': Py3NoneWheel},
)
