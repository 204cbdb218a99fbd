"""Which chromium the browser checks launch, and whether a run can have one at all.

Always the system's chromium (Debian's `chromium` on PATH, or what `$ROOMWIRE_CHROMIUM` names), driven by
Playwright through `executable_path`: the suite never downloads a browser, so `playwright install` is never
needed. This module imports no Playwright, so a run can ask whether a browser is available before it tries one:
`roomwire check` on the bundled reference uses the browser by default when `unavailable()` is None, and
otherwise says, in the report, how to get it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

from roomwire.spec.errors import HarnessError

#: Names another chromium executable (a path, or a name on PATH); it wins over `chromium` on PATH.
CHROMIUM_ENV = "ROOMWIRE_CHROMIUM"

#: How to get what the browser checks need (Debian; Playwright only as the driver, no browser download).
HOW_TO_GET = (
    "apt-get install chromium (Debian's) and pip install 'roomwire[browser]' (Playwright, which drives that "
    "chromium: no `playwright install`, the suite never downloads a browser)"
)


def chromium_executable() -> str | None:
    """`$ROOMWIRE_CHROMIUM` if set (even when it does not exist: `resolve_chromium` reports that), else Debian's
    chromium on PATH, or None."""
    chosen = os.environ.get(CHROMIUM_ENV, "").strip()
    return chosen or shutil.which("chromium")


def resolve_chromium(executable: str | None = None) -> str:
    """The chromium to launch: `executable`, else `chromium_executable()`, checked to exist and be executable.

    Raises:
        HarnessError: no such executable, with what was tried and how to fix it.
    """
    chosen = executable or chromium_executable()
    if chosen is None:
        raise HarnessError(
            f"chromium not found on PATH: install Debian's chromium (apt-get install chromium) or set {CHROMIUM_ENV}"
        )
    path = shutil.which(chosen)
    if path is None:
        origin = "" if executable else f" ({CHROMIUM_ENV})"
        raise HarnessError(f"chromium not found: {chosen!r}{origin} is not an executable file")
    return path


def unavailable() -> str | None:
    """None when the browser checks can run here; else how to get what they need, then what is missing."""
    if importlib.util.find_spec("playwright") is None:
        return f"{HOW_TO_GET}; missing here: Playwright"
    try:
        resolve_chromium()
    except HarnessError as exc:
        return f"{HOW_TO_GET}; missing here: {exc}"
    return None
