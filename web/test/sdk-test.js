// Tests of the JavaScript SDK, run in a real browser against the hub that
// serves this page (scripts/browser-test opens /test/sdk-test.html?run and
// reads window.sdkTestResults). Each test registers throwaway users; clients
// keep their session in a MemoryStorage unless a test shares one to play a
// page reload. Sockets are real; a test "drops the network" by closing one.
import { SwitchboardClient, MemoryStorage } from "/sdk/switchboard.js";

const tests = [];
const test = (name, body) => tests.push({ name, body });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = () => Math.random().toString(36).slice(2, 10);

function check(condition, message) {
    if (!condition) throw new Error(message);
}

function equal(actual, expected, what) {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Waits for a condition (polling), failing after `timeout` ms. */
async function until(predicate, what, timeout = 10000) {
    const deadline = Date.now() + timeout;
    while (!(await predicate())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(25);
    }
}

/** A WebSocket class that remembers its sockets and can drop one right after a matching frame leaves. */
function trackedWebSocket() {
    const sockets = [];
    class TrackedWebSocket extends WebSocket {
        constructor(url, protocols) {
            super(url, protocols);
            this.dropAfter = null;
            sockets.push(this);
        }

        send(data) {
            super.send(data);
            if (this.dropAfter && String(data).includes(this.dropAfter)) {
                this.dropAfter = null;
                // The frame goes out before the close; its reply is then discarded by the browser.
                this.close();
            }
        }
    }
    TrackedWebSocket.sockets = sockets;
    return TrackedWebSocket;
}

function makeClient(storage = new MemoryStorage()) {
    const WebSocketClass = trackedWebSocket();
    const client = new SwitchboardClient({
        baseURL: location.origin, storage, WebSocket: WebSocketClass, initialBackoff: 50, maximumBackoff: 500,
    });
    client.sockets = WebSocketClass.sockets;
    client.events = [];
    for (const type of ["message", "message.edited", "message.deleted", "typing", "read", "presence", "conversation",
        "reset", "notification", "post", "connected", "disconnected", "logout", "reaction", "pin", "delivered"]) {
        client.addEventListener(type, (e) => client.events.push({ type, detail: e.detail }));
    }
    return client;
}

const eventsOf = (client, type) => client.events.filter((e) => e.type === type).map((e) => e.detail);
const textsIn = (client, conv) => eventsOf(client, "message").filter((m) => m.conv === conv).map((m) => m.text);

async function newUser(prefix, storage) {
    const client = makeClient(storage);
    await client.register(`${prefix}_${unique()}`, "sdk-test Hq7x passphrase");
    return client;
}

const open = [];
async function connected(...clients) {
    for (const client of clients) {
        open.push(client);
        await client.connect();
    }
    return clients;
}

// MARK: tests

test("register, log in, restore a session, refuse a wrong password", async () => {
    const storage = new MemoryStorage();
    const alice = await newUser("alice", storage);
    check(alice.user?.id, "register sets client.user");
    const again = makeClient(storage);
    equal((await again.restore())?.id, alice.user.id, "restore() from the stored refresh token");
    const login = makeClient();
    equal((await login.login(alice.user.username, "sdk-test Hq7x passphrase")).id, alice.user.id, "login");
    let code = null;
    try {
        await makeClient().login(alice.user.username, "wrong-password");
    } catch (error) {
        code = error.code;
    }
    equal(code, "unauthorized", "wrong password");
});

test("send, receive, history, unread counts, markRead", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const conv = await alice.createDirect(bob.user.id);
    equal((await bob.createDirect(alice.user.id)).id, conv.id, "the same direct conversation for the pair");
    const first = await alice.send(conv.id, "hello");
    const second = await alice.send(conv.id, "world");
    equal([first.seq, second.seq], [1, 2], "seqs");
    check(first.nonce, "sends carry a nonce");
    await until(() => textsIn(bob, conv.id).length === 2, "bob's two message events");
    equal(textsIn(bob, conv.id), ["hello", "world"], "bob's events, in order");
    equal(textsIn(alice, conv.id), [], "the sending connection gets replies, not events");
    const history = await bob.history(conv.id, { limit: 10 });
    equal(history.map((m) => m.text), ["hello", "world"], "history, oldest first");
    equal(history.more, false, "history.more");
    const older = await bob.history(conv.id, { before: second.id, limit: 10 });
    equal(older.map((m) => m.seq), [1], "history before a message");
    const listed = (await bob.conversations()).find((c) => c.id === conv.id);
    equal([listed.unread, listed.lastMessage?.text], [2, "world"], "bob's unread count and last message");
    equal(await bob.markRead(conv.id, second.seq), 0, "markRead answers the unread count");
    await until(() => eventsOf(alice, "read").some((r) => r.user === bob.user.id && r.seq === 2), "alice's read event");
    const members = (await alice.conversation(conv.id)).members;
    equal(members.find((m) => m.id === bob.user.id)?.read, 2, "members carry their read pointer");
});

