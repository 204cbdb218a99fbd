"""The AI baseline: time to first chunk of concurrent SDK streams straight to the double, in a process of its own.

It runs pinned to the *server's* core, where the servers make the same SDK call, so that "what the server adds"
(`ai.py`) is the server's relay work and not a difference of cores: measured from the load generator's core, the
baseline would share that core with the double and come out slower than the path through the server.

    python -m roomwire.loadtest.bench.direct --url http://127.0.0.1:PORT/ --askers 20 --questions 15

prints one JSON object on stdout: the counted samples (ns), and the CPU seconds the whole run took for how many
answers (warm-ups included), which unlike times to first chunk does not depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence

from google import genai
from google.genai import types

from roomwire.gemini_double.keys import FAKE_API_KEY

QUESTION = "[[chunks=4]] 핀볼 점수 올리는 법 알려줘"
MODEL = "gemini-2.5-flash"


async def measure(url: str, askers: int, questions: int) -> list[int]:
    """`askers` concurrent loops of `questions` + 1 streams (the first, warming the pool, is not counted)."""
    client = genai.Client(api_key=FAKE_API_KEY, http_options=types.HttpOptions(base_url=url))
    config = types.GenerateContentConfig(system_instruction="bench", max_output_tokens=300, temperature=0.8)
    samples: list[int] = []

    async def asker() -> None:
        for n in range(questions + 1):
            start = time.monotonic_ns()
            first: int | None = None
            stream = await client.aio.models.generate_content_stream(model=MODEL, contents=QUESTION, config=config)
            async for chunk in stream:
                if first is None and chunk.text:
                    first = time.monotonic_ns() - start
            if n and first is not None:
                samples.append(first)

    await asyncio.gather(*(asker() for _ in range(askers)))
    await client.aio.aclose()
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m roomwire.loadtest.bench.direct")
    parser.add_argument("--url", required=True)
    parser.add_argument("--askers", type=int, default=20)
    parser.add_argument("--questions", type=int, default=15)
    args = parser.parse_args(argv)
    cpu = time.process_time()
    samples = asyncio.run(measure(args.url, args.askers, args.questions))
    cpu = time.process_time() - cpu
    print(json.dumps({"ttft_ns": samples, "cpu_s": cpu, "answers": args.askers * (args.questions + 1)}))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
