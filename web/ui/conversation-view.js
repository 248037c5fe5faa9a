// The open conversation: history paged on scroll-up, live messages, the
// composer (with typing notices), "seen" from the others' read pointers.
import { h, replace, announce } from "./dom.js";
import { messageItem, updateItem } from "./message-item.js";

const TYPING_REPEAT_MS = 2000;
const TYPING_IDLE_MS = 4000;

export class ConversationView {
    constructor(store, client, { onBack, onMembers }) {
        this.store = store;
        this.client = client;
        this.id = null;
        this.pending = [];
        this.actions = {
            edit: async (message, text) => {
                const edited = await client.editMessage(message.conv, message.id, text);
                store.add(edited);
                return edited;
            },
            remove: async (message) => {
                const deleted = await client.deleteMessage(message.conv, message.id);
                store.add(deleted);
                return deleted;
            },
            reply: (message) => this.startReply(message),
            download: (fileID) => client.download(fileID),
            // Toggles the user's reaction: off when known to be on; an "on" that changed nothing was on already.
            react: async (message, emoji) => {
                const key = `${message.id} ${emoji}`;
                const before = message.reactions?.[emoji] ?? 0;
                let count;
                if (store.myReactions.has(key)) {
                    count = await client.react(message.conv, message.id, emoji, false);
                    store.myReactions.delete(key);
                } else {
                    count = await client.react(message.conv, message.id, emoji, true);
                    store.myReactions.add(key);
                    if (count === before && before > 0) {
                        count = await client.react(message.conv, message.id, emoji, false);
                        store.myReactions.delete(key);
                    }
                }
                store.setReaction(message.conv, message.id, emoji, count);
            },
            pin: async (message) => {
                if (message.pinned) await client.unpin(message.conv, message.id); else await client.pin(message.conv, message.id);
                store.setPinned(message.conv, message.id, !message.pinned);
            },
        };
        this.replyingTo = null;
        this.files = [];

        this.title = h("h2", { id: "conv-title", class: "conv-title" });
        this.subtitle = h("p", { id: "conv-subtitle", class: "conv-subtitle" });
        this.membersButton = h("button", { type: "button", id: "members-button", class: "small", onclick: () => onMembers(this.id) }, "Members");
        this.pinsButton = h("button", { type: "button", id: "pins-button", class: "small", "aria-expanded": "false", onclick: () => this.togglePins() }, "Pins");
        this.muteButton = h("button", { type: "button", id: "mute-button", class: "small", onclick: () => this.toggleMute() }, "Mute");
        this.pinsPanel = h("div", { id: "pins-panel", class: "pins-panel", hidden: true, "aria-label": "Pinned messages" });
        this.header = h("header", { class: "conv-header" },
            h("button", { type: "button", class: "icon-button back-button", "aria-label": "Back to conversations", onclick: onBack }, "‹"),
            h("div", { class: "conv-heading" }, this.title, this.subtitle),
            this.pinsButton, this.muteButton, this.membersButton);
        this.olderButton = h("button", { type: "button", id: "load-older", class: "small load-older", onclick: () => this.loadOlder() }, "Load older messages");
        this.list = h("ol", { id: "messages", class: "messages", "aria-label": "Messages" });
        this.scroller = h("div", { class: "messages-scroll", tabindex: "0", "aria-label": "Message history" },
            h("div", { class: "older-bar" }, this.olderButton), this.list);
        this.typingLine = h("p", { id: "typing", class: "typing-line", "aria-live": "polite" });
        this.input = h("textarea", { id: "composer-input", rows: 1, maxlength: 4096, placeholder: "Write a message…", autocomplete: "off" });
        this.fileInput = h("input", { type: "file", id: "attach-input", multiple: true, class: "visually-hidden", onchange: () => this.attachChosen() });
        this.composeInfo = h("div", { id: "compose-info", class: "compose-info", hidden: true });
        this.composer = h("form", { id: "composer", class: "composer" },
            this.composeInfo,
            h("label", { for: "composer-input", class: "visually-hidden" }, "Message"),
            h("label", { for: "attach-input", class: "icon-button attach-button", title: "Attach files", "aria-label": "Attach files" }, "Attach"),
            this.fileInput,
            this.input,
            h("button", { type: "submit", class: "primary", id: "send-button" }, "Send"));
        this.placeholder = h("div", { class: "no-conversation" }, h("p", {}, "Pick a conversation, or start a new one."));
        this.body = h("div", { class: "conv-body", hidden: true }, this.header, this.pinsPanel, this.scroller, this.typingLine, this.composer);
        this.element = h("section", { id: "conversation", class: "conversation", "aria-labelledby": "conv-title" }, this.placeholder, this.body);

        this.composer.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
        this.input.addEventListener("keydown", (event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.send(); }
        });
        this.input.addEventListener("input", () => this.typed());
        this.input.addEventListener("blur", () => this.stopTyping());
        this.observer = new IntersectionObserver((entries) => {
            if (entries.some((e) => e.isIntersecting)) this.loadOlder();
        }, { root: this.scroller, rootMargin: "200px 0px 0px 0px" });
        this.observer.observe(this.olderButton);
        // Follow new messages while the reader is at the bottom; stay put while they read older ones.
        this.stick = true;
        this.scroller.addEventListener("scroll", () => { this.stick = this.nearBottom(); }, { passive: true });
        document.addEventListener("visibilitychange", () => this.markRead());

