"""`python -m skyutils` runs the `skyutils` command."""

import sys

from skyutils.cli import main

sys.exit(main())
