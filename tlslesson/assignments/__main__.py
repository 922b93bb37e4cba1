"""``python -m tlslesson.assignments release [--check]``: see ``release.py``."""
import sys

from .release import main

sys.exit(main())
