"""python -m emulator ..."""

import sys

from emulator.main import main

sys.exit(main())
