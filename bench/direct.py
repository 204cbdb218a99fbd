"""The AI floor: concurrent google-genai streams straight to the double, in a process of its own (no server).

It runs pinned to the *server's* core, where the servers make the same SDK call, and drives exactly the load the
`ai` scenario drives through a server (`askers` closed loops, each asking again as soon as its answer ended, the
same tagged questions), so what it measures is what the SDK alone adds on that core, per request:

    python -m bench.direct --url http://127.0.0.1:PORT/ --askers 20 --questions 25 --run 123456

prints one JSON object on stdout: for every question `[asker, n, sent_ns, first_ns]` (`time.monotonic_ns()`, the
clock the double's journal uses, so `ai.py` pairs each with its journal entry), and the CPU seconds the whole run
took for how many answers (the loops only), which unlike times does not depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence

from google import genai
from google.genai import types

from roomwire.gemini_double.keys import FAKE_API_KEY
from roomwire.reference.ai import TRANSPORT, TRANSPORTS, AiRequest, GenaiClient, chunk_text, sdk_client

#: Four chunks per answer; the tag (`question()`) pairs a request with its journal entry.
QUESTION = "[[chunks=4]] 핀볼 점수 올리는 법 알려줘"
MODEL = "gemini-2.5-flash"
SDK_DEFAULTS = "sdk-defaults"


def question(run: int, asker: int, n: int) -> str:
    """The question `n` of `asker` in `run`: digits only after the text, so the answer stays Korean."""
    return f"{QUESTION} #{run}-{asker}-{n}"


class Floor:
    """google-genai as the reference calls it (`reference.ai.sdk_client` on `transport`, the request built as the
    reference builds it: contents as dicts, no function calling, each chunk's text by `chunk_text`), for the floor
    and for the ceiling's AI path; make it inside the event loop that uses it (the aiohttp session)."""

    def __init__(self, url: str, transport: str = TRANSPORT) -> None:
        if transport == SDK_DEFAULTS:
            self.client, self.session = (
                genai.Client(api_key=FAKE_API_KEY, http_options=types.HttpOptions(base_url=url)),
                None,
            )
        else:
            self.client, self.session = sdk_client(FAKE_API_KEY, url, transport)
        self.config = types.GenerateContentConfig(
            system_instruction="bench", max_output_tokens=300, temperature=0.8,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )  # fmt: skip

    async def answer(self, text: str) -> AsyncIterator[str]:
        """The answer's text pieces as they come."""
        stream = await self.client.aio.models.generate_content_stream(
            model=MODEL, contents=GenaiClient.contents(AiRequest(text)), config=self.config
        )
        async for chunk in stream:
            piece = chunk_text(chunk)
            if piece:
                yield piece

    async def aclose(self) -> None:
        await self.client.aio.aclose()
        if self.session is not None:
            await self.session.close()


async def measure(
    url: str, askers: int, questions: int, run: int, transport: str = TRANSPORT, first_asker: int = 0
) -> tuple[list[list[int]], float]:
    """`askers` concurrent closed loops of `questions` + 1 streams (the first, warming the pool, is `n` 0) through
    a `Floor`; the samples, and the CPU seconds of the loops (the process's start and the client's creation not
    included, as a running server has them behind it)."""
    floor = Floor(url, transport)
    samples: list[list[int]] = []

    async def asker(index: int) -> None:
        for n in range(questions + 1):
            sent = time.monotonic_ns()
            first = 0
            async for _ in floor.answer(question(run, index, n)):
                if not first:
                    first = time.monotonic_ns()
            samples.append([index, n, sent, first])

    cpu = time.process_time()
    await asyncio.gather(*(asker(first_asker + i) for i in range(askers)))
    cpu = time.process_time() - cpu
    await floor.aclose()
    return samples, cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.direct")
    parser.add_argument("--url", required=True)
    parser.add_argument("--askers", type=int, default=20)
    parser.add_argument("--questions", type=int, default=25)
    parser.add_argument("--run", type=int, default=0)
    parser.add_argument("--first-asker", type=int, default=0, help="askers are numbered from here (in the tags)")
    parser.add_argument(
        "--transport", choices=[*TRANSPORTS, SDK_DEFAULTS], default=TRANSPORT,
        help=f"the SDK's async transport ({SDK_DEFAULTS}: only the base URL, as the SDK chooses)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    samples, cpu = asyncio.run(
        measure(args.url, args.askers, args.questions, args.run, args.transport, args.first_asker)
    )
    print(json.dumps({"samples": samples, "cpu_s": cpu, "answers": args.askers * (args.questions + 1)}))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
