"""The AI worker's side: google-genai on an event loop of its own, answering the server over a socket pair.

`main(sock)` is the worker process's body (`ai_worker.py` starts it). It reads `ai_pipe` messages: the `hello`
(the SDK client's settings and the key; logging is set up then, redacting that key), then questions and
cancellations; each question is one task that streams `GenaiClient.stream_contents` back as `text` / `end`, or
one failure message. The worker ends when the server's end of the pair closes: the server stopped, or died (the
kernel closes its sockets), so a worker never outlives its server.

Nothing here logs upstream text: failures travel as `ai_pipe.failure_message` (status, parsed body, class
names) and are classified by the server; the worker's own records pass `redaction` like the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

from roomwire.reference import redaction
from roomwire.reference.ai import AiEnd, GenaiClient
from roomwire.reference.ai_pipe import Decoder, Message, encode, failure_message

log = logging.getLogger(__name__)


class WorkerProtocol(asyncio.Protocol):
    """One worker's end of the pair: questions in, answers out (module docstring)."""

    def __init__(self, closed: asyncio.Future[None], *, configure_logging: bool = True) -> None:
        self.closed = closed
        self.configure_logging = configure_logging
        self.client: GenaiClient | None = None
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.transport: asyncio.Transport | None = None
        self._decoder = Decoder()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            for message in self._decoder.feed(data):
                self.on_message(message)
        except ValueError:
            log.error("the server sent the AI worker an unreadable message; the worker ends")
            self.close()

    def on_message(self, message: Message) -> None:
        kind = message[0]
        if kind == "ask":
            task = asyncio.get_running_loop().create_task(self.answer(message[1], message[2]))
            self.tasks[message[1]] = task
            task.add_done_callback(lambda _: self.tasks.pop(message[1], None))
        elif kind == "cancel":
            running = self.tasks.get(message[1])
            if running is not None:
                running.cancel()
        elif kind == "hello":
            self.hello(message[1])

    def hello(self, options: dict[str, Any]) -> None:
        key = options.pop("api_key")
        level = options.pop("log_level", "INFO")
        if self.configure_logging:  # a worker process; a worker thread shares the server's (the key registered)
            from roomwire.reference import logs

            logs.configure(level)
            redaction.install([key] if key else [])
        self.client = GenaiClient(api_key=key, **options)
        self.send(("ready",))

    async def answer(self, id: int, contents: list[Any]) -> None:
        client = self.client
        assert client is not None, "a question before the hello"
        stream = client.stream_contents(contents)
        try:
            async for item in stream:
                if isinstance(item, AiEnd):
                    usage = item.usage
                    plain_usage = None if usage is None else (usage.prompt_tokens, usage.output_tokens)
                    self.send(("end", id, item.finish_reason, item.block_reason, plain_usage))
                else:
                    self.send(("text", id, item))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # UP-008: what crosses is what classify reads, never the text
            self.send(failure_message(id, exc))
        finally:
            await stream.aclose()

    def send(self, message: Message) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode(message))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        for task in self.tasks.values():
            task.cancel()
        if not self.closed.done():
            self.closed.set_result(None)


async def serve(sock: socket.socket, *, configure_logging: bool = True) -> None:
    """Answer questions over `sock` until the server closes its end; then stop every answer and the SDK."""
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    _, protocol = await loop.connect_accepted_socket(
        lambda: WorkerProtocol(closed, configure_logging=configure_logging), sock
    )
    try:
        await closed
    finally:
        tasks = list(protocol.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if protocol.client is not None:
            with contextlib.suppress(Exception):
                await protocol.client.aclose()


def main(sock: socket.socket) -> None:
    """The worker process's body."""
    asyncio.run(serve(sock))
