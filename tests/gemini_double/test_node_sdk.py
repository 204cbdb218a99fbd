"""A Node server's Gemini client pointed at the double exactly as docs/conformance.md shows ("Wiring any stack to
the double"): the real @google/genai (pinned in node_sdk/package-lock.json), over a real socket, streams an answer,
and the double's journal shows the request with the key in `x-goog-api-key` (its fingerprint, never the key).

Needs node (Debian's nodejs) and `npm ci --prefix tests/gemini_double/node_sdk` (tox -e sdk-node does both);
otherwise skipped, saying which of the two is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from roomwire.gemini_double import DoubleConfig, DoubleControl, DoubleThread
from roomwire.gemini_double.keys import FAKE_API_KEY, fingerprint

PROJECT = Path(__file__).with_name("node_sdk")
#: Variables an SDK reads that would point it elsewhere than the test says.
GEMINI_ENV = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI")


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH (apt-get install nodejs npm); tox -e sdk-node runs this test")
    if not (PROJECT / "node_modules" / "@google" / "genai" / "package.json").exists():
        pytest.skip(f"@google/genai is not installed: npm ci --prefix {PROJECT} (tox -e sdk-node does)")
    return node


def ask(node: str, mode: str, question: str, env: dict[str, str]) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k not in GEMINI_ENV}
    done = subprocess.run(
        [node, "ask.mjs", mode, question],
        cwd=PROJECT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["env", "option"])
def test_a_node_server_on_google_genai_reaches_the_double(mode: str) -> None:
    """`env`: GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY, read by the SDK itself; `option`: httpOptions.baseUrl and
    apiKey passed by the server from its own settings."""
    node = node_or_skip()
    question = f"Tell me about tide pools. node-{mode} [[sentences=3]]"
    with DoubleThread(DoubleConfig(latency="zero")) as double:
        if mode == "env":
            env = {"GOOGLE_GEMINI_BASE_URL": double.base_url, "GEMINI_API_KEY": FAKE_API_KEY}
        else:
            env = {"CHAT_GEMINI_BASE_URL": double.base_url, "CHAT_GEMINI_KEY": FAKE_API_KEY}
        answer = ask(node, mode, question, env)
        with DoubleControl(double.base_url) as control:
            [entry] = control.journal(match=f"node-{mode}")
    assert isinstance(answer["chunks"], int) and answer["chunks"] >= 2
    assert answer["text"] == entry["answer_text"] and entry["outcome"] == "ok"
    assert entry["method"] == "streamGenerateContent" and entry["model"] == "gemini-2.5-flash"
    key = entry["key"]
    assert (key["location"], key["fingerprint"], key["plausible"]) == ("header", fingerprint(FAKE_API_KEY), True)
    assert FAKE_API_KEY not in json.dumps(entry)
