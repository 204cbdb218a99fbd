"""roomwire: the spec, reference server, conformance suite and load tests of a room chat + streamed-AI protocol.

The distribution maps its top-level folders into this one namespace (`roomwire.spec`, `roomwire.reference`, ...),
so installing it never adds generic names such as `spec` to site-packages.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("roomwire")
except PackageNotFoundError:  # pragma: no cover - only when run from a tree that was never installed
    __version__ = "0+unknown"
