"""``python -m tidings.cli``: the ``tidings`` command without its script on ``PATH``."""

from . import main

raise SystemExit(main())
