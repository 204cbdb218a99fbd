"""Benchmarks: the reference server against the seed's FastAPI design, side by side, reported as ratios.

Not part of the installed `roomwire` (the wheel leaves this folder out, as h11 keeps its `bench/` apart): run it
from the root of a clone, `python -m bench --help`. What each figure means and the latest numbers are in
`docs/benchmarks.md`. `gemini_double_rps.py` (the double's own throughput) belongs to the Gemini double's part;
`child.py` starts the benchmark's own processes so that they find this folder wherever they were started from.
"""
