"""The checks, one module per SPEC.md section; importing this package registers them all in REGISTRY."""

from roomwire.conformance.checks import (  # noqa: F401 - imported for their registrations
    admission,
    ai,
    chat,
    errors,
    exposure,
    failures,
    flow,
    frames,
    fuzz,
    handshake,
    identity,
    inputs,
    limits,
    logs,
    model,
    page,
    presence,
    reconnect,
    secrets,
)
