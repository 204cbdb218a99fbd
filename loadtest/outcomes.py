"""How AI exchanges ended, counted per outcome and per user: the `ratelimit` scenario's answer.

The question the ratelimit scenario asks is "when AI requests exceed the server's budget and the upstream
quota, how many users get a friendly wait notice (`ai_quota`), how many an upstream 429
(`upstream_rate_limited`), and how many a hang?". Locust's failures table already counts the notices by code
(`ai error` / `upstream 429` rows); this tally adds the per-user view and prints one summary.

Workers add their counts since the last report to Locust's periodic worker report (`report_to_master`), and
the master adds them up (`worker_report`), so the summary covers all workers. Counts are additive: a user
reports an outcome as "new for this user" only the first time it sees it.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from roomwire.loadtest.metrics import AiOutcome

REPORT_KEY = "roomwire_ai_outcomes"


class Tally:
    """Exchanges and users per `AiOutcome` in this process (plus, on a master, what workers reported)."""

    def __init__(self) -> None:
        self.exchanges: Counter[AiOutcome] = Counter()
        self.users: Counter[AiOutcome] = Counter()
        self._unreported: dict[str, Counter[AiOutcome]] = {"exchanges": Counter(), "users": Counter()}

    def record(self, outcome: AiOutcome, *, first_for_user: bool) -> None:
        for name, counter in (("exchanges", self.exchanges), ("users", self.users)):
            if name == "users" and not first_for_user:
                continue
            counter[outcome] += 1
            self._unreported[name][outcome] += 1

    def clear(self) -> None:
        """Forget everything (a new test in the same process, e.g. started again from the web UI)."""
        self.exchanges.clear()
        self.users.clear()
        self._unreported = {"exchanges": Counter(), "users": Counter()}

    def take_report(self) -> dict[str, dict[str, int]]:
        """The counts since the last report, as plain JSON-able dicts (what a worker sends)."""
        report = {name: {o.value: n for o, n in counter.items()} for name, counter in self._unreported.items()}
        self._unreported = {"exchanges": Counter(), "users": Counter()}
        return report

    def merge(self, report: dict[str, dict[str, int]]) -> None:
        """Add a worker's report (master side)."""
        for name, counter in (("exchanges", self.exchanges), ("users", self.users)):
            for value, n in report.get(name, {}).items():
                counter[AiOutcome(value)] += int(n)

    @property
    def total(self) -> int:
        return sum(self.exchanges.values())

    def summary(self) -> list[str]:
        """Lines for the end-of-run report; empty when no AI exchange ended."""
        if not self.total:
            return []
        lines = [f"roomwire AI outcomes ({self.total} exchanges): outcome, exchanges, users who saw it"]
        for outcome in AiOutcome:
            lines.append(f"  {outcome.value:<38} {self.exchanges[outcome]:>8} {self.users[outcome]:>8}")
        return lines

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["outcome", "exchanges", "users"])
            for outcome in AiOutcome:
                writer.writerow([outcome.value, self.exchanges[outcome], self.users[outcome]])


TALLY = Tally()


def on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    data[REPORT_KEY] = TALLY.take_report()


def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    report = data.get(REPORT_KEY)
    if isinstance(report, dict):
        TALLY.merge(report)
