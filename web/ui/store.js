// The app's state: conversations, messages by seq, users, presence, read
// pointers and typing, fed by the SDK's calls and events. Views listen to
// its "change" events ({kind, conv?}) and render from it.

const TYPING_SHOWN_MS = 6000;

export class Store extends EventTarget {
    constructor(client) {
        super();
        this.client = client;
        this.users = new Map();
        this.userRequests = new Map();
        this.presence = new Map();
        this.conversations = new Map();
        /** conv id → {messages: Map(seq → message), more, loaded} */
        this.threads = new Map();
        /** conv id → Map(user id → read seq) of the other members */
        this.reads = new Map();
        /** conv id → Map(user id → timer) */
        this.typing = new Map();
        this.notifications = [];
        this.openID = null;
        /** "<message id> <emoji>" of the reactions this user is known to have made */
        this.myReactions = new Set();

        client.addEventListener("message", (e) => this.#onMessage(e.detail));
        client.addEventListener("message.edited", (e) => this.#replace(e.detail));
        client.addEventListener("message.deleted", (e) => this.#replace(e.detail));
        client.addEventListener("typing", (e) => this.#onTyping(e.detail));
        client.addEventListener("read", (e) => this.#onRead(e.detail));
        client.addEventListener("reaction", (e) => this.#onReaction(e.detail));
        client.addEventListener("pin", (e) => this.#onPin(e.detail));
        client.addEventListener("presence", (e) => {
            this.presence.set(e.detail.user, { status: e.detail.status, lastSeen: e.detail.lastSeen });
            this.changed("presence", { user: e.detail.user });
        });
        client.addEventListener("conversation", (e) => this.#onConversation(e.detail));
        // Deleted and opened again under its id: the old messages are gone, the new ones follow.
        client.addEventListener("reset", (e) => {
            this.threads.delete(e.detail.conv);
            this.changed("messages", { conv: e.detail.conv });
        });
        client.addEventListener("notification", (e) => {
            // Pending ones are pushed again on every connect: keep each once.
            if (this.notifications.some((n) => n.id === e.detail.id)) return;
            this.notifications.unshift(e.detail);
            this.changed("notifications");
        });
    }

    get me() { return this.client.user?.id; }

    changed(kind, detail = {}) {
        this.dispatchEvent(new CustomEvent("change", { detail: { kind, ...detail } }));
    }

    // MARK: users

    /** A user from the cache, fetched (once) when missing; presence comes with it. */
    user(id) {
        if (this.users.has(id)) return Promise.resolve(this.users.get(id));
        if (!this.userRequests.has(id)) {
            this.userRequests.set(id, this.client.getUser(id).then(({ user, presence }) => {
                this.users.set(id, user);
                if (presence && !this.presence.has(id)) this.presence.set(id, presence);
                this.changed("users", { user: id });
                return user;
            }).catch(() => null).finally(() => this.userRequests.delete(id)));
        }
        return this.userRequests.get(id);
    }

    /** A user's display name if known (else their id, and a fetch starts). */
    name(id) {
        if (id === this.me) return this.client.user.displayName || this.client.user.username;
        const user = this.users.get(id);
        if (user) return user.displayName || user.username;
        this.user(id);
        return "…";
    }

    remember(user) {
        if (user?.id) this.users.set(user.id, user);
    }

    // MARK: conversations

    async loadConversations() {
        const list = await this.client.conversations({ limit: 200 });
        const seen = new Set();
        for (const conversation of list) {
            seen.add(conversation.id);
            this.merge(conversation);
        }
        for (const id of [...this.conversations.keys()]) if (!seen.has(id)) this.conversations.delete(id);
        this.changed("list");
        await Promise.all(list.filter((c) => c.kind === "direct").map((c) => this.loadMembers(c.id).catch(() => {})));
    }

    /** Adds or updates a conversation from an answer of the hub (fields it lacks are kept). */
    merge(conversation) {
        const current = this.conversations.get(conversation.id) ?? {};
        const merged = { ...current, ...conversation };
        if (conversation.members === undefined && current.members) merged.members = current.members;
        this.conversations.set(conversation.id, merged);
        if (conversation.members) this.#takeMembers(merged);
        return merged;
    }

    /** Loads the members (with their read pointers) of a conversation. */
    async loadMembers(id) {
        const fetched = await this.client.conversation(id);
        if (fetched.members && !fetched.members.some((m) => m.id === this.me)) {
            // Readable but not ours (a public room we left meanwhile): not in the list.
            this.forget(id);
            return fetched;
        }
        const conversation = this.merge(fetched);
        this.changed("members", { conv: id });
        return conversation;
    }

    /** Drops a conversation the user is no longer in. */
    forget(id) {
        if (!this.conversations.delete(id)) return;
        this.threads.delete(id);
        this.changed("removed", { conv: id });
    }

    #takeMembers(conversation) {
        const reads = this.reads.get(conversation.id) ?? new Map();
        for (const member of conversation.members) {
            if (member.id !== this.me && Number.isInteger(member.read)) {
                reads.set(member.id, Math.max(reads.get(member.id) ?? 0, member.read));
            }
            if (member.id !== this.me) this.user(member.id);
        }
        this.reads.set(conversation.id, reads);
        const other = this.other(conversation);
        if (other) {
            this.client.watchPresence([other]).then((states) => {
                for (const [user, state] of Object.entries(states)) this.presence.set(user, state);
                this.changed("presence", { user: other });
            }).catch(() => {});
        }
    }

    /** The other member of a direct conversation. */
    other(conversation) {
        if (conversation?.kind !== "direct" || !conversation.members) return null;
        return conversation.members.find((m) => m.id !== this.me)?.id ?? null;
    }

    title(conversation) {
        if (!conversation) return "";
        if (conversation.name) return conversation.name;
        const other = this.other(conversation);
        return other ? this.name(other) : "Direct chat";
    }

    /** Conversations, most recent activity first. */
    ordered() {
        const activity = (c) => c.lastMessage?.ts ?? c.lastActivity ?? c.createdAt ?? 0;
        return [...this.conversations.values()].sort((a, b) => activity(b) - activity(a) || a.id.localeCompare(b.id));
    }

    myRole(conversation) {
        return conversation?.members?.find((m) => m.id === this.me)?.role ?? null;
    }

    // MARK: messages

    thread(id) {
        if (!this.threads.has(id)) this.threads.set(id, { messages: new Map(), more: true, loaded: false });
        return this.threads.get(id);
    }

    /** Sorted messages of a conversation. */
    messages(id) {
        return [...this.thread(id).messages.values()].sort((a, b) => a.seq - b.seq);
    }

    async loadLatest(id) {
        const page = await this.client.history(id, { limit: 50 });
        const thread = this.thread(id);
        for (const message of page) thread.messages.set(message.seq, message);
        if (!thread.loaded) thread.more = page.more;
        thread.loaded = true;
        this.changed("messages", { conv: id });
    }

    /** Loads the page before the oldest loaded message; false when there is none. */
    async loadOlder(id) {
        const thread = this.thread(id);
        const oldest = this.messages(id)[0];
        if (!thread.more || !oldest) return false;
        const page = await this.client.history(id, { before: oldest.id, limit: 50 });
        for (const message of page) thread.messages.set(message.seq, message);
        thread.more = page.more;
        this.changed("older", { conv: id, count: page.length });
        return page.length > 0;
    }

    /** Adds a message (own send or event); false when it was there already. */
    add(message) {
        const thread = this.thread(message.conv);
        const isNew = !thread.messages.has(message.seq);
        thread.messages.set(message.seq, message);
        const conversation = this.conversations.get(message.conv);
        if (conversation && message.seq >= (conversation.seq ?? 0)) {
            conversation.seq = message.seq;
            conversation.lastMessage = message;
            conversation.lastActivity = message.ts;
        }
        return isNew;
    }

    #onMessage(message) {
        if (!this.add(message)) return;
        // Sending moves the sender's read pointer to their message (no read event says so).
        if (message.from !== this.me) this.#onRead({ conv: message.conv, user: message.from, seq: message.seq, quiet: true });
        const conversation = this.conversations.get(message.conv);
        if (!conversation) {
            // A conversation we have not heard of (e.g. a new direct chat): fetch it.
            this.loadMembers(message.conv).then(() => this.changed("list")).catch(() => {});
        } else if (message.from !== this.me) {
            conversation.unread = (conversation.unread ?? 0) + 1;
        }
        this.#stopTyping(message.conv, message.from);
        this.changed("message", { conv: message.conv, message });
    }

    #replace(message) {
        const thread = this.thread(message.conv);
        // Edit events carry no reactions or pin state: keep what we knew.
        const before = thread.messages.get(message.seq);
        if (before && !message.deleted) message = { ...message, reactions: message.reactions ?? before.reactions, pinned: message.pinned ?? before.pinned };
        if (thread.messages.has(message.seq) || thread.loaded) thread.messages.set(message.seq, message);
        const conversation = this.conversations.get(message.conv);
        if (conversation?.lastMessage?.seq === message.seq) conversation.lastMessage = message;
        this.changed("edit", { conv: message.conv, message });
    }

    // MARK: reactions and pins

    /** A loaded message by id, or undefined. */
    messageByID(convID, id) {
        for (const message of this.thread(convID).messages.values()) if (message.id === id) return message;
        return undefined;
    }

    #update(convID, id, change) {
        const message = this.messageByID(convID, id);
        if (!message) return;
        this.thread(convID).messages.set(message.seq, change({ ...message }));
        this.changed("edit", { conv: convID });
    }

    /** Sets a message's count of one emoji (from an event or an own reaction). */
    setReaction(convID, id, emoji, count) {
        this.#update(convID, id, (message) => {
            const reactions = { ...(message.reactions ?? {}) };
            if (count > 0) reactions[emoji] = count; else delete reactions[emoji];
            message.reactions = Object.keys(reactions).length ? reactions : undefined;
            return message;
        });
    }

    #onReaction({ conv, id, emoji, user, on, count }) {
        if (user === this.me) {
            if (on) this.myReactions.add(`${id} ${emoji}`); else this.myReactions.delete(`${id} ${emoji}`);
        }
        this.setReaction(conv, id, emoji, count);
    }

    setPinned(convID, id, pinned) {
        this.#update(convID, id, (message) => ({ ...message, pinned: pinned || undefined }));
        this.changed("pins", { conv: convID });
    }

    #onPin({ conv, id, on }) { this.setPinned(conv, id, on); }

    // MARK: read pointers and typing

    /** The seq up to which a member has read (others only). */
    readBy(convID) {
        return this.reads.get(convID) ?? new Map();
    }

    #onRead({ conv, user, seq, quiet = false }) {
        const conversation = this.conversations.get(conv);
        if (user === this.me) {
            if (conversation) conversation.unread = Math.max(0, (conversation.seq ?? 0) - seq);
            this.changed("unread", { conv });
            return;
        }
        const reads = this.reads.get(conv) ?? new Map();
        reads.set(user, Math.max(reads.get(user) ?? 0, seq));
        this.reads.set(conv, reads);
        if (!quiet) this.changed("read", { conv, user });
    }

