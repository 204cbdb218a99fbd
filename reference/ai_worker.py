"""`WorkerAiClient`: the google-genai client hosted off the event loop that reads the sockets.

Why it exists (docs/benchmarks.md, "The AI path"): the SDK is ~70% of the server's CPU on the AI path, and on one
event loop every hop between a question's arrival and its request waits behind the SDK parsing other answers'
chunks. Off that loop, the operating system (a process) or the GIL's hand-over (a thread) lets the sockets go
first, and the question leaves in the loop turn that read it (`stream()` writes it to the worker at once). On the
benchmark's one pinned core this did not pay: the extra wake-ups cost more than the hops they save (measured,
docs/benchmarks.md); a server with a core to spare can give the SDK's CPU to a worker process.

`host` (`Settings.ai_worker`, whose default "inline" is `GenaiClient` on the socket loop, no worker):
    "process"  a worker process, forked from a `multiprocessing` fork server that imported
               google-genai once (a fresh interpreter would spend ~1.6 s of CPU importing it, per server);
    "thread"   a thread of this process with a loop of its own (measured, docs/benchmarks.md; the GIL keeps
               the SDK and the sockets from running at once).
Both run `ai_worker_process.serve` over a socket pair (`ai_pipe` messages). The key goes to the worker in the
first message, never on a command line (a worker's environment is its server's).

Lifecycle: `start()` (the app's start-up) starts the worker and waits until its SDK client exists; `aclose()`
(shutdown) closes the pair, which ends the worker, and waits for it (SIGKILL after `STOP_WITHIN`). A worker
ends when its server's end of the pair closes, also when the server is killed, so it never outlives it. If the
worker dies, every answer in flight ends with `AiWorkerLost`, which the relay classifies as an upstream failure
(UP-002: `upstream_error`, `ai_done` `error`), and the next question starts a new worker.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import multiprocessing
import socket
import threading
from typing import Any, Literal

from roomwire.reference import ai_pipe, ai_worker_process
from roomwire.reference.ai import AiEnd, AiItem, AiRequest, GenaiClient, Usage

log = logging.getLogger(__name__)

WorkerHost = Literal["process", "thread"]
#: How long start-up waits for the worker's SDK client, and shutdown for the worker to end.
READY_WITHIN = 60.0
STOP_WITHIN = 5.0


class AiWorkerLost(ConnectionError):
    """The AI worker ended while this answer was in flight (classified as a transport failure: UP-002)."""


class WorkerAnswer:
    """One answer coming from the worker: an `AiStream` (items as they arrive, then the end or the failure)."""

    __slots__ = ("_client", "_id", "_unsent", "_items", "_waiter", "_failure", "_over")

    def __init__(self, client: WorkerAiClient, id: int, unsent: list[Any] | None) -> None:
        self._client = client
        self._id = id
        self._unsent = unsent  # the question, while no worker was there to take it
        self._items: collections.deque[AiItem] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._failure: BaseException | None = None
        self._over = False  # the end or a failure arrived, or the answer was closed

    def __aiter__(self) -> WorkerAnswer:
        return self

    async def __anext__(self) -> AiItem:
        if self._unsent is not None:
            contents, self._unsent = self._unsent, None
            link = await self._client.link()
            link.ask(self, contents)
        while not self._items:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            if self._over:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    @property
    def id(self) -> int:
        return self._id

    def put(self, item: AiItem) -> None:
        self._items.append(item)
        if isinstance(item, AiEnd):
            self._over = True
        self._wake()

    def fail(self, failure: BaseException) -> None:
        self._failure, self._over = failure, True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def aclose(self) -> None:
        """Stop the answer: the worker cancels its upstream request (AI-011) unless it already ended."""
        self.close()

    def close(self) -> None:
        self._unsent = None
        if not self._over:
            self._over = True
            self._client.cancel(self._id)
        self._wake()


class WorkerLink(asyncio.Protocol):
    """The server's end of one worker's socket pair: routes its messages to the answers in flight."""

    def __init__(self, ready: asyncio.Future[None]) -> None:
        self.ready = ready
        self.answers: dict[int, WorkerAnswer] = {}
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._decoder = ai_pipe.Decoder()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, message: ai_pipe.Message) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(ai_pipe.encode(message))

    def ask(self, answer: WorkerAnswer, contents: list[Any]) -> None:
        if self.lost:
            answer.fail(AiWorkerLost())
            return
        self.answers[answer.id] = answer
        self.send(("ask", answer.id, contents))

    def cancel(self, id: int) -> None:
        if self.answers.pop(id, None) is not None:
            self.send(("cancel", id))

    def data_received(self, data: bytes) -> None:
        try:
            for message in self._decoder.feed(data):
                self.on_message(message)
        except ValueError:
            log.error("the AI worker sent an unreadable message; it is stopped and the next question starts another")
            assert self.transport is not None
            self.transport.abort()

    def on_message(self, message: ai_pipe.Message) -> None:
        kind = message[0]
        if kind == "text":
            answer = self.answers.get(message[1])
            if answer is not None:
                answer.put(message[2])
        elif kind == "end":
            answer = self.answers.pop(message[1], None)
            if answer is not None:
                usage = None if message[4] is None else Usage(*message[4])
                answer.put(AiEnd(finish_reason=message[2], block_reason=message[3], usage=usage))
        elif kind == "ready":
            if not self.ready.done():
                self.ready.set_result(None)
        else:
            answer = self.answers.pop(message[1], None)
            if answer is not None:
                answer.fail(ai_pipe.raise_failure(message))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        answers, self.answers = self.answers, {}
        if answers:
            log.warning("the AI worker ended with %d answers in flight; they end as upstream errors", len(answers))
        for answer in answers.values():
            answer.fail(AiWorkerLost())
        if not self.ready.done():
            self.ready.set_exception(AiWorkerLost())


class _Worker:
    """One started worker: its link, and the process or thread that runs it."""

    def __init__(self, link: WorkerLink, runner: multiprocessing.process.BaseProcess | threading.Thread) -> None:
        self.link = link
        self.runner = runner

    @property
    def pid(self) -> int | None:
        return self.runner.pid if isinstance(self.runner, multiprocessing.process.BaseProcess) else None

    async def stop(self) -> None:
        """Close the pair (the worker ends its answers and exits), wait, and kill a process that lingers."""
        if self.link.transport is not None:
            self.link.transport.close()
        runner = self.runner
        await asyncio.to_thread(runner.join, STOP_WITHIN)
        if isinstance(runner, multiprocessing.process.BaseProcess) and runner.is_alive():
            log.warning("the AI worker did not end in %.0f s; killed", STOP_WITHIN)
            runner.kill()
            await asyncio.to_thread(runner.join, STOP_WITHIN)


def _context() -> multiprocessing.context.ForkServerContext:
    """The fork server's context, with google-genai and the worker imported before it forks anything."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["roomwire.reference.ai_worker_process"])
    return context


