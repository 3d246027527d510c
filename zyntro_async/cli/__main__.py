"""``python -m zyntro_async.cli`` runs the command line."""

from __future__ import annotations

import sys

from zyntro_async.cli import main

sys.exit(main())