        store.addEventListener("change", (e) => this.changed(e.detail));
    }

    /** Opens a conversation (null shows the placeholder). */
    async open(id) {
        if (this.id && this.id !== id) this.stopTyping();
        this.id = id;
        this.pending = [];
        this.lastMarked = 0;
        this.placeholder.hidden = !!id;
        this.pinsPanel.hidden = true;
        this.pinsButton.setAttribute("aria-expanded", "false");
        this.body.hidden = !id;
        replace(this.list);
        this.typingLine.textContent = "";
        if (!id) return;
        this.input.value = this.drafts?.get(id) ?? "";
        this.renderHeader();
        const thread = this.store.thread(id);
        this.render();
        this.scrollToBottom();
        try {
            if (!this.store.conversations.get(id)?.members) await this.store.loadMembers(id);
            await this.store.loadLatest(id);
        } catch (failure) {
            if (this.id === id) this.subtitle.textContent = `Could not load: ${failure.message}`;
            return;
        }
        if (this.id !== id) return;
        this.render();
        this.scrollToBottom();
        this.markRead();
        if (!thread.more) this.olderButton.hidden = true;
    }

    focusComposer() { this.input.focus(); }

    renderHeader() {
        const store = this.store;
        const conversation = store.conversations.get(this.id);
        this.title.textContent = store.title(conversation) || "Conversation";
        const other = store.other(conversation);
        if (other) {
            const status = store.presence.get(other)?.status ?? "offline";
            replace(this.subtitle, h("span", { class: `presence-dot ${status}`, "aria-hidden": "true" }), ` ${status}`);
        } else if (conversation?.members) {
            const kind = conversation.kind === "room" ? "Room" : "Group";
            this.subtitle.textContent = `${kind} · ${conversation.members.length} member${conversation.members.length === 1 ? "" : "s"}`;
        } else {
            this.subtitle.textContent = "";
        }
        this.membersButton.hidden = conversation?.kind === "direct";
        const muted = (conversation?.mutedUntil ?? 0) > Date.now();
        this.muteButton.textContent = muted ? "Unmute" : "Mute";
        this.muteButton.setAttribute("aria-pressed", String(muted));
    }

    /** Mutes (for good) or unmutes the open conversation's notifications; mentions still notify. */
    async toggleMute() {
        const id = this.id;
        const conversation = this.store.conversations.get(id);
        if (!conversation) return;
        try {
            if ((conversation.mutedUntil ?? 0) > Date.now()) {
                await this.client.unmute(id);
                delete conversation.mutedUntil;
            } else {
                conversation.mutedUntil = (await this.client.mute(id)).mutedUntil;
            }
        } catch (failure) {
            this.subtitle.textContent = failure.message;
        }
        if (this.id === id) this.renderHeader();
    }

    /** Shows or hides the list of pinned messages (loaded fresh each time it opens). */
    async togglePins() {
        const open = this.pinsPanel.hidden;
        this.pinsPanel.hidden = !open;
        this.pinsButton.setAttribute("aria-expanded", String(open));
        if (open) await this.renderPins();
    }

    async renderPins() {
        const id = this.id;
        try {
            const pins = await this.client.pins(id);
            if (this.id !== id) return;
            replace(this.pinsPanel, pins.length === 0
                ? h("p", { class: "pins-empty" }, "No pinned messages.")
                : h("ul", { class: "pins-list" }, ...pins.map((pin) => h("li", { class: "pin-item", dataset: { id: pin.id } },
                    h("span", { class: "msg-author" }, this.store.name(pin.message?.from ?? "")), " ",
                    pin.message?.deleted ? h("em", {}, "Message deleted") : (pin.message?.text ?? "(no longer in history)")))));
        } catch (failure) {
            replace(this.pinsPanel, h("p", { class: "form-error" }, failure.message));
        }
    }

    changed({ kind, conv, message }) {
        if (kind === "removed" && conv === this.id) { location.hash = ""; return; }
        if (!this.id) return;
        if (["members", "presence", "users", "list"].includes(kind)) this.renderHeader();
        if (kind === "users") this.refreshAuthors();
        if (conv !== this.id) return;
        if (kind === "messages" || kind === "message" || kind === "edit") {
            const follow = this.stick || (kind === "message" && message?.from === this.store.me);
            this.render();
            if (follow) this.scrollToBottom();
            if (kind === "message" && message.from !== this.store.me) {
                announce(`${this.store.name(message.from)}: ${message.deleted ? "message deleted" : message.text}`);
            }
            this.markRead();
        } else if (kind === "older") {
            const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
            this.render();
            this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
        } else if (kind === "read") {
            const follow = this.stick;
            this.renderSeen();
            if (follow) this.scrollToBottom();
        } else if (kind === "typing") {
            const names = this.store.typingIn(this.id).map((id) => this.store.name(id));
            this.typingLine.textContent = names.length === 0 ? ""
                : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
        } else if (kind === "unread") {
            this.markRead();
        } else if (kind === "pins" && !this.pinsPanel.hidden) {
            this.renderPins();
        }
    }

    /** Puts the loaded messages in seq order, reusing existing items (focus and edit forms survive). */
    render() {
        const store = this.store;
        const existing = new Map([...this.list.children].filter((li) => li.dataset.seq).map((li) => [Number(li.dataset.seq), li]));
        let cursor = this.list.firstElementChild;
        let previous = null;
        for (const message of store.messages(this.id)) {
            let li = existing.get(message.seq);
            existing.delete(message.seq);
            if (!li) {
                li = messageItem(message, store, this.actions);
            } else if (li.message !== message) {
                updateItem(li, message, store, this.actions);
            }
            if (li === cursor) cursor = cursor.nextElementSibling;
            else this.list.insertBefore(li, cursor);
            li.classList.toggle("continued", !!previous && previous.from === message.from && message.ts - previous.ts < 5 * 60000);
            previous = message;
        }
        for (const li of existing.values()) li.remove();
        for (const item of this.pending) this.list.append(item.li);
        const thread = store.thread(this.id);
        this.olderButton.hidden = !(thread.loaded && thread.more);
        this.renderSeen();
    }

    /** "Seen" (direct) or "Seen by …" (groups) under the newest own message the others have read. */
    renderSeen() {
        for (const old of this.list.querySelectorAll(".msg-seen")) old.remove();
        const store = this.store;
        const reads = store.readBy(this.id);
        if (reads.size === 0) return;
        const own = [...this.list.querySelectorAll("li.msg.own[data-seq]")];
        const newest = own[own.length - 1];
        if (!newest) return;
        const conversation = store.conversations.get(this.id);
        for (const li of own.reverse()) {
            const seq = Number(li.dataset.seq);
            const readers = [...reads].filter(([, read]) => read >= seq).map(([user]) => user);
            if (readers.length === 0) continue;
            const text = conversation?.kind === "direct" ? "Seen" : `Seen by ${readers.map((id) => store.name(id)).join(", ")}`;
            li.append(h("p", { class: "msg-seen" }, text));
            return;
        }
    }

    refreshAuthors() {
        for (const li of this.list.querySelectorAll("li.msg[data-from]")) {
            const author = li.querySelector(".msg-author");
            if (author && li.dataset.from !== this.store.me) author.textContent = this.store.name(li.dataset.from);
        }
    }

    async loadOlder() {
        if (!this.id || this.loadingOlder) return;
        const thread = this.store.thread(this.id);
        if (!thread.loaded || !thread.more) return;
        this.loadingOlder = true;
        this.olderButton.textContent = "Loading…";
        try {
            await this.store.loadOlder(this.id);
        } finally {
            this.loadingOlder = false;
            this.olderButton.textContent = "Load older messages";
        }
    }

    nearBottom() {
        return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
    }

    scrollToBottom() {
        this.scroller.scrollTop = this.scroller.scrollHeight;
        this.stick = true;
    }

    /** Moves the read pointer to the newest message while the conversation is on screen. */
    markRead() {
        const id = this.id;
        const conversation = this.store.conversations.get(id);
        if (!id || !conversation || document.visibilityState !== "visible") return;
        const messages = this.store.messages(id);
        const newest = Math.max(conversation.seq ?? 0, ...messages.map((m) => m.seq));
        // The hub moved our pointer with our own send: nothing to mark.
        if (!conversation.unread && messages.at(-1)?.seq === newest && messages.at(-1).from === this.store.me) this.lastMarked = newest;
        if (newest <= this.lastMarked && !conversation.unread) return;
        if (newest <= this.lastMarked) { this.store.setUnread(id, 0); return; }
        this.lastMarked = newest;
        clearTimeout(this.readTimer);
        this.readTimer = setTimeout(() => {
            this.client.markRead(id, newest).then((unread) => this.store.setUnread(id, unread)).catch(() => {
                // The hub was unreachable (a node going down): try again shortly.
                this.lastMarked = 0;
                setTimeout(() => { if (this.id === id) this.markRead(); }, 2000);
            });
        }, 150);
    }

    // MARK: composing

    /** Shows "Replying to …" above the composer; the next send answers `message`. */
    startReply(message) {
        this.replyingTo = message;
        this.showComposeInfo();
        this.input.focus();
    }

    /** Uploads the chosen files; the next send carries them. */
    async attachChosen() {
        const chosen = [...this.fileInput.files].slice(0, 10 - this.files.length);
        this.fileInput.value = "";
        for (const file of chosen) {
            try {
                this.files.push(await this.client.upload(file));
            } catch (failure) {
                this.composeInfo.hidden = false;
                this.composeInfo.textContent = `${file.name}: ${failure.message}`;
                return;
            }
        }
        this.showComposeInfo();
    }

    showComposeInfo() {
        const parts = [];
        if (this.replyingTo) parts.push(`Replying to ${this.store.name(this.replyingTo.from)}: ${this.replyingTo.text.slice(0, 60)}`);
        if (this.files.length) parts.push(`Attached: ${this.files.map((f) => f.name).join(", ")}`);
        this.composeInfo.hidden = parts.length === 0;
        replace(this.composeInfo, parts.join(" · "), parts.length
            ? h("button", { type: "button", class: "link-button", onclick: () => this.clearCompose() }, " Cancel")
            : null);
    }

    clearCompose() {
        this.replyingTo = null;
        this.files = [];
        this.showComposeInfo();
    }

    async send() {
        const text = this.input.value.trim();
        const id = this.id;
        const options = { attachments: this.files.map((f) => f.id), replyTo: this.replyingTo?.conv === id ? this.replyingTo.id : undefined };
        if ((!text && !options.attachments.length) || !id) return;
        this.clearCompose();
        this.input.value = "";
        this.drafts?.delete(id);
        this.stopTyping();
        const li = h("li", { class: "msg own pending" },
            h("div", { class: "msg-meta" }, h("span", { class: "msg-author" }, "You"), " ", h("span", { class: "msg-status" }, "Sending…")),
            h("p", { class: "msg-text" }, text));
        const item = { li };
        this.pending.push(item);
        this.list.append(li);
        this.scrollToBottom();
        try {
            const message = await this.client.send(id, text, options);
            this.pending = this.pending.filter((p) => p !== item);
            li.remove();
            this.store.add(message);
            if (this.id === id) {
                this.render();
                this.scrollToBottom();
                this.markRead();
            }
            this.store.changed("list");
        } catch (failure) {
            li.classList.add("failed");
            replace(li.querySelector(".msg-status"), `Not sent (${failure.message}) `,
                h("button", {
                    type: "button", class: "link-button", onclick: () => {
                        this.pending = this.pending.filter((p) => p !== item);
                        li.remove();
                        this.input.value = text;
                        this.send();
                    },
                }, "Retry"));
        }
    }

    typed() {
        if (!this.id) return;
        this.drafts ??= new Map();
        this.drafts.set(this.id, this.input.value);
        if (!this.input.value.trim()) { this.stopTyping(); return; }
        const now = Date.now();
        if (!this.typingSince || now - this.typingSince > TYPING_REPEAT_MS) {
            this.typingSince = now;
            this.typingConv = this.id;
            this.client.typing(this.id, true).catch(() => {});
        }
        clearTimeout(this.typingTimer);
        this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    }

    stopTyping() {
        clearTimeout(this.typingTimer);
        if (this.typingConv) this.client.typing(this.typingConv, false).catch(() => {});
        this.typingConv = null;
        this.typingSince = 0;
    }
}
