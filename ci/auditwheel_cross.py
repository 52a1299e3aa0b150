"""auditwheel, for a wheel built here for another architecture or C library.

Usage: python ci/auditwheel_cross.py repair --plat PLATFORM [auditwheel repair arguments]

auditwheel reads the target from the wheel and checks the library against that target's policy
(what `auditwheel show` does for any wheel); only the list of --plat values `repair` accepts is
drawn from the machine it runs on. This offers the list of the platform that --plat names,
as auditwheel would inside that platform's container.
"""

import sys

from auditwheel import main
from auditwheel.architecture import Architecture
from auditwheel.libc import Libc


def target_of(plat: str):
    arch = next((a for a in Architecture if plat.endswith('_' + a.value)), None)
    if arch is None or not plat.startswith(('manylinux', 'musllinux')):
        sys.exit(f'auditwheel_cross: cannot tell the platform of --plat {plat}')
    return arch, (Libc.MUSL if plat.startswith('musllinux') else Libc.GLIBC)


if __name__ == '__main__':
    if '--plat' not in sys.argv:
        sys.exit(__doc__)
    arch, libc = target_of(sys.argv[sys.argv.index('--plat') + 1])
    Architecture.detect = staticmethod(lambda *, bits=None: arch)
    Libc.detect = staticmethod(lambda: libc)
    sys.argv[0] = 'auditwheel'
    sys.exit(main.main())
