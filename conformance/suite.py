"""The suite as one call: `await run_suite(SuiteConfig(...))` -> RunResult. The CLI and the pytest plugin use it.

With URLs, it checks them (and the double at `double_url`, if given). Without, it starts the bundled target
(roomwire.conformance.bundled: the Gemini double and the reference server, wired together, with settings
that make the suite fast) and stops it afterwards, whatever happened. With `browser`, the browser checks
(SEC-003/SEC-005's browser side, CLIENT-*) load that page in chromium; `OWN_PAGE` ("/", what a bare
`--browser` gives) is the page the target serves at `/` (for the bundled target, the reference's chat page).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from roomwire.conformance.checklist import DEFAULT_PROFILE
from roomwire.conformance.hypothesis_home import suite_hypothesis_home
from roomwire.conformance.profiles import profile
from roomwire.conformance.registry import REGISTRY, Registry
from roomwire.conformance.repeat import combine_runs
from roomwire.conformance.runner import Progress, Runner, RunResult, Selection
from roomwire.conformance.session import BrowserSetup, Session, Timeouts
from roomwire.conformance.target import Target, parse_target
from roomwire.conformance.target_log import FileLog, TargetLog
from roomwire.conformance.upstream import Upstream
from roomwire.spec.errors import UsageError
from roomwire.spec.requirements import Level

Restart = Callable[[], Awaitable[None]]

#: `--browser` without a value: the page the target itself serves at `/`.
OWN_PAGE = "/"
#: The bundled targets that serve their own chat page at `/`, used by default (`--bundled`; None: the reference).
OWN_PAGE_TARGETS = (None, "reference", "seed-fixed")


def check_browser_page(value: str) -> None:
    """A `--browser` value is an http(s) URL with a host, or a path on the target's own host ("/": its page).

    Raises:
        UsageError: anything else (a ws:// URL here usually means the chat URL was taken as the page).
    """
    if value.startswith("/"):
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--browser takes the chat page's http(s) URL, not {value!r} (a bare --browser, after the chat "
            "URL(s), loads the page the target serves at /)"
        )


def check_target_logs(urls: tuple[str, ...], paths: tuple[str, ...]) -> None:
    """`--target-log` names files that exist, of a URL target (the suite keeps a bundled target's log itself).

    Raises:
        UsageError: a log given for the bundled target, or a path that is not a file.
    """
    if paths and not urls:
        raise UsageError("--target-log names the log of a URL target; the suite keeps the bundled target's itself")
    for path in paths:
        if not Path(path).is_file():
            raise UsageError(
                f"--target-log {path}: no such file (give the file the target writes its log to; it must exist "
                "when the run starts)"
            )


def browser_page_url(value: str, target: Target) -> str:
    """The page to load: `value`, or a path on the first endpoint's own http(s) origin."""
    return target.endpoint(0).http_base + value if value.startswith("/") else value


@dataclass(frozen=True, kw_only=True)
class SuiteConfig:
    """What `roomwire check` was asked to do (see `roomwire check --help`)."""

    urls: tuple[str, ...] = ()
    double_url: str | None = None
    canary_key: str | None = None
    only: tuple[str, ...] = ()
    level: Level | None = None
    ca_file: str | None = None
    timeout_factor: float = 1.0
    concurrency: int = 8
    variant: str | None = None  # bundled only: a deliberately broken variant (roomwire.targets.broken)
    browser: str | None = None  # --browser: the chat page's URL, or a path on the target's host (OWN_PAGE)
    bundled_options: dict[str, str] = field(default_factory=dict)  # bundled only: ROOMWIRE_* settings to change
    in_process: bool = False  # bundled only: serve the target in the suite's loop (the suite's own tests)
    allowed_origins: tuple[str, ...] = ()  # --allowed-origin: origins the deployment allows (SEC-004)
    repeat: int = 1  # --repeat: run the selected checks this many times against the same target
    ai_budget_rpm: int | None = None  # --ai-budget-rpm: the budget to pace by when the target advertises none
    default_browser: bool = True  # False: --no-browser (the bundled reference's page is not used unless --browser)
    profile: str = DEFAULT_PROFILE  # the protocol the target is judged on (its checklist table: checklist.TABLES)
    target_logs: tuple[str, ...] = ()  # --target-log: files the target writes its log to (SEC-003, UP-008)

    def validate(self) -> None:
        if not 0.1 <= self.timeout_factor <= 100:
            raise UsageError("--timeout-factor must be between 0.1 and 100")
        if not 1 <= self.concurrency <= 64:
            raise UsageError("--concurrency must be between 1 and 64")
        if not 1 <= self.repeat <= 100:
            raise UsageError("--repeat must be between 1 and 100")
        if self.ai_budget_rpm is not None and self.ai_budget_rpm < 1:
            raise UsageError("--ai-budget-rpm must be at least 1")
        if self.canary_key is not None and len(self.canary_key) < 8:
            raise UsageError("--canary-key must be at least 8 characters (a short one matches ordinary text)")
        if self.urls and self.variant is not None:
            raise UsageError("a broken variant is a bundled target; give no URL with it")
        check_target_logs(self.urls, self.target_logs)
        if self.browser is not None:
            from roomwire.conformance.browser_evidence import MIN_SECRET_CHARS

            check_browser_page(self.browser)
            if self.canary_key is not None and len(self.canary_key) < MIN_SECRET_CHARS:
                raise UsageError(f"--browser searches for the canary key: give one of {MIN_SECRET_CHARS}+ characters")


SessionFactory = Callable[[], Session]


@contextlib.asynccontextmanager
async def sessions_for(config: SuiteConfig) -> AsyncIterator[SessionFactory]:
    """Sessions on the configured target (starting the bundled one when no URL is given, stopped after): each call
    gives a fresh run (its own run id and rooms) on the same target and double. Each session carries over what the
    earlier ones spent of the target's AI budget, since the target still counts it."""
    config.validate()
    timeouts = Timeouts(config.timeout_factor)
    made: list[Session] = []
    page, absent = browser_page(config)

    given = tuple(FileLog(Path(path)) for path in dict.fromkeys(config.target_logs))  # each file read once

    def factory(
        target: Target,
        upstream: Upstream | None,
        canary: str | None,
        restart: Restart | None,
        logs: tuple[TargetLog, ...] = (),
    ) -> Session:
        bundled = not config.urls
        for log in (*logs, *given):
            log.mark()  # only what the target logs during this run is judged
        session = Session(
            canary_configured=bundled,
            target=target,
            timeouts=timeouts,
            upstream=upstream,
            canary=canary,
            restart=restart,
            browser=_browser(page, target),
            browser_absent=absent,
            allowed_origins=config.allowed_origins,
            spent=made[-1].ai if made else None,
            assumed_ai_budget=config.ai_budget_rpm,
            target_logs=(*logs, *given),
            profile=profile(config.profile),
        )
        made.append(session)
        return session

    if config.urls:
        target = parse_target(config.urls, config.ca_file)
        upstream = Upstream(config.double_url, within=timeouts.frame) if config.double_url else None
        try:
            yield lambda: factory(target, upstream, config.canary_key, None)
        finally:
            if upstream is not None:
                await upstream.aclose()
        return
    from roomwire.conformance.bundled import bundled_target

    async with bundled_target(config.variant, config.bundled_options, in_process=config.in_process) as bundle:
        upstream = Upstream(bundle.double_url, within=timeouts.frame)
        try:
            yield lambda: factory(parse_target([bundle.url]), upstream, bundle.canary, bundle.restart, (bundle.log,))
        finally:
            await upstream.aclose()


def _browser(page: str | None, target: Target) -> BrowserSetup | None:
    return BrowserSetup(browser_page_url(page, target)) if page is not None else None


def browser_page(config: SuiteConfig) -> tuple[str | None, str | None]:
    """The page the browser checks use, and, when a run that would use one by default cannot, why not.

    `--browser` is always obeyed (chromium missing is then an ERROR). Without it, a run of the bundled reference
    or the fixed seed (`--bundled seed-fixed`: both serve their own page at `/`; no URL, no broken variant) uses
    that page when Playwright and chromium are here (a newcomer's first run
    has no SKIP a flag would have turned into a verdict; `--no-browser` turns that off), and otherwise its
    CLIENT-* and browser-side key checks are SKIP saying how to get them, never ERROR. A URL target needs
    `--browser`: only its owner knows where its page is.
    """
    if config.browser is not None:
        return config.browser, None
    if config.urls or config.variant not in OWN_PAGE_TARGETS or not config.default_browser:
        return None, None
    from roomwire.conformance.chromium import unavailable

    absent = unavailable()
    return (OWN_PAGE, None) if absent is None else (None, absent)


async def run_suite(
    config: SuiteConfig, *, progress: Progress | None = None, registry: Registry = REGISTRY
) -> RunResult:
    """Run the selected checks (`config.repeat` times, combined by roomwire.conformance.repeat); raises
    TargetUnreachable (exit 3) when the target cannot be reached at all."""
    import roomwire.conformance.checks  # noqa: F401 - registers the checks

    runs: list[RunResult] = []
    with suite_hypothesis_home():  # nothing lands in the directory the suite was started from
        async with sessions_for(config) as new_session:
            for _ in range(config.repeat):
                session = new_session()
                try:
                    runner = Runner(
                        session,
                        registry,
                        Selection(config.only, config.level),
                        concurrency=config.concurrency,
                        progress=progress,
                    )
                    runs.append(_with_facts(await runner.run(), config, session))
                finally:
                    await session.aclose()
    return combine_runs(runs)


def _with_facts(result: RunResult, config: SuiteConfig, session: Session) -> RunResult:
    result.facts["profile"] = config.profile
    result.facts["target"] = f"bundled {config.variant or 'reference'}" if not config.urls else ", ".join(config.urls)
    if not config.urls:
        from roomwire.conformance.bundled import BUNDLED_SETTINGS

        settings = {**BUNDLED_SETTINGS, **config.bundled_options}
        result.facts["bundled settings"] = ", ".join(
            f"{k.removeprefix('ROOMWIRE_').lower()}={v}" for k, v in settings.items()
        )
    if config.variant:
        result.facts["variant"] = config.variant
    result.facts["run_id"] = session.run_id
    return result


def selected_count(config: SuiteConfig, registry: Registry = REGISTRY) -> int:
    """How many checks a run of `config` will start (for the progress display)."""
    import roomwire.conformance.checks  # noqa: F401 - registers the checks

    selection, judged = Selection(config.only, config.level), profile(config.profile)
    known = [req for req in registry.known.values() if judged.applies(req.id)]
    wanted = {req.id for req in known if selection.wants(req, registry.for_requirement(req.id))}
    return sum(1 for c in registry.checks.values() if c.requirement_id in wanted and judged.allows(c.profiles))