test("reconnects after the network drops and keeps receiving", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const conv = await alice.createDirect(bob.user.id);
    bob.sockets.at(-1).close();
    await until(() => eventsOf(bob, "disconnected").length === 1, "bob's disconnected event");
    await until(() => eventsOf(bob, "connected").length === 2, "bob's second connected event");
    equal(bob.state, "connected", "state after reconnect");
    check(bob.sockets.length === 2, "a new socket");
    await alice.send(conv.id, "after the drop");
    await until(() => textsIn(bob, conv.id).length === 1, "the message after the reconnect");
});

test("resume after a reload: nothing missed, nothing twice", async () => {
    const storage = new MemoryStorage();
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob", storage));
    const conv = await alice.createDirect(bob.user.id);
    for (const text of ["m1", "m2", "m3"]) await alice.send(conv.id, text);
    await until(() => textsIn(bob, conv.id).length === 3, "bob's first three");
    equal(bob.positions[conv.id], 3, "bob's position");
    bob.close();
    for (const text of ["m4", "m5", "m6"]) await alice.send(conv.id, text);
    // A reloaded page: a new client over the same storage.
    const reloaded = makeClient(storage);
    equal((await reloaded.restore())?.id, bob.user.id, "session restored");
    equal(reloaded.positions[conv.id], 3, "positions survive the reload");
    await connected(reloaded);
    equal(eventsOf(reloaded, "connected")[0].recovered[conv.id], 3, "resume recovered three");
    equal(eventsOf(reloaded, "connected")[0].complete, true, "resume complete");
    await alice.send(conv.id, "m7");
    await until(() => textsIn(reloaded, conv.id).length >= 4, "m7 live");
    await sleep(200);
    equal(textsIn(reloaded, conv.id), ["m4", "m5", "m6", "m7"], "missed ones replayed once, then live");
});

test("a burst across a dropped socket arrives once each, in seq order", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const conv = await alice.createDirect(bob.user.id);
    await bob.history(conv.id);  // as an app does when it shows the conversation: bob now holds it
    const sends = [];
    for (let i = 1; i <= 30; i += 1) {
        sends.push(alice.send(conv.id, `burst ${i}`));
        if (i === 10) bob.sockets.at(-1).close();
    }
    await Promise.all(sends);
    await until(() => textsIn(bob, conv.id).length >= 30, "thirty messages at bob");
    await sleep(300);
    const seqs = eventsOf(bob, "message").filter((m) => m.conv === conv.id).map((m) => m.seq);
    equal(seqs.length, 30, "no duplicates");
    equal([...seqs].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1), "every seq once");
    check(eventsOf(bob, "connected").length === 2, "bob reconnected once");
});

test("nonce retry: a send whose reply is lost is retried and stored once", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const conv = await alice.createDirect(bob.user.id);
    alice.sockets.at(-1).dropAfter = '"op":"send"';
    const message = await alice.send(conv.id, "retry me");
    check(eventsOf(alice, "disconnected").length === 1, "the first attempt's connection was dropped");
    check(alice.sockets.length === 2, "sent again on a new connection");
    const history = await alice.history(conv.id);
    equal(history.filter((m) => m.text === "retry me").length, 1, "stored once");
    equal(history.find((m) => m.text === "retry me").nonce, message.nonce, "with the send's nonce");
    await until(() => textsIn(bob, conv.id).length === 1, "bob's event");
    await sleep(200);
    equal(textsIn(bob, conv.id), ["retry me"], "delivered once");
    // The same nonce again answers the first message.
    const again = await alice.send(conv.id, "retry me", { nonce: message.nonce });
    equal([again.id, again.seq], [message.id, message.seq], "an explicit repeat of the nonce");
    equal((await alice.history(conv.id)).length, 1, "still one message");
});

test("a send while disconnected waits for the reconnect", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const conv = await alice.createDirect(bob.user.id);
    alice.sockets.at(-1).close();
    await until(() => !alice.connected, "alice disconnected");
    const message = await alice.send(conv.id, "sent while away");
    equal(message.seq, 1, "stored");
    await until(() => textsIn(bob, conv.id).length === 1, "bob's event");
});

