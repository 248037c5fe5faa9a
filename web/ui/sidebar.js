// The conversation list: most recent activity first, with unread badges,
// the last message and, for direct chats, the other person's presence.
import { h, replace, formatTime, initials } from "./dom.js";

export class Sidebar {
    constructor(store, { onOpen }) {
        this.store = store;
        this.onOpen = onOpen;
        this.list = h("ul", { id: "conv-list", class: "conv-list", "aria-label": "Conversations" });
        this.empty = h("p", { class: "empty-hint", id: "conv-empty" }, "No conversations yet. Start one with “New chat”.");
        this.element = h("nav", { class: "sidebar", "aria-label": "Conversations" }, this.list, this.empty);
        store.addEventListener("change", (e) => {
            if (["list", "message", "unread", "presence", "users", "members", "removed", "edit", "typing"].includes(e.detail.kind)) {
                this.schedule();
            }
        });
    }

    /** Renders on the next frame (many events in a burst, one render). */
    schedule() {
        if (this.pending) return;
        this.pending = true;
        requestAnimationFrame(() => {
            this.pending = false;
            this.render();
        });
    }

    render() {
        const conversations = this.store.ordered();
        this.empty.hidden = conversations.length > 0;
        const focusedID = document.activeElement?.closest?.(".conv-item")?.dataset.conv;
        replace(this.list, conversations.map((c) => this.item(c)));
        if (focusedID) this.list.querySelector(`[data-conv="${CSS.escape(focusedID)}"] .conv-button`)?.focus();
    }

    item(conversation) {
        const store = this.store;
        const title = store.title(conversation);
        const unread = conversation.unread ?? 0;
        const other = store.other(conversation);
        const status = other ? store.presence.get(other)?.status ?? "offline" : null;
        const typing = store.typingIn(conversation.id);
        const last = conversation.lastMessage;
        let preview = "No messages yet";
        if (typing.length) {
            preview = `${typing.map((id) => store.name(id)).join(", ")} typing…`;
        } else if (last) {
            const who = last.from === store.me ? "You: " : conversation.kind === "direct" ? "" : `${store.name(last.from)}: `;
            preview = who + (last.deleted ? "Message deleted" : last.text || (last.kind === "post" ? "Shared a post" : ""));
        }
        const kindLabel = { direct: "Direct", group: "Group", room: "Room" }[conversation.kind] ?? "";
        const label = [title, kindLabel, status, unread ? `${unread} unread` : null, preview].filter(Boolean).join(", ");
        return h("li", { class: "conv-item", dataset: { conv: conversation.id, kind: conversation.kind } },
            h("button", {
                type: "button", class: "conv-button", "aria-label": label,
                "aria-current": store.openID === conversation.id ? "true" : null,
                onclick: () => this.onOpen(conversation.id),
            },
            h("span", { class: `avatar kind-${conversation.kind}`, "aria-hidden": "true" },
                conversation.kind === "room" ? "#" : initials(title),
                status ? h("span", { class: `presence-dot ${status}`, title: status, "data-status": status }) : null),
            h("span", { class: "conv-text" },
                h("span", { class: "conv-top" },
                    h("span", { class: "conv-name" }, title),
                    h("span", { class: "conv-time" }, formatTime(last?.ts ?? conversation.lastActivity ?? conversation.createdAt))),
                h("span", { class: "conv-bottom" },
                    h("span", { class: `conv-last${typing.length ? " typing" : ""}` }, preview),
                    unread > 0 ? h("span", { class: "badge", "aria-hidden": "true" }, unread > 99 ? "99+" : String(unread)) : null))));
    }
}
