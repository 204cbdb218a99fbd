"""Profiles: which protocol a target is judged on, and how the checks read that protocol's frames.

`roomwire/1` is SPEC.md's own protocol. `seed` (`--profile seed`) is the seed document's protocol as written: five
frame types, no welcome, no `seq`, no `event` or `code`, the nickname in every `user_msg` (SPEC.md §17). A profile
is a small dialect seam, not a second suite: the checks are the same, and where the seed carries less they ask
the profile how to read what it does carry:

- membership: without a welcome, a connection is a member once its own probe `user_msg` comes back to it
  (roomwire.conformance.driver, `await_membership`), and no `?nickname=` goes in the URL;
- a leave notice: a `system` frame whose `content` names the member (any `system` frame for a member that never
  gave a name, whose name is the server's choice);
- an error notice: in roomwire/1 a `system` frame with `event` `error`; in the seed any `system` frame that is not
  a leave notice, with no `code`, `retry_after` or `ai_done` `status` to judge.

Requirements that exist only because roomwire/1 added something are `not_applicable` under the seed profile,
with SPEC.md §17's reason; checks registered for one profile only (`profiles=`) run only under it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

from roomwire.conformance import frames
from roomwire.conformance.frames import Predicate
from roomwire.spec.protocol import Received
from roomwire.spec.requirements import checklist_table, seed_profile
from roomwire.spec.texts import NEUTRAL_NAME, Lang

ROOMWIRE_1 = "roomwire/1"
SEED = "seed"
#: `profiles=` of a check whose verdict is stated in roomwire/1's fields (its seed form is another check).
ROOMWIRE_1_ONLY = (ROOMWIRE_1,)
SEED_ONLY = (SEED,)


@dataclass(frozen=True)
class Profile:
    """One protocol the suite can judge a target on (see the module docstring)."""

    name: str
    welcome: bool  # the protocol has a welcome (CONN-003); without one membership is taken from a probe's echo
    extras: bool  # roomwire/1's fields: `event`, `code`, `retry_after`, `seq`, `ts`, `id`, `ai_done` `status`
    query_nickname: bool  # the nickname goes in the URL (`?nickname=`) as well as in frames
    not_applicable: Mapping[str, str] = field(default_factory=dict)  # requirement ID -> why (SPEC.md §17)

    def applies(self, requirement_id: str) -> bool:
        return requirement_id not in self.not_applicable

    def outside(self, requirement_id: str) -> str:
        """The detail of a requirement that is not part of this profile's protocol (status not_applicable)."""
        return f"not part of the {self.name} protocol: {self.not_applicable[requirement_id]}"

    def allows(self, profiles: frozenset[str]) -> bool:
        """Whether a check registered for `profiles` (empty: every profile) runs under this one."""
        return not profiles or self.name in profiles

    def leave(self, nickname: str | None = None) -> Predicate:
        """A leave notice for `nickname` (any leave when None)."""
        if self.extras:
            return frames.leave(nickname)
        return lambda item: (
            _system_content(item) is not None and (nickname is None or nickname in (_system_content(item) or ""))
        )

    def silent_name(self, nickname: str | None) -> str | None:
        """The name a member that never sent a frame is announced by; None: any leave notice will do (the seed's
        server cannot know a name it was never sent, so it picks one of its own)."""
        if not self.extras:
            return None
        return nickname if nickname is not None else NEUTRAL_NAME[Lang.KO]

    def error(self) -> Predicate:
        """An error notice (any code)."""
        if self.extras:
            return frames.any_error()
        return lambda item: _system_content(item) is not None and frames.presence_name(item, "leave") is None

    def checklist(self) -> dict[int, tuple[str, ...]]:
        """This profile's checklist table: SPEC.md §15's, without what is not part of its protocol."""
        return {item: tuple(r for r in ids if self.applies(r)) for item, ids in checklist_table().items()}


def _system_content(item: Received) -> str | None:
    data = frames.data(item)
    content = data.get("content")
    return content if data.get("type") == "system" and isinstance(content, str) else None


@cache
def seed() -> Profile:
    reasons = {rid: form.text for rid, form in seed_profile().items() if not form.applies}
    return Profile(SEED, welcome=False, extras=False, query_nickname=False, not_applicable=reasons)


#: The profiles `--profile` offers, the default first.
PROFILE_NAMES = (ROOMWIRE_1, SEED)
PROFILES: dict[str, Callable[[], Profile]] = {
    ROOMWIRE_1: lambda: Profile(ROOMWIRE_1, welcome=True, extras=True, query_nickname=True),
    SEED: seed,
}


def profile(name: str) -> Profile:
    """The profile called `name`; KeyError for an unknown one (the CLI offers only known names)."""
    return PROFILES[name]()