test("edit and delete reach the other side", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const conv = await alice.createDirect(bob.user.id);
    const message = await alice.send(conv.id, "tpyo");
    const edited = await alice.editMessage(conv.id, message.id, "typo");
    equal(edited.text, "typo", "edited text");
    check(edited.editedAt, "editedAt");
    await until(() => eventsOf(bob, "message.edited").length === 1, "bob's message.edited");
    equal(eventsOf(bob, "message.edited")[0].text, "typo", "edited event text");
    const deleted = await alice.deleteMessage(conv.id, message.id);
    equal([deleted.deleted, deleted.text], [true, ""], "deleted message");
    await until(() => eventsOf(bob, "message.deleted").length === 1, "bob's message.deleted");
    equal((await bob.history(conv.id))[0].deleted, true, "history shows it deleted");
});

test("reactions, pins, delivery receipts, mutes", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const conv = await alice.createDirect(bob.user.id);
    const message = await alice.send(conv.id, "react to this");
    equal(await bob.react(conv.id, message.id, "👍"), 1, "react answers the count");
    equal(await bob.react(conv.id, message.id, "👍"), 1, "one reaction per user and emoji");
    await until(() => eventsOf(alice, "reaction").length >= 1, "alice's reaction event");
    equal(eventsOf(alice, "reaction")[0], { conv: conv.id, id: message.id, emoji: "👍", user: bob.user.id, on: true, count: 1 }, "reaction event");
    equal((await alice.reactors(conv.id, message.id, "👍")).users, [bob.user.id], "reactors");
    equal((await alice.history(conv.id))[0].reactions, { "👍": 1 }, "history carries the counts");
    let code = null;
    try { await bob.react(conv.id, message.id, "not an emoji"); } catch (error) { code = error.code; }
    equal(code, "invalid_request", "text is not an emoji");
    equal(await bob.react(conv.id, message.id, "👍", false), 0, "unreact");
    await bob.pin(conv.id, message.id);
    await until(() => eventsOf(alice, "pin").some((p) => p.on && p.by === bob.user.id), "alice's pin event");
    equal((await alice.pins(conv.id)).map((p) => p.id), [message.id], "pins");
    await bob.unpin(conv.id, message.id);
    equal(await alice.pins(conv.id), [], "unpinned");
    // Bob's client reported the message delivered by itself.
    await until(() => eventsOf(alice, "delivered").some((d) => d.user === bob.user.id && d.seq === message.seq), "alice's delivered event");
    equal((await alice.receipts(conv.id, message.id)).delivered, [bob.user.id], "receipts");
    const muted = await bob.mute(conv.id, Date.now() + 60000);
    check(muted.mutedUntil > Date.now(), "mutedUntil on the conversation");
    await bob.unmute(conv.id);
    equal((await bob.conversation(conv.id)).mutedUntil, undefined, "unmuted");
});

test("typing, presence watch, status", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const conv = await alice.createDirect(bob.user.id);
    await bob.history(conv.id);
    await alice.typing(conv.id, true);
    await until(() => eventsOf(bob, "typing").some((t) => t.user === alice.user.id && t.active), "bob sees alice typing");
    const states = await alice.watchPresence([bob.user.id]);
    equal(states[bob.user.id]?.status, "online", "bob online");
    await bob.setStatus("busy");
    await until(() => eventsOf(alice, "presence").some((p) => p.user === bob.user.id && p.status === "busy"), "busy event");
    bob.close();
    await until(() => eventsOf(alice, "presence").some((p) => p.user === bob.user.id && p.status === "offline"), "offline event");
    const { presence } = await alice.getUser(bob.user.id);
    equal(presence.status, "offline", "getUser presence");
});

test("groups: roles, members, conversation events", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const carol = await newUser("carol");
    const group = await alice.createGroup("Project", [bob.user.id]);
    await until(() => eventsOf(bob, "conversation").some((c) => c.conversation.id === group.id && c.change === "added"), "bob added");
    const promoted = await alice.setRole(group.id, bob.user.id, "admin");
    equal(promoted.members.find((m) => m.id === bob.user.id)?.role, "admin", "bob is admin");
    await bob.addMembers(group.id, [carol.user.id]);
    equal((await carol.conversations()).some((c) => c.id === group.id), true, "carol added by an admin");
    await bob.removeMember(group.id, carol.user.id);
    equal((await carol.conversations()).some((c) => c.id === group.id), false, "carol removed");
    await bob.leave(group.id);
    await until(() => eventsOf(bob, "conversation").some((c) => c.conversation.id === group.id && c.change === "removed"), "bob's removed event");
    const members = (await alice.conversation(group.id)).members.map((m) => m.id);
    equal(members, [alice.user.id], "only alice is left");
});

