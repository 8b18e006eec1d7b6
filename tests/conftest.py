"""Shared test settings: a non-interactive matplotlib backend and no network."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
