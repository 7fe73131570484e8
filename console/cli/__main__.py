"""``python -m console.cli``: the ``waybill`` command."""

import sys

from console.cli.main import main

sys.exit(main())