test("member changes come as deltas; the SDK keeps the list", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const carol = await newUser("carol");
    const group = await alice.createGroup("Deltas", [bob.user.id]);
    await until(() => eventsOf(bob, "conversation").some((c) => c.conversation.id === group.id && c.change === "added"), "bob added");
    equal(bob.members(group.id).map((m) => m.id).sort(), [alice.user.id, bob.user.id].sort(), "bob's list from the added event");
    await alice.addMembers(group.id, [carol.user.id]);
    const update = await (async () => {
        await until(() => eventsOf(bob, "conversation").some((c) => c.members?.added?.length), "bob's delta");
        return eventsOf(bob, "conversation").find((c) => c.members?.added?.length);
    })();
    equal(update.members.added.map((m) => ({ id: m.id, role: m.role })), [{ id: carol.user.id, role: "member" }], "the delta names carol only");
    equal(update.conversation.members.map((m) => m.id).sort(), [alice.user.id, bob.user.id, carol.user.id].sort(), "the event's list, delta applied");
    await alice.setRole(group.id, carol.user.id, "admin");
    await until(() => bob.members(group.id).find((m) => m.id === carol.user.id)?.role === "admin", "carol admin in bob's list");
    await carol.leave(group.id);
    await until(() => !bob.members(group.id).some((m) => m.id === carol.user.id), "carol gone from bob's list");
    equal(bob.members(group.id).map((m) => m.id).sort(), (await bob.conversation(group.id)).members.map((m) => m.id).sort(), "the same as the hub's");
});

test("a conversation deleted and opened again is reset and starts over", async () => {
    const storage = new MemoryStorage();
    const [alice] = await connected(await newUser("alice"));
    const bob = await newUser("bob", storage);
    const conv = await alice.createDirect(bob.user.id);
    check(conv.epoch, "a conversation has an epoch");
    for (const text of ["old 1", "old 2", "old 3"]) await alice.send(conv.id, text);
    // Bob's client held all three (of the old epoch).
    await bob.conversations();
    equal(bob.positions[conv.id], 3, "bob's position");
    equal(bob.epochs[conv.id], conv.epoch, "bob's epoch");
    // Both leave (the last leave deletes it); Alice opens it again and writes.
    await bob.leave(conv.id);
    bob.setPosition(conv.id, 3, conv.epoch); // (what a client away meanwhile still holds)
    await alice.leave(conv.id);
    const again = await alice.createDirect(bob.user.id);
    equal(again.id, conv.id, "the same id");
    check(again.epoch && again.epoch !== conv.epoch, "a new epoch");
    await alice.send(conv.id, "new 1");
    await alice.send(conv.id, "new 2");
    await connected(bob);
    await until(() => textsIn(bob, conv.id).length === 2, "the new messages");
    equal(textsIn(bob, conv.id), ["new 1", "new 2"], "replayed from the new start");
    equal(eventsOf(bob, "reset").map((r) => r.conv), [conv.id], "one reset event");
    equal([bob.positions[conv.id], bob.epochs[conv.id]], [2, again.epoch], "position and epoch of the new epoch");
});

test("rooms: create, find, join, leave", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    const name = `Lobby ${unique()}`;
    const room = await alice.createRoom(name);
    const found = await bob.rooms({ query: name.slice(0, 9) });
    check(found.some((r) => r.id === room.id), "room directory finds it");
    await bob.join(room.id);
    const sent = await bob.send(room.id, "hi room");
    equal(sent.seq, 1, "a member may send");
    await bob.leave(room.id);
    equal((await bob.conversations()).some((c) => c.id === room.id), false, "left");
});

test("notifications for an offline member, pushed on connect, cleared", async () => {
    const [alice] = await connected(await newUser("alice"));
    const carol = await newUser("carol");
    const group = await alice.createGroup("Notify", [carol.user.id]);
    await alice.send(group.id, "while you were out");
    await until(async () => (await carol.notifications()).length === 1, "carol's notification");
    const [notification] = await carol.notifications();
    equal([notification.conv, notification.message.text], [group.id, "while you were out"], "notification");
    await connected(carol);
    await until(() => eventsOf(carol, "notification").length >= 1, "notification event on connect");
    await carol.clearNotifications();
    equal((await carol.notifications()).length, 0, "cleared");
});