class WorkerAiClient:
    """`AiClient` whose SDK runs in a worker (module docstring); `options` are `GenaiClient`'s keyword arguments."""

    def __init__(self, options: dict[str, Any], *, host: WorkerHost = "process", log_level: str = "INFO") -> None:
        self._hello = {**options, "log_level": log_level}
        self._host = host
        self._ids = itertools.count(1)
        self._worker: _Worker | None = None
        self._starting: asyncio.Task[_Worker] | None = None
        self._closed = False
        GenaiClient(**options)  # the options are checked now (a bad transport is a start-up error), not in the worker

    @property
    def pid(self) -> int | None:
        """The worker process's id (None: none running, or a thread)."""
        worker = self._worker
        return worker.pid if worker is not None and not worker.link.lost else None

    async def start(self) -> None:
        """Start the worker and wait until its SDK client exists (a worker that cannot start is logged, and the
        next question tries again)."""
        try:
            await asyncio.wait_for(self.link(), READY_WITHIN)
        except (AiWorkerLost, TimeoutError, OSError):
            log.error("the AI worker did not start; the next question starts another")

    async def link(self) -> WorkerLink:
        """The live worker's link, starting a worker if there is none (one start at a time)."""
        worker = self._worker
        if worker is not None and not worker.link.lost:
            return worker.link
        if self._closed:
            raise AiWorkerLost()
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        try:
            worker = await asyncio.shield(self._starting)
        finally:
            if self._starting is not None and self._starting.done():
                self._starting = None
        return worker.link

    async def _start(self) -> _Worker:
        old, self._worker = self._worker, None
        if old is not None:
            await old.stop()
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        runner: multiprocessing.process.BaseProcess | threading.Thread
        try:
            if self._host == "thread":
                runner = threading.Thread(
                    target=asyncio.run, args=(ai_worker_process.serve(theirs, configure_logging=False),),
                    name="roomwire-ai-worker", daemon=True,
                )  # fmt: skip
                runner.start()
            else:
                runner = _context().Process(
                    target=ai_worker_process.main, args=(theirs,), name="roomwire-ai-worker", daemon=True
                )
                await asyncio.to_thread(runner.start)
                theirs.close()
            ready: asyncio.Future[None] = loop.create_future()
            _, link = await loop.connect_accepted_socket(lambda: WorkerLink(ready), ours)
        except BaseException:
            ours.close()
            theirs.close()
            raise
        link.send(("hello", dict(self._hello)))
        self._worker = _Worker(link, runner)
        await ready
        return self._worker

    def stream(self, request: AiRequest) -> WorkerAnswer:
        """The answer to `request`; the question goes to a running worker now, in this loop turn."""
        contents = GenaiClient.contents(request)
        worker = self._worker
        if worker is None or worker.link.lost or self._starting is not None:
            return WorkerAnswer(self, next(self._ids), list(contents))
        answer = WorkerAnswer(self, next(self._ids), None)
        worker.link.ask(answer, list(contents))
        return answer

    def cancel(self, id: int) -> None:
        worker = self._worker
        if worker is not None:
            worker.link.cancel(id)

    async def aclose(self) -> None:
        self._closed = True
        starting, self._starting = self._starting, None
        if starting is not None:
            starting.cancel()
            with contextlib.suppress(BaseException):
                await starting
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.stop()
