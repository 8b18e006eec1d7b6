"""``python -m groupeval`` runs the command line."""
import sys

from .reporting.cli import main

if __name__ == "__main__":
    sys.exit(main())