    setUnread(convID, unread) {
        const conversation = this.conversations.get(convID);
        if (conversation && conversation.unread !== unread) {
            conversation.unread = unread;
            this.changed("unread", { conv: convID });
        }
    }

    /** Users typing in a conversation now (not the user themself). */
    typingIn(convID) {
        return [...(this.typing.get(convID)?.keys() ?? [])];
    }

    #onTyping({ conv, user, active }) {
        if (user === this.me) return;
        if (!active) {
            this.#stopTyping(conv, user);
            return;
        }
        const typing = this.typing.get(conv) ?? new Map();
        clearTimeout(typing.get(user));
        typing.set(user, setTimeout(() => this.#stopTyping(conv, user), TYPING_SHOWN_MS));
        this.typing.set(conv, typing);
        this.changed("typing", { conv });
    }

    #stopTyping(conv, user) {
        const typing = this.typing.get(conv);
        if (!typing?.has(user)) return;
        clearTimeout(typing.get(user));
        typing.delete(user);
        this.changed("typing", { conv });
    }

    #onConversation({ conversation, change }) {
        if (!conversation) return;
        if (change === "removed") {
            this.forget(conversation.id);
        } else {
            // The SDK fills in the member list it keeps (an update carries only
            // what changed); without one, members load when the conversation is opened.
            this.merge(conversation);
            if (!conversation.members && change === "added") this.loadMembers(conversation.id).catch(() => {});
            this.changed("list");
            this.changed("members", { conv: conversation.id });
        }
    }
}
