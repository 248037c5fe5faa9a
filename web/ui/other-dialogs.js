// Dialogs: the room directory (join, create), notifications, and the profile.
import { h, replace, openDialog, dialogShell, formatTime } from "./dom.js";

/** Public rooms: search by name, join (or open a joined one), create one. */
export function roomsDialog(store, onOpen) {
    const { dialog, body } = dialogShell("Rooms", "rooms-dialog");
    const query = h("input", { id: "room-search", type: "search", autocomplete: "off" });
    const list = h("ul", { class: "result-list", id: "room-list", "aria-label": "Public rooms" });
    const error = h("p", { class: "form-error", role: "alert" });
    let generation = 0;
    const load = async () => {
        const mine = ++generation;
        try {
            const rooms = await store.client.rooms({ query: query.value.trim(), limit: 50 });
            if (mine !== generation) return;
            replace(list, rooms.length === 0 ? h("li", { class: "hint" }, "No rooms found") : rooms.map((room) => {
                const joined = store.conversations.has(room.id);
                return h("li", { class: "room", dataset: { conv: room.id } },
                    h("span", { class: "room-name" }, `# ${room.name}`),
                    joined
                        ? h("button", { type: "button", class: "small", onclick: () => { dialog.close(); onOpen(room.id); } }, "Open")
                        : h("button", { type: "button", class: "small primary", "aria-label": `Join ${room.name}`, onclick: async () => {
                            try {
                                store.merge(await store.client.join(room.id));
                                store.changed("list");
                                dialog.close();
                                onOpen(room.id);
                            } catch (failure) {
                                error.textContent = failure.message;
                            }
                        } }, "Join"));
            }));
        } catch (failure) {
            error.textContent = failure.message;
        }
    };
    let timer;
    query.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 150); });
    const name = h("input", { id: "room-name", required: true, maxlength: 100 });
    const create = h("form", { class: "inline-form" },
        h("label", { for: "room-name" }, "New room"), name,
        h("button", { type: "submit", class: "primary small" }, "Create room"));
    create.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
            const room = await store.client.createRoom(name.value.trim());
            store.merge(room);
            store.changed("list");
            dialog.close();
            onOpen(room.id);
        } catch (failure) {
            error.textContent = failure.message;
        }
    });
    body.append(h("div", { class: "field" }, h("label", { for: "room-search" }, "Search rooms"), query), list, error, create);
    load();
    return openDialog(dialog);
}

/** Notifications (messages that arrived while offline, activity on own posts), newest first; clear all. */
export function notificationsDialog(store, onOpen) {
    const { dialog, body } = dialogShell("Notifications", "notifications-dialog");
    const list = h("ul", { class: "notification-list", id: "notification-list" });
    const error = h("p", { class: "form-error", role: "alert" });
    const render = () => {
        const items = store.notifications;
        replace(list, items.length === 0 ? h("li", { class: "hint" }, "Nothing new.") : items.map((n) => {
            if (n.type?.startsWith("post.")) {
                // Activity on the user's posts ("3 people liked your post"): opens the feed.
                return h("li", { class: "notification", dataset: { post: n.post } },
                    h("button", { type: "button", class: "result-button", onclick: () => { dialog.close(); location.hash = "#/feed"; } },
                        h("span", {}, n.text), h("time", { class: "hint" }, formatTime(n.ts))));
            }
            const conversation = store.conversations.get(n.conv);
            const where = conversation?.kind === "direct" ? "" : ` in ${conversation ? store.title(conversation) : "a conversation"}`;
            return h("li", { class: "notification" },
                h("button", { type: "button", class: "result-button", onclick: () => { dialog.close(); onOpen(n.conv); } },
                    h("span", {}, h("strong", {}, store.name(n.message.from)), `${where}: `, n.message.deleted ? "message deleted" : n.message.text || (n.message.kind === "post" ? "shared a post" : "")),
                    h("time", { class: "hint" }, formatTime(n.ts))));
        }));
    };
    const clear = h("button", { type: "button", class: "small", id: "clear-notifications", onclick: async () => {
        try {
            await store.client.clearNotifications();
            store.notifications = [];
            store.changed("notifications");
            render();
        } catch (failure) {
            error.textContent = failure.message;
        }
    } }, "Clear all");
    body.append(list, error, h("div", { class: "dialog-footer" }, clear));
    render();
    store.client.notifications().then((items) => {
        store.notifications = items;
        store.changed("notifications");
        render();
    }).catch((failure) => { error.textContent = failure.message; });
    return openDialog(dialog);
}

/** The own profile: display name, bio, status. */
export function profileDialog(store, onStatus) {
    const { dialog, body } = dialogShell("Profile", "profile-dialog");
    const user = store.client.user;
    const displayName = h("input", { id: "profile-display-name", maxlength: 64, value: user.displayName ?? "" });
    const bio = h("textarea", { id: "profile-bio", rows: 3, maxlength: 500, value: user.bio ?? "" });
    const status = h("select", { id: "profile-status" },
        ["online", "away", "busy"].map((s) => h("option", { value: s, selected: (store.myStatus ?? "online") === s }, s)));
    const message = h("p", { class: "form-note", role: "status" });
    const form = h("form", { class: "stack" },
        h("p", { class: "hint" }, `Signed in as @${user.username}`),
        h("div", { class: "field" }, h("label", { for: "profile-display-name" }, "Display name"), displayName),
        h("div", { class: "field" }, h("label", { for: "profile-bio" }, "Bio"), bio),
        h("div", { class: "field" }, h("label", { for: "profile-status" }, "Status"), status),
        message,
        h("button", { type: "submit", class: "primary", id: "save-profile" }, "Save"));
    form.addEventListener("submit", async (event) => {
        event.preventDefault();
        message.textContent = "";
        try {
            const updated = await store.client.updateProfile({ displayName: displayName.value.trim(), bio: bio.value.trim() });
            store.remember(updated);
            if (status.value !== (store.myStatus ?? "online")) {
                await store.client.setStatus(status.value);
                store.myStatus = status.value;
                onStatus(status.value);
            }
            message.textContent = "Saved.";
            store.changed("users", { user: updated.id });
        } catch (failure) {
            message.textContent = failure.message;
        }
    });
    body.append(form);
    return openDialog(dialog);
}
