"""``python -m npr.cli``: the ``npr`` command (also what launchers run: ``torchrun -m npr.cli ...``)."""

import sys

from npr.cli import main

sys.exit(main())
