"""The `node` target: a chat fan-out server on Node's `ws` library, the stack a Node team would pick.

    python -m bench.node_ws --install     # once: `npm ci` of the pinned `ws`; prints the script

`node/server.js` is the server (its header says what it speaks); `node/package.json` and `node/package-lock.json`
pin `ws` (8.23.1, no optional native add-ons). `npm ci` installs it into a cache directory named after the lock
file's digest (`$XDG_CACHE_HOME/roomwire/`, else `~/.cache/roomwire/`), never into the source tree or the
installed package; the benchmark runs it on first use, tests never do (they skip when it is not installed).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SOURCE = Path(__file__).with_name("node")
LISTENING_PREFIX = "node-ws listening on "
FILES = ("package.json", "package-lock.json", "server.js")


class NodeUnavailable(RuntimeError):
    """`node` or `npm` is missing, or `npm ci` failed: the node target cannot run here."""


def cache_dir() -> Path:
    lock = (SOURCE / "package-lock.json").read_bytes()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "roomwire" / f"bench-node-ws-{hashlib.sha256(lock).hexdigest()[:12]}"


def installed() -> Path | None:
    """The server script, ready to run (copied beside its `node_modules`); None when `ws` is not installed yet."""
    target = cache_dir()
    if not (target / "node_modules" / "ws" / "package.json").is_file():
        return None
    shutil.copyfile(SOURCE / "server.js", target / "server.js")  # the source's current version
    return target / "server.js"


def install() -> Path:
    """`npm ci` the pinned `ws` into the cache (once); the server script.

    Raises:
        NodeUnavailable: no `node`/`npm`, or `npm ci` failed (its output in the message).
    """
    ready = installed()
    if ready is not None:
        return ready
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        raise NodeUnavailable("the node target needs `node` and `npm` (Node.js 18 or later) on PATH")
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(SOURCE / name, target / name)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel", "error"],
        cwd=target, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    ready = installed()
    if done.returncode != 0 or ready is None:
        raise NodeUnavailable(f"`npm ci` of the pinned ws failed in {target}:\n{done.stdout}{done.stderr}")
    return ready


def available() -> bool:
    """Can the node target run here (node and npm on PATH, or `ws` installed already)?"""
    return shutil.which("node") is not None and (installed() is not None or shutil.which("npm") is not None)


def command(host: str, port: int) -> list[str]:
    """The target's command line (installing `ws` first if need be)."""
    node = shutil.which("node")
    if node is None:
        raise NodeUnavailable("the node target needs `node` on PATH")
    return [node, str(install()), "--host", host, "--port", str(port)]


def main(argv: Sequence[str] | None = None) -> int:
    about = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.node_ws", description=about)
    parser.add_argument("--install", action="store_true", help="npm ci the pinned ws into the cache")
    args = parser.parse_args(argv)
    if args.install:
        print(install())  # noqa: T201 - the command's output
    else:
        print(installed() or "not installed (run with --install)")  # noqa: T201 - the command's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
