"""`python -m skinkit.bench`: the same as `python -m skinkit bench`."""

import sys

from .cli import main

sys.exit(main())