test("profile, user search, token refresh, logout", async () => {
    const storage = new MemoryStorage();
    const [alice] = await connected(await newUser("alice", storage));
    const user = await alice.updateProfile({ displayName: "Alice A.", bio: "Hello there" });
    equal([user.displayName, user.bio], ["Alice A.", "Hello there"], "profile");
    equal((await alice.me()).displayName, "Alice A.", "me()");
    const found = await alice.searchUsers(alice.user.username.toUpperCase());
    equal(found.map((u) => u.id), [alice.user.id], "search is a case-insensitive prefix");
    const oldRefresh = storage.getItem("switchboard:refresh");
    await alice.refresh();
    check(storage.getItem("switchboard:refresh") !== oldRefresh, "the refresh token rotates");
    await alice.setStatus("online");
    check(alice.connected, "the connection survives the renewal");
    await alice.logout();
    check(eventsOf(alice, "logout").length === 1, "logout event");
    equal(alice.user, null, "client.user cleared");
    equal(storage.getItem("switchboard:refresh"), null, "refresh token forgotten");
    const restored = makeClient(storage);
    equal(await restored.restore(), null, "nothing to restore");
});

test("posts: follow, a live post event, feed paging, likes, comments, delete", async () => {
    const [alice, bob] = await connected(await newUser("alice"), await newUser("bob"));
    await bob.follow(alice.user.id);
    equal((await alice.followers(alice.user.id)).users.map((u) => u.id), [bob.user.id], "followers");
    equal((await bob.following(bob.user.id)).users.map((u) => u.id), [alice.user.id], "following");
    const posts = [];
    for (let i = 0; i < 3; i += 1) {
        posts.push(await alice.createPost(`post ${i}`));
        await sleep(3);  // a distinct createdAt each: a definite order
    }
    equal(posts[0].author, alice.user.id, "the post's author");
    await until(() => eventsOf(bob, "post").length === 3, "bob's three post events");
    equal(eventsOf(bob, "post").map((p) => p.text), ["post 0", "post 1", "post 2"], "post events, in order");
    equal(eventsOf(alice, "post"), [], "the author gets no post event");
    const first = await bob.feed({ limit: 2 });
    equal(first.posts.map((p) => p.text), ["post 2", "post 1"], "the feed's first page, newest first");
    const second = await bob.feed({ before: first.next, limit: 2 });
    equal([second.posts.map((p) => p.text), second.next], [["post 0"], null], "the next page, and the end");
    equal([await bob.like(posts[0].id), await bob.like(posts[0].id), await alice.like(posts[0].id)], [1, 1, 2], "likes: once per user");
    equal(await bob.unlike(posts[0].id), 1, "unlike");
    const comment = await bob.comment(posts[0].id, "nice");
    equal((await alice.comments(posts[0].id)).comments.map((c) => c.text), ["nice"], "comments");
    await alice.deleteComment(posts[0].id, comment.id);  // the post's author may
    equal((await bob.comments(posts[0].id)).comments, [], "comment deleted");
    equal((await alice.updatePost(posts[0].id, "edited")).text, "edited", "edit");
    await alice.deletePost(posts[0].id);
    let code = null;
    try { await bob.post(posts[0].id); } catch (error) { code = error.code; }
    equal(code, "not_found", "a deleted post");
    equal((await bob.feed()).posts.map((p) => p.text), ["post 2", "post 1"], "the feed without it");
});

// MARK: runner

async function run() {
    const summary = document.getElementById("summary");
    const list = document.getElementById("results");
    const results = [];
    summary.textContent = "Running…";
    for (const { name, body } of tests) {
        const started = performance.now();
        let error = null;
        try {
            await Promise.race([body(), sleep(30000).then(() => { throw new Error("test timed out after 30 s"); })]);
        } catch (failure) {
            error = failure?.message ?? String(failure);
        }
        for (const client of open.splice(0)) client.close();
        const ms = Math.round(performance.now() - started);
        results.push({ name, ok: !error, error, ms });
        const item = document.createElement("li");
        item.className = error ? "fail" : "pass";
        item.textContent = error ? `${name} (${ms} ms): ${error}` : `${name} (${ms} ms)`;
        list.append(item);
    }
    const passed = results.filter((r) => r.ok).length;
    const failed = results.length - passed;
    summary.textContent = `${passed} passed, ${failed} failed`;
    window.sdkTestResults = { passed, failed, results };
    document.body.dataset.done = "true";
}

if (new URLSearchParams(location.search).has("run")) run();
