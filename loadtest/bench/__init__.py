"""Benchmarks: the reference server against the seed's FastAPI design, side by side, reported as ratios.

`python -m roomwire.loadtest.bench --help`; what each figure means and the latest numbers are in
`docs/benchmarks.md`. `gemini_double_rps.py` (the double's own throughput) belongs to the Gemini double's part.
"""
