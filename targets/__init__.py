"""Servers to test the harness with and to benchmark against: the seed's FastAPI design, kept broken on purpose.

`seed_fastapi` is the seed's `chat_ws.py` as written (its bugs included), served by uvicorn. A conformance check
or a benchmark that cannot tell it from the reference server is not measuring anything.
"""
