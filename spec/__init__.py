"""The protocol as code: SPEC.md, the JSON Schemas and the Python API every other part of roomwire uses.

This package imports nothing else of roomwire (CONTRIBUTING.md); its modules: `codes` and `texts` (wire
vocabulary), `limits`, `schemas` and `validate` (frame verdicts with requirement IDs, and `classify_client_frame`,
the one way through a client frame), `fastcheck` (its microsecond fast path), `messages` (frames as dataclasses),
`protocol` (the sans-I/O client), `requirements` (SPEC.md as a catalog), `strategies` and `cases` (Hypothesis
strategies and labelled payloads), `hosts` (§13's loopback host), `asyncapi` and `selfcheck` (document checks),
`exports` (the one lazy-export helper every package uses), `cli`.
"""
