"""Screenshots of the chat page for docs/page.md, taken by the tests' own browser against the real reference.

Every run takes them (so the scenes keep working); they are written to `docs/screenshots/` only with

    ROOMWIRE_UPDATE_SCREENSHOTS=1 pytest tests/browser/test_screenshots.py -m browser

Regenerate on a machine with a Korean font (Debian: `apt-get install fonts-nanum`), or the Hangul shows as boxes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import struct
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from roomwire.gemini_double.server import RunningDouble

from .conftest import VIEWPORT, html_site
from .reference_server import ReferenceProcess
from .test_with_reference import TIMEOUT_MS, ask, control, say

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

#: A stand-in for the game the chat sits beside (the screenshot's left side); not part of the product.
BESIDE_GAME = """<!doctype html><html><head><meta charset="utf-8"><style>
  body { margin: 0; display: flex; height: 100vh; background: #0b0d17; font-family: sans-serif; }
  .game { flex: 1; display: flex; align-items: center; justify-content: center; }
  .table { width: 300px; height: 600px; border-radius: 150px 150px 24px 24px; border: 6px solid #3b3f63;
           background: radial-gradient(circle at 50% 30%, #27306b, #10132b 70%); position: relative; }
  .bumper { position: absolute; width: 56px; height: 56px; border-radius: 50%; background: #f59e0b;
            box-shadow: 0 0 24px #f59e0b; }
  .ball { position: absolute; left: 180px; top: 330px; width: 18px; height: 18px; border-radius: 50%;
          background: #e5e7eb; box-shadow: 0 0 10px #fff; }
  .flipper { position: absolute; bottom: 70px; width: 90px; height: 16px; border-radius: 8px; background: #8b83ff; }
  .score { position: absolute; top: 26px; width: 100%; text-align: center; color: #e5e7eb; font: 700 22px monospace; }
  iframe { width: 420px; border: 0; border-left: 1px solid #2c3040; background: #fff; }
</style></head><body>
  <div class="game"><div class="table">
    <div class="score">1,204,500</div>
    <div class="bumper" style="left: 60px; top: 130px"></div>
    <div class="bumper" style="left: 180px; top: 110px"></div>
    <div class="bumper" style="left: 120px; top: 220px"></div>
    <div class="ball"></div>
    <div class="flipper" style="left: 40px; transform: rotate(20deg)"></div>
    <div class="flipper" style="right: 40px; transform: rotate(-20deg)"></div>
  </div></div>
  <iframe src="CHAT_URL" title="chat"></iframe>
</body></html>"""


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


async def person(browser: Browser, url: str) -> Page:
    context = await browser.new_context(viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]})
    page = await context.new_page()
    await page.goto(url)
    return page


async def test_screenshots(
    browser: Browser, reference: ReferenceProcess, double: RunningDouble, tmp_path: Path
) -> None:
    target = DOCS if os.environ.get("ROOMWIRE_UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    shots: dict[str, tuple[int, int]] = {}

    async def shoot(page: Page, name: str) -> None:
        await page.screenshot(path=target / f"{name}.png", animations="disabled", caret="hide")
        shots[name] = page.viewport_size and (page.viewport_size["width"], page.viewport_size["height"]) or (0, 0)

    join = await person(browser, reference.url)
    await join.fill("#nickname-input", "민수")
    await shoot(join, "join")

    minsu = await person(browser, f"{reference.url}?room=pinball&nickname=민수")
    jisu = await person(browser, f"{reference.url}?room=pinball&nickname=지수")
    await expect(minsu.locator("#members")).to_have_text("2명", timeout=TIMEOUT_MS)
    await say(jisu, "안녕! 방금 120만 점 찍었어")
    await say(minsu, "와 대박. 나는 아직 80만...")
    await say(jisu, '<img src=x onerror="alert(1)"> 이런 것도 그냥 글자로 보여')
    await expect(minsu.locator("#chat-log li.msg.user")).to_have_count(3)
    await shoot(minsu, "chat")

    await control(double, "POST", "/_double/config", {"chunk_interval_ms": 700})
    await ask(minsu, "멀티볼은 어떻게 시작해?")
    bubble = minsu.locator("#ai-log li.msg.ai").last
    await expect(bubble.locator(".text")).not_to_have_text("", timeout=TIMEOUT_MS)
    await shoot(minsu, "ai-streaming")
    await expect(bubble).to_have_attribute("data-status", "ok", timeout=TIMEOUT_MS)

    await control(double, "POST", "/_double/faults", {"kind": "rate_limit", "match": "한도", "retry_delay_s": 42})
    await ask(minsu, "무료 한도 테스트: 하나 더 물어봐도 돼?")
    await expect(minsu.locator("#ai-log .notice[data-code='upstream_rate_limited']")).to_be_visible(timeout=TIMEOUT_MS)
    await shoot(minsu, "ai-rate-limited")

    await minsu.click("#tab-chat")
    await jisu.close()
    await expect(minsu.locator("#chat-log .notice[data-event='leave']")).to_be_visible(timeout=TIMEOUT_MS)
    await asyncio.to_thread(reference.stop, signal.SIGTERM)
    await expect(minsu.locator("#chat-log .notice[data-code='server_restart']")).to_be_visible()
    await expect(minsu.locator("#status")).to_have_attribute("data-state", "waiting")
    await shoot(minsu, "reconnecting")
    with html_site(BESIDE_GAME.replace("CHAT_URL", f"{reference.url}?room=pinball&nickname=민수")) as game:
        reference.env["ROOMWIRE_PAGE_FRAME_ANCESTORS"] = game.rstrip("/")  # the game on its own origin (SEC-009)
        await asyncio.to_thread(reference.start)
        await expect(minsu.locator("#status")).to_have_attribute("data-state", "open", timeout=45_000)

        wide = await browser.new_page(viewport={"width": 1100, "height": 720})
        await wide.goto(game)
        chat = wide.frame_locator("iframe")
        await expect(chat.locator("#status")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
        await say(minsu, "옆 화면에서도 보여?")
        await expect(chat.locator("#chat-log li.msg.user .text").last).to_have_text("옆 화면에서도 보여?")
        await shoot(wide, "beside-game")

    for name, size in shots.items():
        assert png_size(target / f"{name}.png") == size, name
