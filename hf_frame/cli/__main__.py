"""``python -m hf_frame.cli ...`` is the ``hf-frame`` command (as is ``python -m hf_frame``)."""

import sys

from . import main

sys.exit(main())
