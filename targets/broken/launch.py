"""What serving a broken variant changes in the reference: `create_app`'s options and the process-wide patches.

Apart from the catalogue (`VARIANTS`, in the package) so that listing variants imports no reference code; this
module imports the reference's seams only when a variant is served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roomwire.targets.broken import Variant


def app_options(variant: Variant) -> dict[str, Any]:
    """`create_app` keyword arguments for `variant` (imports the reference only when called)."""
    from roomwire.targets.broken import connections, defects, hardening, upstream

    options: dict[str, Any] = {}
    if variant.connection:
        module = next(m for m in (connections, defects, hardening) if hasattr(m, variant.connection))
        options["connection_class"] = getattr(module, variant.connection)
    if variant.ai_client:
        options["ai_client_factory"] = getattr(upstream, variant.ai_client)
    return options


def apply_patches(variant: Variant) -> Callable[[], None]:
    """Process-wide patches (the launcher runs one variant per process); returns what undoes them."""
    from roomwire.targets.broken import hardening, patches

    undos: list[Callable[[], None]] = [
        getattr(patches if hasattr(patches, name) else hardening, name)() for name in variant.patches
    ]

    def undo() -> None:
        for step in reversed(undos):
            step()

    return undo
