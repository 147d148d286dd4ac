"""``python -m hf_frame ...`` is the ``hf-frame`` command."""

import sys

from .cli import main

sys.exit(main())
