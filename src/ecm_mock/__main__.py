"""``python -m ecm_mock``: the ``ecm-mock`` command."""

import sys

from .cli import main

sys.exit(main())
