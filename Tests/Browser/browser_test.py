#!/usr/bin/env python3
"""Browser scenarios for the Switchboard web app and its JavaScript SDK.

Run by scripts/browser-test, which starts Redis, two nodes and haproxy
(scripts/cluster) and passes the load balancer's URL and the cluster folder.
Two headless Chromium sessions (two people) use the app as a person would:
forms, buttons, the keyboard. Assertions are about what the page shows;
every wait has a timeout, nothing is asserted about how long things take.
Prints one PASS/FAIL line per check and a final "N passed, M failed".
"""

import argparse
import os
import random
import signal
import string
import subprocess
import sys
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 20  # seconds any single wait may take
PASSWORD = "correct horse battery"

# The posts of the feed as the page shows them, newest first.
FEED_JS = """
return [...document.querySelectorAll('#feed-list li.post')].map(li => ({
    id: li.dataset.post,
    text: li.querySelector('.post-text')?.textContent ?? '',
    likes: Number(li.querySelector('.like-count')?.textContent ?? -1),
    liked: li.querySelector('.like-button')?.getAttribute('aria-pressed') === 'true',
    comments: Number(li.querySelector('.comment-count')?.textContent ?? -1),
}));
"""


class Skipped(Exception):
    """A step that cannot run against this server (a feature of another branch)."""


# The messages of the open conversation as the page shows them.
MESSAGES_JS = """
return [...document.querySelectorAll('#messages li.msg[data-seq]')].map(li => ({
    seq: Number(li.dataset.seq),
    text: li.querySelector('.msg-text')?.textContent ?? '',
    edited: !!li.querySelector('.msg-edited'),
    deleted: li.classList.contains('deleted'),
    seen: li.querySelector('.msg-seen')?.textContent ?? null,
}));
"""


