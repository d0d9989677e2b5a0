import sys
from pathlib import Path

# tests/peers.py is imported by tests and benchmarks as a plain module
sys.path.insert(0, str(Path(__file__).resolve().parent))
