"""Entry point for `python -m ganplay`."""

import sys

from ganplay.cli import main

if __name__ == "__main__":
    sys.exit(main())