class Browser:
    """One person's headless Chromium."""

    def __init__(self, name, base, failures):
        self.name = name
        self.base = base
        self.failures = failures
        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                         "--disable-gpu", "--lang=en-US", "--force-prefers-reduced-motion"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")))
        self.driver.set_page_load_timeout(WAIT)
        self.driver.set_script_timeout(WAIT)

    def open(self, path="/"):
        self.driver.get(self.base + path)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, condition, what, timeout=WAIT):
        """Waits until condition() is truthy (exceptions count as not yet); returns its value."""
        def probe(_):
            try:
                return condition()
            except (StaleElementReferenceException, WebDriverException, LookupError, TypeError):
                return False
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(probe, message=f"{self.name}: {what}")

    def wait_equal(self, getter, expected, what, timeout=WAIT):
        """Waits until getter() == expected; the failure shows the last value."""
        last = [None]

        def probe():
            last[0] = getter()
            return last[0] == expected
        try:
            self.wait(probe, what, timeout)
        except Exception as error:
            raise AssertionError(f"{self.name}: {what}: expected {expected!r}, last saw {last[0]!r}") from error

    def choose(self, css, value):
        """Picks an option of a <select> (found again if the page re-rendered it)."""
        def pick():
            Select(self.find(css)).select_by_value(value)
            return True
        self.wait(pick, f"choose {value} in {css}")

    def click(self, css):
        """Clicks an element (found again if the page re-rendered it in between)."""
        def press():
            self.find(css).click()
            return True
        self.wait(press, f"click {css}")

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def finds(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def visible(self, css):
        return any(e.is_displayed() for e in self.finds(css))

    def text(self, css):
        elements = self.finds(css)
        return elements[0].text if elements else None

    def messages(self):
        return self.js(MESSAGES_JS)

    def user_id(self):
        return self.js("return window.app?.client?.user?.id ?? null")

    def screenshot(self, path):
        self.driver.save_screenshot(path)

    def dump(self, label):
        """Screenshot and console log after a failure."""
        os.makedirs(self.failures, exist_ok=True)
        path = os.path.join(self.failures, f"{label}-{self.name}.png")
        try:
            self.driver.save_screenshot(path)
            print(f"    {self.name}: screenshot {path}")
            for entry in self.driver.get_log("browser")[-30:]:
                print(f"    {self.name} console: {entry.get('level')} {entry.get('message')}")
        except WebDriverException as error:
            print(f"    {self.name}: no dump ({error})")

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass


class Cluster:
    """What scripts/cluster wrote: the ports and pids of redis and the nodes."""

    def __init__(self, folder):
        self.folder = folder
        self.processes = {}
        with open(os.path.join(folder, "ports")) as ports:
            for line in ports:
                name, port, pid = line.split()
                self.processes[name] = (int(port), int(pid))

    def redis(self, *command):
        port = self.processes["redis"][0]
        result = subprocess.run(["redis-cli", "-p", str(port), *command], capture_output=True, text=True, timeout=10, check=True)
        return [line for line in result.stdout.splitlines() if line]

    def nodes_of(self, user_id):
        """The nodes holding a connection of the user (from sb:sockets:{U}: `node/connection` members)."""
        return [member.split("/")[0] for member in self.redis("ZRANGE", "sb:sockets:{%s}" % user_id, "0", "-1")]

    def kill(self, node):
        os.kill(self.processes[node][1], signal.SIGKILL)


class Scenario:
    def __init__(self, args):
        self.args = args
        suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=6))
        self.names = {"A": f"alice_{suffix}", "B": f"bob_{suffix}"}
        self.display = {"A": "Alice", "B": "Bob"}
        self.cluster = Cluster(args.cluster)
        self.images = args.images
        os.makedirs(self.images, exist_ok=True)
        failures = args.failures
        self.a = Browser("A", args.lb, failures)
        self.b = Browser("B", args.lb, failures)
        self.conv = None
        self.results = []

    def shot(self, browser, name):
        browser.screenshot(os.path.join(self.images, name))

    # MARK: steps

    def sdk_tests(self):
        """The SDK's own tests, in the page /test/sdk-test.html."""
        a = self.a
        a.open("/test/sdk-test.html?run")
        a.wait(lambda: a.js("return document.body.dataset.done === 'true'"), "SDK tests finished", timeout=300)
        report = a.js("return window.sdkTestResults")
        for result in report["results"]:
            line = f"sdk: {result['name']} ({result['ms']} ms)"
            self.record(line, result["ok"], result.get("error"))
        if report["failed"]:
            raise AssertionError(f"{report['failed']} SDK test(s) failed")

    def register(self):
        for key, browser in (("A", self.a), ("B", self.b)):
            browser.open("/")
            browser.wait(lambda: browser.visible("#auth-form"), "the sign-in form")
            browser.click("#auth-toggle")
            browser.wait(lambda: browser.find("#auth-submit").text == "Create account", "register mode")
            browser.find("#username").send_keys(self.names[key])
            browser.find("#password").send_keys(PASSWORD)
            browser.find("#display-name").send_keys(self.display[key])
            if key == "A":
                self.shot(browser, "register-desktop.png")
            browser.click("#auth-submit")
            browser.wait(lambda: browser.text("#me-name") == self.display[key], "signed in, name in the header")
            browser.wait(lambda: not browser.visible("#connection-banner"), "connected")

    def different_nodes(self):
        """Puts A's and B's WebSockets on different nodes (B reloads until round robin does it)."""
        a, b = self.a, self.b
        self.ids = {"A": a.user_id(), "B": b.user_id()}
        a.wait(lambda: len(self.cluster.nodes_of(self.ids["A"])) == 1, "A's one connection in Redis")
        for _ in range(12):
            b.wait(lambda: len(self.cluster.nodes_of(self.ids["B"])) == 1, "B's one connection in Redis")
            if self.cluster.nodes_of(self.ids["A"]) != self.cluster.nodes_of(self.ids["B"]):
                break
            b.driver.refresh()
            b.wait(lambda: b.text("#me-name") == "Bob" and not b.visible("#connection-banner"), "B reconnected")
        self.node = {key: self.cluster.nodes_of(self.ids[key])[0] for key in "AB"}
        assert self.node["A"] != self.node["B"], f"A and B on the same node: {self.node}"
        print(f"    A on {self.node['A']}, B on {self.node['B']}")

    def direct_chat_from_search(self):
        a = self.a
        a.click("#new-chat")
        a.wait(lambda: a.visible("#user-search"), "the search field")
        a.find("#user-search").send_keys(self.names["B"][:9])
        a.wait(lambda: a.finds(f'button[data-username="{self.names["B"]}"]'), "B in the results")
        self.shot(a, "new-chat-desktop.png")
        a.click(f'button[data-username="{self.names["B"]}"]')
        a.wait(lambda: a.text("#conv-title") == "Bob", "the conversation with Bob open")
        self.conv = a.js("return decodeURIComponent(location.hash.slice(4))")
        assert self.conv.startswith("d_"), self.conv

    def send(self, browser, text):
        field = browser.find("#composer-input")
        field.send_keys(text)
        field.send_keys(Keys.ENTER)
        browser.wait(lambda: any(m["text"] == text for m in browser.messages()), f"{text!r} sent")

    def badge(self, browser):
        item = browser.finds(f'.conv-item[data-conv="{self.conv}"] .badge')
        return item[0].text if item else None

    def unread_badge_and_cross_node(self):
        a, b = self.a, self.b
        self.send(a, f"Hello Bob (from {self.node['A']})")
        b.wait(lambda: self.badge(b) == "1", "B's unread badge at 1")
        self.send(a, "Are you there?")
        b.wait(lambda: self.badge(b) == "2", "B's unread badge at 2")
        item = f'.conv-item[data-conv="{self.conv}"]'
        b.wait(lambda: b.text(f"{item} .conv-last") == "Are you there?", "the last message in B's list")
        assert b.text(f"{item} .conv-name") == "Alice"
        self.shot(b, "list-unread-desktop.png")

    def open_clears_badge_and_seen(self):
        a, b = self.a, self.b
        b.click(f'.conv-item[data-conv="{self.conv}"] .conv-button')
        b.wait(lambda: b.text("#conv-title") == "Alice", "B opened the conversation")
        b.wait(lambda: [m["text"] for m in b.messages()] == [f"Hello Bob (from {self.node['A']})", "Are you there?"], "both messages at B")
        b.wait(lambda: self.badge(b) is None, "B's badge cleared")
        a.wait(lambda: a.messages()[-1]["seen"] == "Seen", "A sees “Seen”")

    def typing_both_ways(self):
        a, b = self.a, self.b
        a.find("#composer-input").send_keys("I am typ")
        b.wait(lambda: b.text("#typing") == "Alice is typing…", "B sees Alice typing")
        field = a.find("#composer-input")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE)
        b.wait(lambda: b.text("#typing") == "", "the typing notice goes away")
        b.find("#composer-input").send_keys("Hi")
        a.wait(lambda: a.text("#typing") == "Bob is typing…", "A sees Bob typing")
        b.find("#composer-input").send_keys(f" Alice (from {self.node['B']})", Keys.ENTER)
        a.wait(lambda: a.messages()[-1]["text"] == f"Hi Alice (from {self.node['B']})", "B's message at A")
        a.wait(lambda: a.text("#typing") == "", "no typing notice once the message is in")
        b.wait(lambda: b.messages()[-1]["seen"] == "Seen", "B sees “Seen” under its reply")

    def reload_keeps_session_and_history(self):
        b = self.b
        before = b.messages()
        b.driver.refresh()
        b.wait(lambda: b.text("#conv-title") == "Alice", "the conversation open again after the reload")
        b.wait_equal(b.messages, before, "the same history, once")
        assert not b.visible("#auth-form")
        b.wait(lambda: not b.visible("#connection-banner"), "B connected again")
        # The reload put B on whichever node the balancer chose: back onto B's own node for the kill.
        for _ in range(12):
            b.wait(lambda: len(self.cluster.nodes_of(self.ids["B"])) == 1, "B's one connection")
            if self.cluster.nodes_of(self.ids["B"]) != [self.node["A"]]:
                break
            b.driver.refresh()
            b.wait(lambda: b.text("#conv-title") == "Alice" and not b.visible("#connection-banner"), "B reconnected")
        self.node["B"] = self.cluster.nodes_of(self.ids["B"])[0]
        assert self.node["B"] != self.node["A"]

    def kill_node(self):
        a, b = self.a, self.b
        b.js("""
            window.bannerSeen = [];
            const banner = document.getElementById('connection-banner');
            new MutationObserver(() => window.bannerSeen.push(banner.hidden ? '' : banner.textContent))
                .observe(banner, {attributes: true, childList: true, characterData: true, subtree: true});
        """)
        print(f"    SIGKILL {self.node['B']} (B's node)")
        self.cluster.kill(self.node["B"])
        texts = [f"During the outage {i}" for i in (1, 2, 3)]
        for text in texts:
            self.send(a, text)
        b.wait(lambda: "Reconnecting…" in b.js("return window.bannerSeen"), "B shows “Reconnecting…”")
        b.wait(lambda: not b.visible("#connection-banner"), "B reconnected through the load balancer", timeout=40)
        a.wait(lambda: not a.finds("#messages li.pending"), "A's sends acknowledged")
        b.wait(lambda: [m["text"] for m in b.messages()][-3:] == texts, "the outage messages at B")
        seen_a, seen_b = a.messages(), b.messages()
        seqs = [m["seq"] for m in seen_b]
        assert seqs == list(range(1, len(seqs) + 1)), f"B's seqs are 1..n, each once: {seqs}"
        assert [m["text"] for m in seen_a] == [m["text"] for m in seen_b], "A and B show the same messages"
        b.wait(lambda: self.node["A"] in self.cluster.nodes_of(self.ids["B"]), "B now on the surviving node")
        a.wait(lambda: a.messages()[-1]["seen"] == "Seen", "A sees B has read the outage messages")
        self.send(b, "Back again")
        a.wait(lambda: a.messages()[-1]["text"] == "Back again", "B's message after the outage at A")

    def edit_and_delete(self):
        a, b = self.a, self.b
        first = f"Hello Bob (from {self.node['A']})"
        li = next(li for li in a.finds("#messages li.msg.own") if li.find_element(By.CSS_SELECTOR, ".msg-text").text == first)
        seq = int(li.get_attribute("data-seq"))
        a.click(f'#messages li[data-seq="{seq}"] .msg-edit')
        editor = a.wait(lambda: a.find(f'#messages li[data-seq="{seq}"] textarea.edit-input'), "the edit field")
        editor.send_keys(Keys.CONTROL, "a")
        editor.send_keys("Hello Bob, edited", Keys.ENTER)
        edited = lambda browser: next(m for m in browser.messages() if m["seq"] == seq)
        a.wait(lambda: edited(a)["text"] == "Hello Bob, edited" and edited(a)["edited"], "A shows the edit")
        b.wait(lambda: edited(b)["text"] == "Hello Bob, edited" and edited(b)["edited"], "B shows the edit")
        victim = next(m for m in a.messages() if m["text"] == "During the outage 2")["seq"]
        a.click(f'#messages li[data-seq="{victim}"] .msg-delete')
        a.click(f'#messages li[data-seq="{victim}"] .msg-confirm-delete')
        for browser in (a, b):
            browser.wait(lambda: next(m for m in browser.messages() if m["seq"] == victim)["text"] == "Message deleted",
                         f"{browser.name} shows the message deleted")
        a.js("document.querySelector('.messages-scroll').scrollTop = 1e9")  # back to the newest, as a reader would
        self.shot(a, "conversation-desktop.png")

    def group_members_roles(self):
        a, b = self.a, self.b
        a.click("#new-group")
        a.wait(lambda: a.visible("#group-name"), "the group form")
        a.find("#group-name").send_keys("Weekend plans")
        a.find("#group-user-search").send_keys(self.names["B"][:9])
        a.click(f'#group-user-search-results button[data-username="{self.names["B"]}"]')
        a.wait(lambda: "Bob" in a.text(".chips"), "Bob picked")
        a.click("#create-group")
        a.wait(lambda: a.text("#conv-title") == "Weekend plans", "the group open at A")
        group = a.js("return decodeURIComponent(location.hash.slice(4))")
        b.wait(lambda: b.finds(f'.conv-item[data-conv="{group}"]'), "the group in B's list")
        self.send(a, "Saturday?")
        b.wait(lambda: b.text(f'.conv-item[data-conv="{group}"] .conv-last') == "Alice: Saturday?", "the group message in B's list")
        a.click("#members-button")
        a.choose(f'#member-list li[data-user="{self.ids["B"]}"] select', "admin")
        a.wait(lambda: a.find(f'#member-list li[data-user="{self.ids["B"]}"] select').get_attribute("value") == "admin"
               and a.js("return window.app.store.conversations.get(arguments[0]).members.find(m => m.id === arguments[1]).role",
                        group, self.ids["B"]) == "admin", "Bob is admin")
        self.shot(a, "members-desktop.png")
        a.click(f'#member-list li[data-user="{self.ids["B"]}"] button')  # Remove
        a.wait(lambda: not a.finds(f'#member-list li[data-user="{self.ids["B"]}"]'), "Bob removed")
        a.click("#members-dialog .dialog-close")
        b.wait(lambda: not b.finds(f'.conv-item[data-conv="{group}"]'), "the group gone from B's list")

    def history_paging(self):
        a, b = self.a, self.b
        # Seed a long conversation as another device of A's would (REST sends), then page it in B's app.
        group = a.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            (async () => {
                const client = window.app.client;
                const group = await client.createGroup("Long history", [arguments[0]]);
                for (let i = 1; i <= 60; i += 1) {
                    const response = await fetch(`/api/v1/conversations/${group.id}/messages`, {
                        method: "POST", body: JSON.stringify({ text: `Line ${i}` }),
                        headers: { "Content-Type": "application/json", Authorization: `Bearer ${client.accessToken}` },
                    });
                    if (response.status !== 201) throw new Error(`send: ${response.status}`);
                }
                return group.id;
            })().then(done, (error) => done(`error: ${error.message}`));
        """, self.ids["B"])
        assert not group.startswith("error"), group
        b.wait(lambda: b.text(f'.conv-item[data-conv="{group}"] .conv-last') == "Alice: Line 60", "the long group in B's list")
        b.driver.refresh()  # B comes back later: the page holds none of it
        b.wait(lambda: b.text(f'.conv-item[data-conv="{group}"] .conv-last') == "Alice: Line 60", "the group listed after the reload")
        b.click(f'.conv-item[data-conv="{group}"] .conv-button')
        b.wait(lambda: [m["seq"] for m in b.messages()] == list(range(11, 61)), "the newest 50 messages")
        b.wait(lambda: b.visible("#load-older"), "more to load")
        b.js("document.querySelector('.messages-scroll').scrollTop = 0")  # the reader scrolls up
        b.wait(lambda: [m["text"] for m in b.messages()] == [f"Line {i}" for i in range(1, 61)], "all 60, once each, in order")
        b.wait(lambda: not b.visible("#load-older"), "nothing older")

    def rooms_join_leave(self):
        a, b = self.a, self.b
        name = "Lobby " + self.names["B"][-6:]
        b.click("#rooms-button")
        b.wait(lambda: b.visible("#room-name"), "the rooms dialog")
        b.find("#room-name").send_keys(name, Keys.ENTER)
        b.wait(lambda: b.text("#conv-title") == name, "the new room open at B")
        room = b.js("return decodeURIComponent(location.hash.slice(4))")
        self.send(b, "Welcome to the lobby")
        a.click("#rooms-button")
        a.wait(lambda: a.visible("#room-search"), "the room directory")
        a.find("#room-search").send_keys(name)
        a.click(f'#room-list li[data-conv="{room}"] button')
        a.wait(lambda: a.text("#conv-title") == name, "A joined and opened the room")
        a.wait(lambda: [m["text"] for m in a.messages()] == ["Welcome to the lobby"], "the room's history at A")
        a.click("#members-button")
        a.click("#leave-button")
        a.wait(lambda: not a.finds(f'.conv-item[data-conv="{room}"]'), "the room gone from A's list")

    def logout_notifications_login(self):
        a, b = self.a, self.b
        a.click(f'.conv-item[data-conv="{self.conv}"] .conv-button')
        a.wait(lambda: a.text("#conv-title") == "Bob", "A back in the chat with Bob")
        b.click("#logout-button")
        b.wait(lambda: b.visible("#auth-form"), "B signed out")
        a.wait(lambda: "offline" in a.text("#conv-subtitle"), "A sees Bob offline")
        self.send(a, "Ping while you are away")
        b.find("#username").send_keys(self.names["B"])
        b.find("#password").send_keys(PASSWORD, Keys.ENTER)
        b.wait(lambda: b.text("#me-name") == "Bob", "B signed in again")
        b.wait(lambda: b.text("#notification-count") == "1", "B's notification count")
        b.click("#notifications-button")
        b.wait(lambda: "Ping while you are away" in b.text("#notification-list"), "the notification listed")
        self.shot(b, "notifications-desktop.png")
        b.click("#clear-notifications")
        b.wait(lambda: b.text("#notification-list") == "Nothing new.", "notifications cleared")
        b.click("#notifications-dialog .dialog-close")

    def profile(self):
        a, b = self.a, self.b
        a.click("#profile-button")
        field = a.wait(lambda: a.find("#profile-display-name"), "the profile form")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("Alice L.")
        a.find("#profile-bio").send_keys("Down the rabbit hole")
        a.choose("#profile-status", "busy")
        a.click("#save-profile")
        a.wait(lambda: a.text("#profile-dialog [role=status]") == "Saved.", "profile saved")
        a.wait(lambda: a.text("#me-name") == "Alice L.", "the new name in the header")
        self.shot(a, "profile-desktop.png")
        a.click("#profile-dialog .dialog-close")
        b.click(f'.conv-item[data-conv="{self.conv}"] .conv-button')
        b.wait(lambda: "busy" in (b.text("#conv-subtitle") or ""), "B sees Alice busy")

    # MARK: the feed tab

    def feed(self, browser):
        return browser.js(FEED_JS)

    def post_li(self, post_id):
        return f'#feed-list li.post[data-post="{post_id}"]'

    def feed_follow_and_live_post(self):
        a, b = self.a, self.b
        b.click("#tab-feed")
        b.wait(lambda: b.visible("#post-composer"), "B's feed tab")
        b.find("#people-search").send_keys(self.names["A"][:10])
        b.click(f'#people-search-results button[data-username="{self.names["A"]}"]')
        b.wait(lambda: b.visible("#profile-panel") and b.text("#profile-name") == "Alice L.", "Alice's profile at B")
        b.click("#follow-button")
        b.wait(lambda: b.text("#follow-button") == "Unfollow" and b.text("#profile-followers") == "1", "B follows Alice")
        b.click("#profile-back")
        b.wait(lambda: b.visible("#post-composer") and not b.visible("#profile-panel"), "B back on the feed")
        a.click("#tab-feed")
        a.wait(lambda: a.visible("#post-composer"), "A's feed tab")
        # The byte count (é is two bytes) and the limit.
        a.find("#post-input").send_keys("Café")
        a.wait(lambda: a.text("#post-bytes") == "5 / 4096 bytes", "the byte count")
        a.js("const f = document.getElementById('post-input'); f.value = 'x'.repeat(4097); f.dispatchEvent(new Event('input'));")
        a.wait(lambda: a.find("#post-submit").get_attribute("disabled") is not None
               and "over" in a.find("#post-bytes").get_attribute("class"), "over the limit: Post disabled")
        field = a.find("#post-input")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE)
        self.post_text = f"First post from Alice ({self.names['A'][-6:]})"
        field.send_keys(self.post_text)
        a.click("#post-submit")
        a.wait(lambda: [p["text"] for p in self.feed(a)][:1] == [self.post_text], "the post on top of A's feed")
        a.wait(lambda: a.text("#post-bytes") == "0 / 4096 bytes", "the composer emptied")
        # B never reloads: the post comes live (the `post` event).
        b.wait(lambda: [p["text"] for p in self.feed(b)][:1] == [self.post_text], "the post live in B's feed")
        self.post_id = self.feed(b)[0]["id"]

    def feed_like_toggles(self):
        a, b = self.a, self.b
        li = self.post_li(self.post_id)
        b.click(f"{li} .like-button")
        b.wait(lambda: self.feed(b)[0]["likes"] == 1 and self.feed(b)[0]["liked"], "liked: count 1")
        b.click(f"{li} .like-button")
        b.wait(lambda: self.feed(b)[0]["likes"] == 0 and not self.feed(b)[0]["liked"], "unliked: count 0")
        b.click(f"{li} .like-button")
        b.wait(lambda: self.feed(b)[0]["likes"] == 1, "liked again")
        a.driver.refresh()
        a.wait(lambda: any(p["id"] == self.post_id and p["likes"] == 1 for p in self.feed(a)), "A sees 1 like after a reload")

    def feed_comment(self):
        a, b = self.a, self.b
        li = self.post_li(self.post_id)
        b.click(f"{li} .comment-toggle")
        field = b.wait(lambda: b.find(f"{li} .comment-input"), "the comment field")
        field.send_keys("Lovely!", Keys.ENTER)
        b.wait(lambda: b.text(f"{li} .comment-text") == "Lovely!" and self.feed(b)[0]["comments"] == 1, "B's comment shown, count 1")
        field = b.find(f"{li} .comment-input")
        field.send_keys("A typo", Keys.ENTER)
        b.wait(lambda: len(b.finds(f"{li} li.comment")) == 2, "the second comment")
        b.click(f"{li} li.comment .comment-delete")  # the newest: "A typo"
        b.wait(lambda: [e.text for e in b.finds(f"{li} .comment-text")] == ["Lovely!"], "the own comment deleted")
        a.click(f"{li} .comment-toggle")
        a.wait(lambda: [e.text for e in a.finds(f"{li} .comment-text")] == ["Lovely!"], "A sees B's comment on her post")
        self.shot(b, "feed-desktop.png")

    def feed_load_more(self):
        a, b = self.a, self.b
        # Alice's other device posts 22 more (REST): 23 in all, 20 a page.
        result = a.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            (async () => {
                for (let i = 1; i <= 22; i += 1) {
                    await window.app.client.createPost(`Older post ${i}`);
                    await new Promise((resolve) => setTimeout(resolve, 3));  // distinct createdAt: a definite order
                }
                return "ok";
            })().then(done, (error) => done(`error: ${error.message}`));
        """)
        assert result == "ok", result
        b.driver.get(b.base + "/#/feed")
        b.driver.refresh()
        b.wait(lambda: len(self.feed(b)) == 20, "the first page: 20 posts")
        b.wait(lambda: b.visible("#feed-more"), "“Load more” shown")
        expected = [f"Older post {i}" for i in range(22, 0, -1)] + [self.post_text]
        assert [p["text"] for p in self.feed(b)] == expected[:20], [p["text"] for p in self.feed(b)]
        b.click("#feed-more")
        b.wait_equal(lambda: [p["text"] for p in self.feed(b)], expected, "all 23, newest first, once each")
        b.wait(lambda: not b.visible("#feed-more"), "nothing more to load")

    def feed_share_to_chat(self):
        a, b = self.a, self.b
        li = self.post_li(self.post_id)
        b.wait(lambda: b.finds(li), "the post in B's feed")
        b.js("arguments[0].scrollIntoView()", b.find(li))
        b.click(f"{li} .share-button")
        b.wait(lambda: b.visible("#share-list"), "the share dialog")
        b.find("#share-text").send_keys("Look at this")
        b.click(f'#share-list button[data-conv="{self.conv}"]')
        b.wait(lambda: not b.visible("#share-dialog") or b.text("#share-dialog [role=alert]"), "shared, or an answer")
        if b.visible("#share-dialog"):
            error = b.text("#share-dialog [role=alert]")
            b.click("#share-dialog .dialog-close")
            if "does not support sharing posts" in error:
                raise Skipped(f"the server does not know `post` on send (branch attach not merged): {error}")
            raise AssertionError(f"share failed: {error}")
        b.wait(lambda: b.text("#conv-title") == "Alice L.", "the chat with Alice open at B")
        b.wait(lambda: b.text("#messages li.msg:last-of-type .shared-post-text") == self.post_text, "the post card in B's chat")
        a.click("#tab-chats")
        a.click(f'.conv-item[data-conv="{self.conv}"] .conv-button')
        a.wait(lambda: a.text("#messages li.msg:last-of-type .shared-post-text") == self.post_text, "the post card in A's chat")
        self.shot(a, "shared-post-desktop.png")
        # Alice deletes the post: the chat shows it deleted (after a reload: history marks it).
        a.click("#tab-feed")
        a.wait(lambda: a.finds("#feed-list li.post"), "A's feed")
        if not a.finds(li):
            a.click("#feed-more")  # the post is the oldest: on the second page
        a.click(f"{li} .post-delete")
        a.click(f"{li} .post-confirm-delete")
        a.wait(lambda: not a.finds(li), "the post gone from A's feed")
        b.driver.refresh()
        b.wait(lambda: b.text("#messages li.msg:last-of-type .shared-post.deleted") == "Deleted post", "“Deleted post” in B's chat")

    def phone_width(self):
        a = self.a
        a.driver.set_window_size(390, 844)
        a.wait(lambda: a.visible("#composer-input") and not a.visible(".sidebar"), "the conversation alone at phone width")
        a.js("document.getElementById('messages').lastElementChild?.scrollIntoView()")
        self.shot(a, "conversation-phone.png")
        a.click(".back-button")
        a.wait(lambda: a.visible("#conv-list") and not a.visible("#composer-input"), "the list alone at phone width")
        self.shot(a, "list-phone.png")
        a.click(f'.conv-item[data-conv="{self.conv}"] .conv-button')
        a.wait(lambda: a.visible("#composer-input"), "the conversation again")
        a.driver.set_window_size(1280, 800)

    # MARK: running

    def record(self, name, ok, detail=None):
        self.results.append((name, ok))
        print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)

    def run(self):
        steps = [
            ("the SDK's tests pass in the browser", self.sdk_tests),
            ("A and B register through the form", self.register),
            ("A's and B's connections are on different nodes", self.different_nodes),
            ("A starts a direct chat with B from user search", self.direct_chat_from_search),
            ("A's messages reach B across nodes; B's unread badge counts up", self.unread_badge_and_cross_node),
            ("B opens the chat: badge clears; A sees “Seen”", self.open_clears_badge_and_seen),
            ("typing shows on the other side, both ways; B's reply reaches A", self.typing_both_ways),
            ("a reload keeps the session and the history", self.reload_keeps_session_and_history),
            ("SIGKILL of B's node: reconnecting shown, back through the LB, nothing lost or doubled", self.kill_node),
            ("edit and delete show on both sides", self.edit_and_delete),
            ("a group: create, members, roles, remove", self.group_members_roles),
            ("history pages in on scroll-up", self.history_paging),
            ("a room: create, find, join, leave", self.rooms_join_leave),
            ("log out, a notification while away, log in", self.logout_notifications_login),
            ("profile: display name, bio, status", self.profile),
            ("phone width: list and conversation one at a time", self.phone_width),
            ("feed: B follows A from search; A's post (byte count, limit) reaches B's feed live", self.feed_follow_and_live_post),
            ("feed: like toggles the count", self.feed_like_toggles),
            ("feed: comments added, own one deleted, seen by the author", self.feed_comment),
            ("feed: “Load more” pages older posts", self.feed_load_more),
            ("feed: share a post to a chat, shown as a card, then as deleted", self.feed_share_to_chat),
        ]
        if os.environ.get("BROWSER_TEST_SKIP_SDK") == "1":  # quicker runs while working on the app
            steps = steps[1:]
        try:
            for index, (name, step) in enumerate(steps):
                started = time.monotonic()
                try:
                    step()
                except Skipped as reason:
                    print(f"SKIP {name}: {reason}", flush=True)
                    continue
                except Exception as error:  # noqa: BLE001 - report any failure and stop
                    self.record(f"{name} ({time.monotonic() - started:.1f} s)", False, f"{type(error).__name__}: {error}")
                    traceback.print_exc()
                    self.a.dump(f"step{index + 1}")
                    self.b.dump(f"step{index + 1}")
                    for skipped, _ in steps[index + 1:]:
                        self.record(f"{skipped} (not run)", False)
                    break
                self.record(f"{name} ({time.monotonic() - started:.1f} s)", True)
        finally:
            self.a.quit()
            self.b.quit()
        passed = sum(1 for _, ok in self.results if ok)
        failed = len(self.results) - passed
        print(f"{passed} passed, {failed} failed", flush=True)
        return failed == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lb", required=True, help="the load balancer's base URL")
    parser.add_argument("--cluster", required=True, help="the scripts/cluster folder")
    parser.add_argument("--images", required=True, help="where screenshots go")
    parser.add_argument("--failures", default=".build/browser-test-failures", help="where failure screenshots go")
    args = parser.parse_args()
    sys.exit(0 if Scenario(args).run() else 1)


if __name__ == "__main__":
    main()
