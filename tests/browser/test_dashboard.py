"""The dashboard in headless Chromium against a real gateway fed by the real pipeline.

Detections are XADDed upstream (as a listener would) and flow consumer → live channel →
gateway → WebSocket → page. Every wait is one of Playwright's auto-retrying expectations.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Locator, Page, expect

from telesniff.contract import Entry
from tests.browser.conftest import ARTIFACTS, StackFactory
from tests.browser.stack import Stack, call, demo_calls, evm, sol

pytestmark = pytest.mark.browser

OpenPage = Callable[[Stack, str], Awaitable[Page]]


def rows(page: Page) -> Locator:
    return page.locator("#feed-body > tr")


def row_with(page: Page, value: str) -> Locator:
    return rows(page).filter(has_text=value)


async def live(page: Page) -> None:
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")


async def test_a_detection_published_upstream_appears(stack: Stack, open_page: OpenPage) -> None:
    page = await open_page(stack, "")
    await live(page)
    address, contract = sol(), evm()
    await stack.publish(
        [
            call(
                f"🚨 NEW CALL\nCA: {address}\nalso {contract}",
                [("solana", address), ("evm", contract)],
                chat="Degen Lounge",
                sender="solwhale",
            ),
        ]
    )
    row = row_with(page, address)
    await expect(row).to_have_count(1)
    await expect(row.locator(".c-group")).to_have_text("alpha")
    await expect(row.locator(".c-chat")).to_have_text("Degen Lounge")
    await expect(row.locator(".c-sender")).to_have_text("@solwhale")
    # Listener → screen latency, measured in the page.
    await expect(row.locator(".lat")).to_have_text(re.compile(r"^\d+ ms$"))
    # Both matched values highlighted in the message, each with its kind.
    await expect(row.locator("mark.hl.k-solana")).to_have_text(address)
    await expect(row.locator("mark.hl.k-evm")).to_have_text(contract)
    await expect(row.locator(".badge")).to_have_text(["SOL", "EVM"])

    solana_links = row.locator(".match").nth(0).locator("a")
    await expect(solana_links).to_have_count(4)
    hrefs = [await link.get_attribute("href") for link in await solana_links.all()]
    assert hrefs == [
        f"https://pump.fun/coin/{address}",
        f"https://dexscreener.com/solana/{address}",
        f"https://birdeye.so/token/{address}?chain=solana",
        f"https://solscan.io/token/{address}",
    ]
    evm_links = row.locator(".match").nth(1).locator("a")
    hrefs = [await link.get_attribute("href") for link in await evm_links.all()]
    assert hrefs == [
        f"https://etherscan.io/token/{contract}",
        f"https://dexscreener.com/ethereum/{contract}",
    ]
    for link in await row.locator("a").all():
        assert await link.get_attribute("target") == "_blank"
        assert await link.get_attribute("rel") == "noopener noreferrer"
    await expect(page.locator("#count-total")).to_have_text("1")


async def test_message_text_is_shown_never_interpreted(stack: Stack, open_page: OpenPage) -> None:
    page = await open_page(stack, "")
    await live(page)
    address = sol()
    hostile = (
        '<img src=x onerror="window.__pwned=1"><b>bold</b>'
        f"<script>window.__pwned=2</script> CA {address}"
    )
    await stack.publish(
        [
            call(
                hostile,
                [("solana", address), ("keyword", "<b>bold</b>")],
                chat='<i onmouseover="x">chat</i>',
                sender="x<y",
            )
        ]
    )
    row = row_with(page, address)
    await expect(row.locator(".msg")).to_have_text(hostile)
    await expect(row.locator(".c-chat")).to_have_text('<i onmouseover="x">chat</i>')
    await expect(row.locator("img, b, script, i")).to_have_count(0)
    assert await page.evaluate("window.__pwned") is None


async def test_copy_puts_the_address_on_the_clipboard(stack: Stack, open_page: OpenPage) -> None:
    page = await open_page(stack, "")
    await live(page)
    first, second = sol(), sol()
    await stack.publish(
        [call(f"CA: {first}", [("solana", first)]), call(f"second {second}", [("solana", second)])]
    )
    await row_with(page, first).locator("button.copy").click()
    await expect(page.locator("#toast")).to_contain_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == first

    # The keyboard way: focus the copy button, press Enter.
    button = row_with(page, second).locator("button.copy")
    await button.focus()
    await page.keyboard.press("Enter")
    await expect(button).to_have_class(re.compile(r"\bcopied\b"))
    assert await page.evaluate("navigator.clipboard.readText()") == second


async def test_filters_narrow_the_feed_and_survive_a_reload(
    stack: Stack, open_page: OpenPage
) -> None:
    a1, b1, e1 = sol(), sol(), evm()
    await stack.publish(
        [
            call(f"alpha call {a1}", [("solana", a1)], group="alpha"),
            call(
                f"beta eth {e1}", [("evm", e1)], group="beta", chat_id=-1002, chat="ETH Gem Hunters"
            ),
            call(
                f"beta to the moon {b1}",
                [("solana", b1), ("keyword", "moon")],
                group="beta",
                chat_id=-1003,
                chat="Degen Lounge",
                sender="moonboi",
                sender_id=5100009,
            ),
        ]
    )
    await stack.wait_stored(3)
    page = await open_page(stack, "")
    await expect(rows(page)).to_have_count(3)
    await live(page)

    await page.get_by_label("Group", exact=True).fill("beta")
    await page.get_by_label("Group", exact=True).press("Enter")
    await expect(page).to_have_url(re.compile(r"\?group=beta$"))
    await expect(rows(page)).to_have_count(2)
    await expect(row_with(page, a1)).to_have_count(0)
    await live(page)

    # The live socket was reopened with the filter: only beta arrives.
    a2, b2 = sol(), sol()
    await stack.publish(
        [
            call(f"alpha again {a2}", [("solana", a2)], group="alpha"),
            call(f"beta again {b2}", [("solana", b2)], group="beta"),
        ]
    )
    await expect(row_with(page, b2)).to_have_count(1)
    await expect(row_with(page, a2)).to_have_count(0)
    await expect(rows(page)).to_have_count(3)
    await stack.wait_stored(5)

    await page.reload()
    await expect(page.get_by_label("Group", exact=True)).to_have_value("beta")
    await expect(rows(page)).to_have_count(3)
    for value in (b1, e1, b2):
        await expect(row_with(page, value)).to_have_count(1)
    await live(page)

    # Kind chips and the text search narrow further, and are in the URL too.
    await page.locator("label.chip.k-evm").click()
    await expect(page).to_have_url(re.compile(r"group=beta&kind=evm"))
    await expect(rows(page)).to_have_count(1)
    await expect(row_with(page, e1)).to_have_count(1)
    await page.locator("label.chip.k-evm").click()
    await page.get_by_label("Text", exact=True).fill("MOON")
    await page.get_by_label("Text", exact=True).press("Enter")
    await expect(page).to_have_url(re.compile(r"group=beta&q=MOON"))
    await expect(rows(page)).to_have_count(1)
    await expect(row_with(page, b1)).to_have_count(1)

    # A shared link opens the same view.
    shared = await page.context.new_page()
    await shared.goto(page.url)
    await expect(shared.get_by_label("Group", exact=True)).to_have_value("beta")
    await expect(shared.get_by_label("Text", exact=True)).to_have_value("MOON")
    await expect(rows(shared)).to_have_count(1)
    await expect(row_with(shared, b1)).to_have_count(1)
    await shared.close()
    await page.get_by_role("button", name="Clear").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(rows(page)).to_have_count(5)


async def test_clicking_a_chat_filters_by_it(stack: Stack, open_page: OpenPage) -> None:
    one, two = sol(), sol()
    await stack.publish(
        [
            call(f"x {one}", [("solana", one)], chat_id=-100111, chat="Whale Watch"),
            call(f"y {two}", [("solana", two)], chat_id=-100222, chat="Pump Sniper Club"),
        ]
    )
    page = await open_page(stack, "")
    await expect(rows(page)).to_have_count(2)
    await row_with(page, one).get_by_role("button", name="Whale Watch").click()
    await expect(page).to_have_url(re.compile(r"\?chat=-100111$"))
    await expect(rows(page)).to_have_count(1)
    await expect(page.get_by_label("Chat id", exact=True)).to_have_value("-100111")


async def test_pause_buffers_and_resume_shows_everything(stack: Stack, open_page: OpenPage) -> None:
    page = await open_page(stack, "")
    await live(page)
    pause = page.locator("#pause")
    await pause.click()
    await expect(pause).to_have_attribute("aria-pressed", "true")
    held = [sol() for _ in range(3)]
    await stack.publish([call(f"held {value}", [("solana", value)]) for value in held])
    await expect(page.locator("#held")).to_have_text("3 new")
    await expect(page).to_have_title("(3) telesniff")
    await expect(rows(page)).to_have_count(0)
    await page.keyboard.press("p")  # the shortcut resumes
    await expect(pause).to_have_attribute("aria-pressed", "false")
    await expect(rows(page)).to_have_count(3)
    # Newest first.
    await expect(rows(page).first).to_contain_text(held[-1])
    await expect(page.locator("#held")).to_be_hidden()


# Spies on the real APIs: every Notification constructed and every beep's oscillator.
_SPY_ALERTS = """
window.__notices = [];
window.__beeps = 0;
window.Notification = new Proxy(window.Notification, {
  construct(target, args) {
    window.__notices.push({ title: args[0], body: (args[1] || {}).body });
    return new target(...args);
  },
});
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__beeps += 1;
  return createOscillator.call(this);
};
"""


async def test_sound_and_desktop_notification_for_chosen_groups(
    stack: Stack, open_page: OpenPage
) -> None:
    page = await open_page(stack, "")
    await page.context.grant_permissions(["notifications"], origin=stack.url)
    await page.add_init_script(_SPY_ALERTS)
    await page.reload()
    await live(page)
    await page.locator("#alerts-menu > summary").click()
    await page.get_by_label("Sound (beep)").check()
    await page.get_by_label("Desktop notification").check()
    await page.get_by_label("For groups").fill("beta")
    await page.get_by_label("For groups").press("Tab")  # "change" fires on leaving the field
    await expect(page.locator("#alerts-on")).to_be_visible()

    ignored, wanted = sol(), sol()
    await stack.publish([call(f"alpha {ignored}", [("solana", ignored)], group="alpha")])
    await expect(row_with(page, ignored)).to_have_count(1)
    await stack.publish(
        [call(f"beta {wanted}", [("solana", wanted)], group="beta", chat="Whale Watch")]
    )
    await expect(row_with(page, wanted)).to_have_count(1)
    await page.wait_for_function("window.__notices.length >= 1")
    notices = await page.evaluate("window.__notices")
    assert len(notices) == 1, notices
    assert notices[0]["title"].startswith("SOL ")
    assert "Whale Watch" in notices[0]["body"]
    assert await page.evaluate("window.__beeps") == 1

    # The choice is remembered.
    await page.reload()
    await page.locator("#alerts-menu > summary").click()
    await expect(page.get_by_label("Sound (beep)")).to_be_checked()
    await expect(page.get_by_label("Desktop notification")).to_be_checked()
    await expect(page.get_by_label("For groups")).to_have_value("beta")


async def test_keyboard_shortcuts_and_tabs(stack: Stack, open_page: OpenPage) -> None:
    page = await open_page(stack, "")
    await live(page)
    await page.keyboard.press("/")
    await expect(page.get_by_label("Text", exact=True)).to_be_focused()
    await page.keyboard.type("moon")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"\?q=moon$"))
    await page.locator("#feed-scroll").focus()
    await page.keyboard.press("h")
    await expect(page.get_by_role("tab", name="Hot addresses")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(page.locator("#view-hot")).to_be_visible()
    await page.get_by_role("tab", name="Hot addresses").focus()
    await page.keyboard.press("ArrowLeft")
    await expect(page.get_by_role("tab", name="Live feed")).to_be_focused()
    await expect(page.locator("#view-feed")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"\?q=moon$"))


async def distinct_rows(page: Page) -> int:
    keys: list[str] = await rows(page).evaluate_all("rows => rows.map(row => row.dataset.key)")
    return len(set(keys))


async def scroll_to_bottom(page: Page) -> None:
    await page.locator("#feed-scroll").evaluate(
        "element => { element.scrollTop = element.scrollHeight; }"
    )


async def test_older_rows_page_in_from_history_on_scroll(stack: Stack, open_page: OpenPage) -> None:
    values = [sol() for _ in range(250)]
    await stack.publish([call(f"old {value}", [("solana", value)]) for value in values])
    await stack.wait_stored(250)
    page = await open_page(stack, "")
    await expect(rows(page)).to_have_count(100)  # one page of history
    await expect(rows(page).first).to_contain_text(values[-1])
    await scroll_to_bottom(page)
    await expect(rows(page)).to_have_count(200)
    await scroll_to_bottom(page)
    await expect(rows(page)).to_have_count(250)
    await expect(page.locator("#older-status")).to_have_text("End of history.")
    await expect(page.locator("#load-older")).to_be_hidden()
    await expect(rows(page).last).to_contain_text(values[0])
    assert await distinct_rows(page) == 250


async def test_the_live_list_is_capped_and_trimmed_rows_come_back(
    stack: Stack, open_page: OpenPage
) -> None:
    page = await open_page(stack, "")
    await live(page)
    await page.evaluate("window.telesniff.feed.cap = 20")  # 500 by default
    values = [sol() for _ in range(30)]
    for start in range(0, 30, 10):
        await stack.publish(
            [call(f"live {value}", [("solana", value)]) for value in values[start : start + 10]]
        )
        await expect(row_with(page, values[start + 9])).to_have_count(1)
    await expect(rows(page)).to_have_count(20)
    await expect(row_with(page, values[0])).to_have_count(0)
    await stack.wait_stored(30)
    # The oldest ten were dropped from memory; scrolling down brings them back from REST.
    await scroll_to_bottom(page)
    await expect(rows(page)).to_have_count(30)
    await expect(rows(page).last).to_contain_text(values[0])
    assert await distinct_rows(page) == 30


async def test_the_page_resumes_after_a_gateway_restart_without_losing_detections(
    stack: Stack, open_page: OpenPage
) -> None:
    page = await open_page(stack, "")
    await live(page)
    before = [sol() for _ in range(3)]
    await stack.publish([call(f"before {value}", [("solana", value)]) for value in before])
    await expect(rows(page)).to_have_count(3)

    await stack.stop_gateway()
    await expect(page.locator("#conn")).to_have_attribute(
        "data-state", re.compile("waiting|down|reconnecting")
    )
    # Published while no gateway runs: the consumer stores them, nobody sees them live.
    during = [sol() for _ in range(5)]
    await stack.publish([call(f"during {value}", [("solana", value)]) for value in during])
    await stack.wait_stored(8)
    await stack.start_gateway()

    await live(page)
    for value in during:
        await expect(row_with(page, value)).to_have_count(1)
    after = sol()
    await stack.publish([call(f"after {value}", [("solana", value)]) for value in [after]])
    await expect(row_with(page, after)).to_have_count(1)
    await expect(rows(page)).to_have_count(9)
    for value in before:
        await expect(row_with(page, value)).to_have_count(1)
    await expect(page.locator("#count-total")).to_have_text("9")


async def test_the_hot_view_ranks_an_address_called_in_several_chats_first(
    stack: Stack, open_page: OpenPage
) -> None:
    spread, loud, once = sol(), sol(), evm()
    chats = [
        (-1001, "Solana Alpha Calls", 5100001, "ansem_calls"),
        (-1002, "Degen Lounge", 5100002, "solwhale"),
        (-1003, "Whale Watch", 5100003, "gemfinder"),
    ]
    entries = [
        call(
            f"CA {spread}",
            [("solana", spread)],
            chat_id=chat_id,
            chat=chat,
            sender_id=sender_id,
            sender=sender,
        )
        for chat_id, chat, sender_id, sender in chats
    ]
    entries += [
        call(f"again {loud}", [("solana", loud)], chat_id=-1004, chat="Pump Sniper Club")
        for _ in range(3)
    ]
    entries.append(call(f"eth {once}", [("evm", once)], chat_id=-1005, chat="ETH Gem Hunters"))
    await stack.publish(entries)
    await stack.wait_stored(len(entries))

    page = await open_page(stack, "")
    await live(page)
    await page.get_by_role("tab", name="Hot addresses").click()
    await expect(page).to_have_url(re.compile(r"view=hot"))
    hot = page.locator("#hot-body > tr")
    await expect(hot).to_have_count(3)
    await expect(hot.nth(0)).to_contain_text(spread)
    await expect(hot.nth(0).locator("td").nth(4)).to_have_text("3")  # chats
    await expect(hot.nth(0).locator("td").nth(5)).to_have_text("3")  # senders
    await expect(hot.nth(1)).to_contain_text(loud)

    await page.get_by_label("Window").select_option("5m")
    await expect(page).to_have_url(re.compile(r"view=hot&window=5m"))
    await page.reload()
    await expect(page.get_by_role("tab", name="Hot addresses")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(page.get_by_label("Window")).to_have_value("5m")
    await expect(hot.nth(0)).to_contain_text(spread)

    # Per address: first seen, distinct chats and senders, in the side panel.
    await hot.nth(0).locator("button.addr").click()
    panel = page.locator("#panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator("code")).to_have_text(spread)
    stats = panel.locator(".panel-stats dd")
    await expect(stats).to_have_text([re.compile(r"\d+ s ago"), "3", "3", "3"])
    await expect(panel.locator("table").first.locator("tbody tr")).to_have_count(3)
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()


async def test_a_token_protected_gateway_asks_for_the_token(
    start_stack: StackFactory, open_page: OpenPage
) -> None:
    stack = await start_stack(api_tokens=["s3cret-token"])
    page = await open_page(stack, "")
    dialog = page.locator("#auth")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "auth")

    await page.get_by_label("API token").fill("wrong-token")
    await page.get_by_role("button", name="Connect").click()
    await expect(page.locator("#auth-error")).to_have_text(re.compile("not accepted"))
    await expect(dialog).to_be_visible()

    await page.get_by_label("API token").fill("s3cret-token")
    await page.get_by_role("button", name="Connect").click()
    await expect(dialog).to_be_hidden()
    await live(page)
    address = sol()
    await stack.publish([call(f"CA {address}", [("solana", address)])])
    await expect(row_with(page, address)).to_have_count(1)

    # Kept for the session: a reload goes straight to the feed.
    await stack.wait_stored(1)
    await page.reload()
    await live(page)
    await expect(dialog).to_be_hidden()
    await expect(row_with(page, address)).to_have_count(1)
    assert await page.evaluate("sessionStorage.getItem('telesniff.token')") == "s3cret-token"


_CONTRAST = """
(selectors) => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) =>
    [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c[3] > 0) layers.push(c);
    }
    let color = [255, 255, 255, 1];
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const out = {};
  for (const selector of selectors) {
    const el = document.querySelector(selector);
    if (!el) { out[selector] = null; continue; }
    const bg = background(el);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    out[selector] = Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100;
  }
  return out;
}
"""

_TEXT = [
    "body",
    ".brand",
    ".counters dt",
    ".counters dd",
    "#conn",
    ".tabs [role=tab]",
    ".tabs [role=tab][aria-selected=true]",
    ".field",
    ".chip span",
    ".grid th",
    "#feed-body tr:nth-child(1) .c-time time",
    "#feed-body tr:nth-child(2) .c-time time",
    "#feed-body .lat",
    "#feed-body .c-group .cell-filter",
    "#feed-body .c-chat .cell-filter",
    "#feed-body .c-sender .cell-filter",
    "#feed-body .msg",
    "#feed-body mark.hl.k-solana",
    "#feed-body mark.hl.k-evm",
    "#feed-body .badge.k-solana",
    "#feed-body .badge.k-evm",
    "#feed-body .badge.k-url",
    "#feed-body .badge.k-keyword",
    "#feed-body .addr",
    "#feed-body .xl",
    "#feed-body .copy",
    ".btn.primary",
    ".kind-count.k-solana dt",
    ".kind-count.k-regex dt",
]


async def test_text_contrast_in_both_themes(stack: Stack, open_page: OpenPage) -> None:
    page = await open_page(stack, "")
    await live(page)
    address, contract = sol(), evm()
    await stack.publish(
        [
            call(
                f"CA {address} to the moon https://pump.fun/coin/{address}",
                [
                    ("solana", address),
                    ("keyword", "moon"),
                    ("url", f"https://pump.fun/coin/{address}"),
                ],
            ),
            call(f"eth {contract}", [("evm", contract)]),
        ]
    )
    await expect(rows(page)).to_have_count(2)
    await expect(page.locator("#feed-body tr.fresh")).to_have_count(0)  # the new-row tint is off
    for scheme in ("dark", "light"):
        await page.emulate_media(color_scheme=scheme)
        ratios = await page.evaluate(_CONTRAST, _TEXT)
        low = {
            selector: ratio for selector, ratio in ratios.items() if ratio is None or ratio < 4.5
        }
        assert not low, f"{scheme}: contrast below 4.5:1 (or element missing): {low}"
    # The toggle overrides the system preference (auto → dark → light).
    await page.emulate_media(color_scheme="dark")
    await page.locator("#theme").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    await page.locator("#theme").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "light")
    ratios = await page.evaluate(_CONTRAST, _TEXT)
    assert min(ratios.values()) >= 4.5, ratios


async def test_under_load_screenshot(stack: Stack, open_page: OpenPage) -> None:
    """500 detections at about 300 a second; the picture goes to artifacts/dashboard.png."""
    page = await open_page(stack, "")
    await live(page)
    calls = demo_calls(500)  # stamped as received when taken, like a listener would
    sent: list[Entry] = []
    for _ in range(0, 500, 15):
        batch = list(itertools.islice(calls, 15))
        await stack.publish(batch)
        sent += batch
        await asyncio.sleep(0.05)
    # The demo source edits a few earlier posts: an edit replaces its message's row.
    messages = len({(entry.chat_id, entry.message_id) for entry in sent})
    await expect(page.locator("#count-total")).to_have_text("500")
    await expect(page.locator("#count-latency")).to_have_text(re.compile(r"^\d+ ms$"))
    await expect(rows(page)).to_have_count(messages)
    await expect(page.locator("#count-stored")).to_have_text(str(messages))
    await expect(page.locator("#feed-body tr.fresh")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "dashboard.png")

    # The same view in the light theme with an address panel open.
    await page.locator("#theme").click()
    await page.locator("#theme").click()
    await rows(page).first.locator("button.addr").first.click()
    await expect(page.locator("#panel .panel-stats")).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "dashboard-light.png")
