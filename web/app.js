// The Switchboard web app: sign-in, then two tabs: Chats (the conversation
// list and the open conversation side by side, one at a time at phone
// width) and Feed (posts of the people one follows, profiles). Everything
// talks to the hub through the SDK at /sdk/switchboard.js.
import { SwitchboardClient } from "/sdk/switchboard.js";
import { h, replace } from "./ui/dom.js";
import { Store } from "./ui/store.js";
import { renderAuth } from "./ui/auth-view.js";
import { Sidebar } from "./ui/sidebar.js";
import { ConversationView } from "./ui/conversation-view.js";
import { FeedView } from "./ui/feed-view.js";
import { newChatDialog, newGroupDialog, membersDialog } from "./ui/people-dialogs.js";
import { roomsDialog, notificationsDialog, profileDialog } from "./ui/other-dialogs.js";

const root = document.getElementById("app");
/** What the page runs on, for the console (and the browser tests). */
window.app = {};

async function boot() {
    const client = new SwitchboardClient({ baseURL: location.origin });
    window.app.client = client;
    client.addEventListener("logout", () => {
        history.replaceState(null, "", location.pathname);  // the next person starts on the list
        boot();
    });
    let user = null;
    try {
        user = await client.restore();
    } catch (failure) {
        replace(root, h("main", { class: "auth-screen" }, h("div", { class: "auth-card" },
            h("h1", {}, "Switchboard"),
            h("p", { role: "alert" }, `The server cannot be reached (${failure.message}).`),
            h("button", { type: "button", class: "primary", onclick: () => boot() }, "Try again"))));
        return;
    }
    if (user) {
        showChat(client);
    } else {
        document.title = "Switchboard";
        renderAuth(root, client, () => showChat(client));
    }
}

function showChat(client) {
    const store = new Store(client);
    window.app.store = store;
    const open = (id) => { location.hash = id ? `#/c/${encodeURIComponent(id)}` : ""; };

    const sidebar = new Sidebar(store, { onOpen: open });
    const view = new ConversationView(store, client, {
        onBack: () => open(null),
        onMembers: (id) => membersDialog(store, id, () => open(null)),
    });
    const feed = new FeedView(store, client, { onOpenChat: open });
    window.app.feed = feed;

    const banner = h("div", { id: "connection-banner", class: "connection-banner", role: "status", "aria-live": "polite", hidden: true });
    const notificationBadge = h("span", { class: "badge", id: "notification-count", hidden: true });
    const statusDot = h("span", { class: "presence-dot online", id: "my-status-dot", "aria-hidden": "true" });
    const toolbar = h("div", { class: "toolbar", role: "toolbar", "aria-label": "Actions" },
        h("button", { type: "button", id: "new-chat", onclick: () => newChatDialog(store, open) }, "New chat"),
        h("button", { type: "button", id: "new-group", onclick: () => newGroupDialog(store, open) }, "New group"),
        h("button", { type: "button", id: "rooms-button", onclick: () => roomsDialog(store, open) }, "Rooms"),
        h("button", { type: "button", id: "notifications-button", "aria-label": "Notifications", onclick: () => notificationsDialog(store, open) },
            "Alerts", notificationBadge),
        h("button", { type: "button", id: "profile-button", onclick: () => profileDialog(store, (status) => { statusDot.className = `presence-dot ${status}`; }) },
            statusDot, h("span", { id: "me-name" }, client.user.displayName || client.user.username)),
        h("button", { type: "button", id: "logout-button", onclick: () => client.logout() }, "Log out"));

    const chatsTab = h("a", { href: "#", id: "tab-chats", class: "tab" }, "Chats");
    const feedTab = h("a", { href: "#/feed", id: "tab-feed", class: "tab" }, "Feed");
    const chatArea = h("div", { class: "main-area", id: "chat-area" }, sidebar.element, view.element);
    replace(root, h("div", { class: "app-shell" },
        h("header", { class: "topbar" }, h("h1", { class: "brand" }, "☎ Switchboard"),
            h("nav", { class: "tabs", "aria-label": "Sections" }, chatsTab, feedTab), toolbar),
        banner,
        chatArea, feed.element));

    const showState = (state) => {
        const texts = { connecting: "Connecting…", reconnecting: "Reconnecting…", closed: "Offline" };
        banner.hidden = state === "connected";
        banner.dataset.state = state;
        banner.textContent = texts[state] ?? "";
    };
    showState(client.state === "idle" ? "connecting" : client.state);
    client.addEventListener("state", (e) => showState(e.detail.state));

    let connectedBefore = false;
    client.addEventListener("connected", (e) => {
        if (connectedBefore) {
            // Unread counts and last messages may have moved while away.
            store.loadConversations().catch(() => {});
            if (view.id && !e.detail.complete) store.loadLatest(view.id).catch(() => {});
        }
        connectedBefore = true;
    });

    store.addEventListener("change", (e) => {
        const { kind } = e.detail;
        if (kind === "notifications") {
            const count = store.notifications.length;
            notificationBadge.hidden = count === 0;
            notificationBadge.textContent = String(count);
        }
        if (["list", "message", "unread", "removed"].includes(kind)) {
            const unread = [...store.conversations.values()].reduce((sum, c) => sum + (c.unread ?? 0), 0);
            document.title = unread ? `(${unread}) Switchboard` : "Switchboard";
        }
        if (kind === "users" && e.detail.user === client.user?.id) {
            document.getElementById("me-name").textContent = client.user.displayName || client.user.username;
        }
    });

    const route = () => {
        const feedMatch = /^#\/feed(?:\/u\/(.+))?$/.exec(location.hash);
        chatsTab.setAttribute("aria-current", feedMatch ? "false" : "page");
        feedTab.setAttribute("aria-current", feedMatch ? "page" : "false");
        chatArea.hidden = !!feedMatch;
        document.body.classList.toggle("feed-open", !!feedMatch);
        if (feedMatch) {
            feed.show(feedMatch[1] ? decodeURIComponent(feedMatch[1]) : null).catch(() => {});
            return;
        }
        feed.hide();
        chatsTab.setAttribute("href", location.hash || "#");  // the Chats tab comes back to the open conversation
        const match = /^#\/c\/(.+)$/.exec(location.hash);
        const id = match ? decodeURIComponent(match[1]) : null;
        store.openID = id;
        document.body.classList.toggle("conversation-open", !!id);
        sidebar.schedule();
        view.open(id).then(() => { if (id) view.focusComposer(); });
    };
    window.onhashchange = route;

    client.connect().catch(() => {});
    store.loadConversations().catch(() => {}).finally(route);
    client.notifications().then((items) => {
        store.notifications = items;
        store.changed("notifications");
    }).catch(() => {});
}

boot();
