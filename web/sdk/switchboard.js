// Switchboard JavaScript SDK: one ES module, no dependencies, no build step.
//
//   import { SwitchboardClient } from "/sdk/switchboard.js";
//   const client = new SwitchboardClient({ baseURL: location.origin });
//   await client.login("alice", "correct horse");     // or register(...) or restore()
//   client.addEventListener("message", (e) => console.log(e.detail));
//   await client.connect();
//   const msg = await client.send(conversationID, "hello");
//
// It mirrors the Swift SDK (Sources/SwitchboardClient): sends carry an
// automatic nonce and are retried across reconnects (stored once); any
// disconnect reconnects with backoff and `resume`s from the contiguous seq
// held per conversation, so no message is missed or delivered twice.
// Documented in docs/sdk-js.md; the wire contract is the hub's PROTOCOL.md.

/** An error from the hub (its `code`, e.g. "not_member") or from the client ("disconnected", "timeout", "closed"). */
export class SwitchboardError extends Error {
    constructor(code, message, { status = 0, retryAfter = null } = {}) {
        super(message || code);
        this.name = "SwitchboardError";
        this.code = code;
        this.status = status;
        this.retryAfter = retryAfter;
    }
}

/** Storage that lives as long as the object (when no Web Storage is available or wanted). */
export class MemoryStorage {
    #items = new Map();
    getItem(key) { return this.#items.has(key) ? this.#items.get(key) : null; }
    setItem(key, value) { this.#items.set(key, String(value)); }
    removeItem(key) { this.#items.delete(key); }
}

const RETRYABLE = new Set(["disconnected", "timeout"]);

function defaultStorage() {
    try {
        if (typeof sessionStorage !== "undefined") return sessionStorage;
    } catch {
        // Storage access can throw (sandboxed frames, disabled storage).
    }
    return new MemoryStorage();
}

/** A random nonce (crypto.randomUUID needs a secure context; getRandomValues does not). */
export function makeNonce() {
    if (globalThis.crypto?.randomUUID) {
        try { return crypto.randomUUID(); } catch { /* not a secure context */ }
    }
    const bytes = new Uint8Array(16);
    globalThis.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client of one Switchboard hub. An EventTarget: listen for "message",
 * "message.edited", "message.deleted", "typing", "read", "presence",
 * "conversation", "reset", "notification", "post", "connected", "disconnected", "state" and
 * "logout"; each event's `detail` carries the payload.
 */
export class SwitchboardClient extends EventTarget {
    /**
     * @param {object} options
     * @param {string} [options.baseURL]  the hub (a node or the load balancer), default location.origin
     * @param {Storage} [options.storage]  where the refresh token and resume positions live (default sessionStorage)
     * @param {string} [options.storageKey]  prefix of the storage keys (default "switchboard")
     * @param {number} [options.initialBackoff]  first reconnect delay in ms (default 100); doubles up to maximumBackoff
     * @param {number} [options.maximumBackoff]  default 5000 ms
     * @param {number} [options.requestTimeout]  ms a command waits for its reply (default 15000)
     * @param {number} [options.sendRetryWindow]  ms a send keeps retrying across reconnects (default 60000)
     * @param {number} [options.pingInterval]  ms between liveness pings on an idle connection (default 25000)
     * @param {boolean} [options.deliveryReceipts]  send `delivered` for received messages (default true)
     * @param {number} [options.deliveryReceiptInterval]  ms between two `delivered` ops of one conversation (default 1000)
     */
    constructor(options = {}) {
        super();
        const origin = typeof location !== "undefined" ? location.origin : "http://127.0.0.1:8080";
        this.baseURL = String(options.baseURL ?? origin).replace(/\/+$/, "");
        this.storage = options.storage ?? defaultStorage();
        this.storageKey = options.storageKey ?? "switchboard";
        this.initialBackoff = options.initialBackoff ?? 100;
        this.maximumBackoff = options.maximumBackoff ?? 5000;
        this.requestTimeout = options.requestTimeout ?? 15000;
        this.sendRetryWindow = options.sendRetryWindow ?? 60000;
        this.pingInterval = options.pingInterval ?? 25000;
        this.deliveryReceipts = options.deliveryReceipts ?? true;
        this.deliveryReceiptInterval = options.deliveryReceiptInterval ?? 1000;
        this.connectTimeout = options.connectTimeout ?? 10000;
        this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
        this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);

        /** The signed-in user, or null. */
        this.user = null;
        this.#state = "idle";
    }

    // Session
    #accessToken = null;
    #accessExpiresAt = 0;
    #refreshTimer = null;
    #refreshing = null;

    // Connection
    #state;
    #socket = null;
    #running = false;
    #stopped = true;
    #ready = false;
    #readyWaiters = [];
    #wake = null;
    #nextID = 0;
    #pending = new Map();
    #pingTimer = null;
    #attempt = 0;

    // Delivery bookkeeping: per conversation, the highest seq up to which
    // every message has been delivered (or loaded), and seqs seen past a gap.
    #positions = {};
    #ahead = new Map();
    // Per conversation: the epoch those positions belong to (a conversation
    // deleted and opened again under its id has a new one), and the member
    // list as kept from `conversation` events and REST answers.
    #epochs = {};
    #members = new Map();
    #saveQueued = false;
    #watched = new Set();
    #status = "online";
    // Delivery receipts: per conversation, the newest seq not yet reported,
    // the highest reported, when the last one went out, a trailing timer.
    #deliveredDue = new Map();
    #deliveredSent = new Map();
    #deliveredAt = new Map();
    #deliveredTimers = new Map();

    // MARK: state

    /** "idle" (never connected), "connecting", "connected", "reconnecting" or "closed". */
    get state() { return this.#state; }

    /** True while the WebSocket is open and authenticated. */
    get connected() { return this.#ready; }

    /** The current access token (in memory only), or null. */
    get accessToken() { return this.#accessToken; }

    /** Per conversation, the seq up to which every message was delivered: a copy. */
    get positions() { return { ...this.#positions }; }

    /** Per conversation, the epoch its position belongs to: a copy. */
    get epochs() { return { ...this.#epochs }; }

    /** The member list of a conversation as this client keeps it (`conversation` events applied), or undefined. */
    members(conversationID) { return this.#members.get(conversationID)?.slice(); }

    /** Sets the position of a conversation (e.g. after the app reloaded its history), with its epoch when known. */
    setPosition(conversationID, seq, epoch) {
        this.#positions[conversationID] = seq;
        this.#ahead.delete(conversationID);
        if (epoch) this.#epochs[conversationID] = epoch;
        else if (epoch === null) delete this.#epochs[conversationID];
        this.#savePositions();
    }

    #setState(state) {
        if (this.#state === state) return;
        this.#state = state;
        this.#emit("state", { state });
    }

    #emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    // MARK: accounts and tokens

    /** Creates an account and signs in; resolves to the user. */
    async register(username, password, displayName) {
        const body = { username, password };
        if (displayName) body.displayName = displayName;
        return this.#takeSession(await this.#api("POST", "/auth/register", body, { auth: false }));
    }

    /** Signs in; resolves to the user. */
    async login(username, password) {
        return this.#takeSession(await this.#api("POST", "/auth/login", { username, password }, { auth: false }));
    }

    /**
     * Resumes the session kept in storage (after a page reload): trades the
     * stored refresh token for a fresh pair. Resolves to the user, or null
     * when there is no usable session.
     */
    async restore() {
        if (!this.storage.getItem(this.#key("refresh"))) return null;
        try {
            await this.refresh();
            return this.user;
        } catch (error) {
            if (error.code === "unauthorized" || error.code === "invalid_request") return null;
            throw error;
        }
    }

    /** Trades the refresh token for a new pair now (it is also done automatically before expiry). */
    refresh() {
        if (!this.#refreshing) {
            this.#refreshing = (async () => {
                const refreshToken = this.storage.getItem(this.#key("refresh"));
                if (!refreshToken) throw new SwitchboardError("unauthorized", "not signed in");
                let answer;
                try {
                    answer = await this.#api("POST", "/auth/refresh", { refreshToken }, { auth: false });
                } catch (error) {
                    if (error.status === 401) this.#endSession("expired");
                    throw error;
                }
                this.#takeSession(answer);
                if (this.#ready) {
                    // Renew the live connection, else the hub closes it with 4009 at expiry.
                    this.#request({ op: "auth", token: this.#accessToken }).catch(() => {});
                }
                return this.user;
            })().finally(() => { this.#refreshing = null; });
        }
        return this.#refreshing;
    }

    /** Signs out: revokes the refresh token family, closes the connection, forgets the session. */
    async logout() {
        const refreshToken = this.storage.getItem(this.#key("refresh"));
        this.close();
        if (refreshToken) {
            try {
                await this.#api("POST", "/auth/logout", { refreshToken }, { auth: false });
            } catch {
                // Signed out locally whatever the hub says.
            }
        }
        this.#endSession("logout");
    }

    #takeSession(answer) {
        this.user = answer.user;
        this.#accessToken = answer.accessToken;
        this.#accessExpiresAt = Date.now() + answer.expiresIn * 1000;
        const previousUser = this.storage.getItem(this.#key("user"));
        this.storage.setItem(this.#key("refresh"), answer.refreshToken);
        this.storage.setItem(this.#key("user"), answer.user.id);
        if (previousUser !== answer.user.id) {
            this.#positions = {};
            this.#epochs = {};
            this.#ahead.clear();
            this.#members.clear();
        }
        this.#loadPositions();
        clearTimeout(this.#refreshTimer);
        // Refresh when 80 % of the lifetime has passed (at least 30 s before expiry).
        const lead = Math.max(30, answer.expiresIn * 0.2) * 1000;
        const delay = Math.max(1000, answer.expiresIn * 1000 - lead);
        this.#refreshTimer = setTimeout(() => this.refresh().catch(() => {}), delay);
        return this.user;
    }

    #endSession(reason) {
        const hadSession = this.user !== null || this.#accessToken !== null;
        clearTimeout(this.#refreshTimer);
        if (this.user) this.storage.removeItem(this.#key(`positions:${this.user.id}`));
        if (this.user) this.storage.removeItem(this.#key(`epochs:${this.user.id}`));
        this.storage.removeItem(this.#key("refresh"));
        this.storage.removeItem(this.#key("user"));
        this.#accessToken = null;
        this.user = null;
        this.#positions = {};
        this.#epochs = {};
        this.#ahead.clear();
        this.#members.clear();
        this.#watched.clear();
        this.#status = "online";
        this.close();
        if (hadSession) this.#emit("logout", { reason });
    }

    async #freshToken() {
        if (this.#accessToken && Date.now() < this.#accessExpiresAt - 5000) return this.#accessToken;
        await this.refresh();
        return this.#accessToken;
    }

    #key(name) { return `${this.storageKey}:${name}`; }

    // MARK: REST

    async #api(method, path, body, { auth = true, retried = false, query } = {}) {
        const headers = { Accept: "application/json" };
        if (body !== undefined) headers["Content-Type"] = "application/json";
        if (auth) headers.Authorization = `Bearer ${await this.#freshToken()}`;
        let url = `${this.baseURL}/api/v1${path}`;
        if (query) {
            // encodeURIComponent, not URLSearchParams: a space must travel as %20, not "+".
            const text = Object.entries(query)
                .filter(([, value]) => value !== undefined && value !== null && value !== "")
                .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
                .join("&");
            if (text) url += `?${text}`;
        }
        const response = await this.#fetchWithRetry(method, url, headers, body);
        if (response.status === 204) return {};
        const payload = await response.json().catch(() => null);
        if (response.ok) return payload ?? {};
        const code = payload?.error?.code ?? "http_" + response.status;
        if (auth && !retried && code === "token_expired") {
            await this.refresh();
            return this.#api(method, path, body, { auth, retried: true, query });
        }
        const retryAfter = Number(response.headers.get("Retry-After")) || null;
        throw new SwitchboardError(code, payload?.error?.message ?? response.statusText, { status: response.status, retryAfter });
    }

    /**
     * One HTTP request; when a node is down behind a load balancer, retried a
     * few times (0.25, 0.5, 1 s apart): a proxy's own 502/503 (no JSON error
     * body: the request reached no node) for any method, a network error only
     * for GET, PATCH and DELETE (they may be repeated).
     */
    async #fetchWithRetry(method, url, headers, body) {
        const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
        for (let attempt = 0; ; attempt += 1) {
            const last = attempt >= 3;
            let response;
            try {
                response = await this.fetch(url, init);
            } catch (error) {
                if (last || method === "POST") throw new SwitchboardError("unavailable", `network error: ${error.message}`);
                await sleep(250 * 2 ** attempt);
                continue;
            }
            const fromProxy = (response.status === 502 || response.status === 503)
                && !(response.headers.get("Content-Type") ?? "").includes("application/json");
            if (!fromProxy || last) return response;
            await sleep(250 * 2 ** attempt);
        }
    }

    // MARK: users and profile

    /** The signed-in user's profile (and refreshes `client.user`). */
    async me() {
        const { user } = await this.#api("GET", "/users/me");
        this.user = user;
        return user;
    }

    /** Changes the own profile: `{displayName?, bio?, avatar?}`; resolves to the user. */
    async updateProfile(fields) {
        const { user } = await this.#api("PATCH", "/users/me", fields);
        this.user = user;
        return user;
    }

    /** One user and their presence: `{user, presence}`. */
    getUser(userID) {
        return this.#api("GET", `/users/${encodeURIComponent(userID)}`);
    }

    /** Users whose username starts with `query` (case-insensitive). */
    async searchUsers(query, { limit = 20 } = {}) {
        const { users } = await this.#api("GET", "/users", undefined, { query: { q: query, limit } });
        return users;
    }

    // MARK: conversations

    /**
     * The user's conversations, newest activity first, each with `unread` and
     * `lastMessage`. Conversations without a known position start at their `seq`.
     */
    async conversations({ limit = 50 } = {}) {
        const { conversations } = await this.#api("GET", "/conversations", undefined, { query: { limit } });
        let changed = false;
        for (const conversation of conversations) {
            if (this.#positions[conversation.id] === undefined) {
                this.#positions[conversation.id] = conversation.seq;
                if (conversation.epoch) this.#epochs[conversation.id] = conversation.epoch;
                changed = true;
            }
        }
        if (changed) this.#savePositions();
        return conversations;
    }

    /** One conversation with its members (`[{id, role, read}]`). */
    async conversation(conversationID) {
        const { conversation } = await this.#api("GET", `/conversations/${encodeURIComponent(conversationID)}`);
        return this.#takeMembers(conversation);
    }

    /** Opens the direct conversation with a user (the same one every time for the pair). */
    async createDirect(userID) {
        const { conversation } = await this.#api("POST", "/conversations", { kind: "direct", with: userID });
        return this.#known(conversation);
    }

    /** Creates a group with the caller as owner. */
    async createGroup(name, memberIDs = []) {
        const { conversation } = await this.#api("POST", "/conversations", { kind: "group", name, members: memberIDs });
        return this.#known(conversation);
    }

    /** Creates a room (public by default: listed by `rooms()` and joinable by anyone). */
    async createRoom(name, { public: isPublic = true } = {}) {
        const { conversation } = await this.#api("POST", "/conversations", { kind: "room", name, public: isPublic });
        return this.#known(conversation);
    }

    /** Renames or describes a group or room (owner or admin): `{name?, description?}`. */
    async updateConversation(conversationID, fields) {
        const { conversation } = await this.#api("PATCH", `/conversations/${encodeURIComponent(conversationID)}`, fields);
        return conversation;
    }

    /** Deletes a conversation (owner only). */
    async deleteConversation(conversationID) {
        await this.#api("DELETE", `/conversations/${encodeURIComponent(conversationID)}`);
        this.#forget(conversationID);
    }

    /** Public rooms whose name starts with `query`. */
    async rooms({ query = "", limit = 50 } = {}) {
        const { rooms } = await this.#api("GET", "/rooms", undefined, { query: { q: query, limit } });
        return rooms;
    }

    /** Adds users to a group or room (owner or admin); resolves to the conversation. */
    async addMembers(conversationID, userIDs) {
        const { conversation } = await this.#api("POST", `/conversations/${encodeURIComponent(conversationID)}/members`, { users: userIDs });
        return this.#takeMembers(conversation);
    }

    /** Removes a member (admins), or the caller themself (leaving). */
    async removeMember(conversationID, userID) {
        await this.#api("DELETE", `/conversations/${encodeURIComponent(conversationID)}/members/${encodeURIComponent(userID)}`);
        if (userID === this.user?.id) this.#forget(conversationID);
    }

    /** Joins a public room; resolves to the room. */
    async join(roomID) {
        return this.#known(await this.addMembers(roomID, [this.user.id]));
    }

    /** Leaves a conversation. */
    leave(conversationID) {
        return this.removeMember(conversationID, this.user.id);
    }

    /** Changes a member's role: "admin" or "member" (owner only); "owner" hands ownership over. */
    async setRole(conversationID, userID, role) {
        const { conversation } = await this.#api(
            "PATCH", `/conversations/${encodeURIComponent(conversationID)}/members/${encodeURIComponent(userID)}`, { role });
        return this.#takeMembers(conversation);
    }

    /** A conversation the app has just opened starts at its current seq (its history comes from `history()`). */
    #known(conversation) {
        if (conversation && this.#positions[conversation.id] === undefined) {
            this.#positions[conversation.id] = conversation.seq ?? 0;
            if (conversation.epoch) this.#epochs[conversation.id] = conversation.epoch;
            this.#savePositions();
        }
        return this.#takeMembers(conversation);
    }

    /** Keeps a conversation's member list from a REST answer or an event that carries it whole. */
    #takeMembers(conversation) {
        if (conversation?.id && Array.isArray(conversation.members)) {
            this.#members.set(conversation.id, conversation.members.map((m) => ({ ...m })));
        }
        return conversation;
    }

    /**
     * Applies a `conversation` event's member changes (`{added, removed,
     * changed}`, sent instead of the whole list) to the kept list, and
     * answers the conversation with the list filled in when known.
     */
    #applyMembers(conversation, change, delta) {
        const id = conversation.id;
        if (change === "removed") {
            this.#members.delete(id);
            return conversation;
        }
        if (Array.isArray(conversation.members)) {
            this.#takeMembers(conversation);
        } else if (delta && this.#members.has(id)) {
            const gone = new Set(Array.isArray(delta.removed) ? delta.removed : []);
            const roles = new Map((Array.isArray(delta.changed) ? delta.changed : []).map((m) => [m.id, m.role]));
            const list = [];
            for (const member of this.#members.get(id)) {
                if (gone.has(member.id)) continue;
                list.push(roles.has(member.id) ? { ...member, role: roles.get(member.id) } : member);
            }
            for (const member of Array.isArray(delta.added) ? delta.added : []) {
                if (!gone.has(member.id) && !list.some((m) => m.id === member.id)) list.push({ ...member });
            }
            this.#members.set(id, list);
        }
        const members = this.#members.get(id);
        return members ? { ...conversation, members: members.map((m) => ({ ...m })) } : conversation;
    }

    /** The `resume` positions: `{seq, epoch}` where the epoch is known, else the seq alone. */
    #resumePositions(ids) {
        const positions = {};
        for (const id of ids) {
            const seq = this.#positions[id] ?? 0;
            positions[id] = this.#epochs[id] ? { seq, epoch: this.#epochs[id] } : seq;
        }
        return positions;
    }

    /**
     * The conversation was deleted and opened again under its id (a new
     * epoch, seq from 1 again): what was held of it is dropped and it starts
     * over; the app hears "reset" and should drop its copy of the messages.
     */
    #reset(conversationID, epoch) {
        this.#positions[conversationID] = 0;
        this.#ahead.delete(conversationID);
        if (epoch) this.#epochs[conversationID] = epoch;
        else delete this.#epochs[conversationID];
        this.#savePositions();
        this.#emit("reset", { conv: conversationID });
    }

    /**
     * After being added to a conversation: `resume` it from the held position.
     * The node subscribes to the new conversation only now, so a message
     * published just before would otherwise come only with the next one;
     * the replay brings it, and dedupe drops whatever also arrives live.
     */
    #catchUp(conversation) {
        if (!this.#ready || !conversation) return;
        if (conversation.epoch && this.#epochs[conversation.id] && this.#epochs[conversation.id] !== conversation.epoch) {
            this.#reset(conversation.id, conversation.epoch);
        }
        this.#request({ op: "resume", positions: this.#resumePositions([conversation.id]) }).catch(() => {});
    }

    #forget(conversationID) {
        delete this.#positions[conversationID];
        delete this.#epochs[conversationID];
        this.#ahead.delete(conversationID);
        this.#members.delete(conversationID);
        this.#savePositions();
    }

    // MARK: messages

    /**
     * Messages of a conversation, oldest first: the newest `limit` without a
     * cursor, else those `before` (or `after`) a message id. The array has a
     * `more` property: true when older (with `after`: newer) ones exist.
     */
    async history(conversationID, { before, after, limit = 50 } = {}) {
        const page = await this.#api("GET", `/conversations/${encodeURIComponent(conversationID)}/messages`, undefined,
            { query: { before, after, limit } });
        const messages = page.messages;
        messages.more = page.more;
        if (!before && !after && this.#positions[conversationID] === undefined) {
            const last = messages[messages.length - 1];
            this.setPosition(conversationID, last ? last.seq : 0, last?.epoch);
        }
        return messages;
    }

    /**
     * Sends a message; resolves to the stored message. It carries a
     * nonce (automatic unless given) and is retried with the same nonce after
     * a disconnect for up to `sendRetryWindow` ms, so it is stored once.
     * Options: `attachments` (ids of the user's uploads, see `upload`, at
     * most 10), `replyTo` (a message id of the conversation), `post` (a post
     * id to share). With attachments or a post, `text` may be "".
     */
    async send(conversationID, text, { nonce = makeNonce(), attachments, replyTo, post } = {}) {
        const deadline = Date.now() + this.sendRetryWindow;
        const command = { op: "send", conv: conversationID, text: text ?? "", nonce };
        if (attachments?.length) command.attachments = attachments;
        if (replyTo) command.replyTo = replyTo;
        if (post) command.post = post;
        for (;;) {
            try {
                const reply = await this.#request(command);
                this.#observe(reply.message, true);
                return reply.message;
            } catch (error) {
                if (!RETRYABLE.has(error.code) || this.#stopped || Date.now() >= deadline) throw error;
                await this.#waitReady(deadline - Date.now());
            }
        }
    }

    /** The replies to one message, oldest first (`more`: older ones exist; page with `before`). */
    async replies(conversationID, messageID, { before, after, limit = 50 } = {}) {
        const page = await this.#api("GET",
            `/conversations/${encodeURIComponent(conversationID)}/messages/${encodeURIComponent(messageID)}/replies`, undefined,
            { query: { before, after, limit } });
        const messages = page.messages;
        messages.more = page.more;
        return messages;
    }

    /**
     * Uploads a file (a `Blob`/`File`, or bytes with `type`); resolves to
     * `{id, name, type, size, url}`. Send its `id` in `send(…, {attachments})`.
     * Images (PNG, JPEG, GIF, WebP) must be what they say; 413 `too_large`
     * past the node's limit (10 MiB by default).
     */
    async upload(file, { name = file?.name ?? "file", type = file?.type || "application/octet-stream" } = {}) {
        const response = await this.#authorizedFetch("POST", `${this.baseURL}/api/v1/uploads`,
            { "Content-Type": type, "X-Filename": encodeURIComponent(name) }, file);
        const payload = await response.json().catch(() => null);
        if (!response.ok) {
            throw new SwitchboardError(payload?.error?.code ?? "http_" + response.status, payload?.error?.message ?? response.statusText,
                { status: response.status });
        }
        return payload.file;
    }

    /**
     * Fetches a file a message carries (or an own upload) as a `Blob`, with
     * the bearer token (an `<img src>` cannot send one: use
     * `URL.createObjectURL(blob)`).
     */
    async download(fileID) {
        const response = await this.#authorizedFetch("GET", `${this.baseURL}/api/v1/files/${encodeURIComponent(fileID)}`, {});
        if (!response.ok) {
            const payload = await response.json().catch(() => null);
            throw new SwitchboardError(payload?.error?.code ?? "http_" + response.status, payload?.error?.message ?? response.statusText,
                { status: response.status });
        }
        return response.blob();
    }

    /** A request with a raw body and the bearer token, refreshed once on `token_expired`. */
    async #authorizedFetch(method, url, headers, body) {
        for (let attempt = 0; ; attempt += 1) {
            const response = await this.fetch(url, {
                method, body, headers: { ...headers, Authorization: `Bearer ${await this.#freshToken()}` },
            });
            if (response.status !== 401 || attempt > 0) return response;
            const payload = await response.clone().json().catch(() => null);
            if (payload?.error?.code !== "token_expired") return response;
            await this.refresh();
        }
    }

    /** Edits an own message; resolves to the message with its new text and `editedAt`. */
    async editMessage(conversationID, messageID, text) {
        const { message } = await this.#api("PATCH",
            `/conversations/${encodeURIComponent(conversationID)}/messages/${encodeURIComponent(messageID)}`, { text });
        return message;
    }

    /** Deletes a message (its author, or an admin); resolves to the message, now `deleted` with empty text. */
    async deleteMessage(conversationID, messageID) {
        const { message } = await this.#api("DELETE",
            `/conversations/${encodeURIComponent(conversationID)}/messages/${encodeURIComponent(messageID)}`);
        return message;
    }

    /** Moves the read pointer up to `seq` (it never moves back); resolves to the unread count. */
    async markRead(conversationID, seq) {
        const { unread } = await this.#api("POST", `/conversations/${encodeURIComponent(conversationID)}/read`, { seq });
        return unread;
    }

    /** Tells the other members the user is typing (or stopped); needs the connection, never stored. */
    async typing(conversationID, active = true) {
        if (!this.#ready) return;
        await this.#request({ op: "typing", conv: conversationID, active });
    }

    // MARK: reactions, pins, receipts and mutes

    /** Adds (`on`, default) or removes the user's reaction; resolves to the emoji's count now. A "reaction" event reaches the others. */
    async react(conversationID, messageID, emoji, on = true) {
        const { count } = await this.#api(on ? "PUT" : "DELETE", this.#messagePath(conversationID, messageID) + `/reactions/${encodeURIComponent(emoji)}`);
        return count;
    }

    /** Who reacted with `emoji`: resolves to `{users, next}`; pass `next` as `after` for the next page. */
    async reactors(conversationID, messageID, emoji, { after, limit } = {}) {
        return this.#api("GET", this.#messagePath(conversationID, messageID) + `/reactions/${encodeURIComponent(emoji)}`,
            undefined, { query: { after, limit } });
    }

    /** Who got and who read a message: `{delivered: [ids], read: [ids]}` (rooms: counts). */
    async receipts(conversationID, messageID) {
        return this.#api("GET", this.#messagePath(conversationID, messageID) + "/receipts");
    }

    /** Pins a message (owner or admin; either side of a direct conversation). */
    async pin(conversationID, messageID) {
        await this.#api("PUT", `/conversations/${encodeURIComponent(conversationID)}/pins/${encodeURIComponent(messageID)}`);
    }

    /** Unpins a message. */
    async unpin(conversationID, messageID) {
        await this.#api("DELETE", `/conversations/${encodeURIComponent(conversationID)}/pins/${encodeURIComponent(messageID)}`);
    }

    /** The pinned messages, newest pin first: `[{id, at, by, message}]`. */
    async pins(conversationID) {
        const { pins } = await this.#api("GET", `/conversations/${encodeURIComponent(conversationID)}/pins`);
        return pins;
    }

    /** Mutes the conversation's message notifications until `until` (ms; default: for good); mentions still notify. Resolves to the conversation. */
    async mute(conversationID, until = 32503680000000) {
        const { conversation } = await this.#api("PUT", `/conversations/${encodeURIComponent(conversationID)}/mute`, { until });
        return conversation;
    }

    /** Unmutes the conversation. */
    async unmute(conversationID) {
        await this.#api("DELETE", `/conversations/${encodeURIComponent(conversationID)}/mute`);
    }

    /** Moves the delivered pointer up to `seq` (the client does this by itself for received messages). */
    async markDelivered(conversationID, seq) {
        if (!this.#ready) return;
        await this.#request({ op: "delivered", conv: conversationID, seq });
    }

    #messagePath(conversationID, messageID) {
        return `/conversations/${encodeURIComponent(conversationID)}/messages/${encodeURIComponent(messageID)}`;
    }

    /** A message arrived: report it delivered now, or once the interval since the conversation's last report passed. */
    #noteDelivered(message) {
        if (!this.deliveryReceipts) return;
        const conv = message.conv;
        if (message.seq <= Math.max(this.#deliveredDue.get(conv) ?? 0, this.#deliveredSent.get(conv) ?? 0)) return;
        this.#deliveredDue.set(conv, message.seq);
        if (this.#deliveredTimers.has(conv)) return;
        const wait = Math.max(0, (this.#deliveredAt.get(conv) ?? 0) + this.deliveryReceiptInterval - Date.now());
        this.#deliveredTimers.set(conv, setTimeout(() => this.#flushDelivered(conv), wait));
    }

    #flushDelivered(conv) {
        this.#deliveredTimers.delete(conv);
        const seq = this.#deliveredDue.get(conv);
        this.#deliveredDue.delete(conv);
        if (seq === undefined || this.#stopped) return;
        this.#deliveredAt.set(conv, Date.now());
        this.#deliveredSent.set(conv, Math.max(this.#deliveredSent.get(conv) ?? 0, seq));
        this.markDelivered(conv, seq).catch(() => {});  // best effort: the next message reports again
    }

    // MARK: presence and notifications

    /**
     * Starts watching users' presence: resolves to `{userId: {status, lastSeen}}`
     * now, then "presence" events follow. Watches are renewed after every reconnect.
     */
    async watchPresence(userIDs) {
        const fresh = userIDs.filter((id) => !this.#watched.has(id));
        for (const id of userIDs) this.#watched.add(id);
        if (!this.#ready || fresh.length === 0) return {};
        try {
            const { presence } = await this.#request({ op: "presence.watch", users: fresh });
            return presence ?? {};
        } catch (error) {
            if (RETRYABLE.has(error.code)) return {};  // renewed on reconnect
            throw error;
        }
    }

    /** Stops watching users' presence. */
    async unwatchPresence(userIDs) {
        for (const id of userIDs) this.#watched.delete(id);
        if (this.#ready) await this.#request({ op: "presence.unwatch", users: userIDs }).catch(() => {});
    }

    /** Sets the user's status on all their connections: "online", "away" or "busy" (kept across reconnects). */
    async setStatus(status) {
        this.#status = status;
        if (this.#ready) await this.#request({ op: "status", status });
    }

    /** The user's notifications, newest first. */
    async notifications() {
        const { notifications } = await this.#api("GET", "/notifications");
        return notifications;
    }

    /** Deletes all the user's notifications. */
    async clearNotifications() {
        await this.#api("DELETE", "/notifications");
    }

    // MARK: posts, follows and the feed

    /** Creates a post (text of 1 to 4,096 bytes); resolves to the post. Followers online get a "post" event. */
    async createPost(text, attachments) {
        const { post } = await this.#api("POST", "/posts", attachments ? { text, attachments } : { text });
        return post;
    }

    /** A post; rejects with `not_found` when it is unknown or deleted. */
    async post(postID) {
        const { post } = await this.#api("GET", `/posts/${encodeURIComponent(postID)}`);
        return post;
    }

    /** Replaces the text of an own post; resolves to the post with `editedAt`. */
    async updatePost(postID, text) {
        const { post } = await this.#api("PATCH", `/posts/${encodeURIComponent(postID)}`, { text });
        return post;
    }

    /** Deletes an own post; it leaves every feed. */
    async deletePost(postID) {
        await this.#api("DELETE", `/posts/${encodeURIComponent(postID)}`);
    }

    /** A user's posts, newest first: `{posts, next}`; pass `next` as `before` for the older page. */
    async userPosts(userID, { before, limit } = {}) {
        return this.#api("GET", `/users/${encodeURIComponent(userID)}/posts`, undefined, { query: { before, limit } });
    }

    /** Follows a user: their future posts reach the feed. */
    async follow(userID) {
        await this.#api("PUT", `/users/${encodeURIComponent(userID)}/follow`);
    }

    /** Unfollows a user; posts already in the feed stay. */
    async unfollow(userID) {
        await this.#api("DELETE", `/users/${encodeURIComponent(userID)}/follow`);
    }

    /** Who follows a user, most recent first: `{users, next}`. */
    async followers(userID, { before, limit } = {}) {
        return this.#api("GET", `/users/${encodeURIComponent(userID)}/followers`, undefined, { query: { before, limit } });
    }

    /** Whom a user follows, most recent first: `{users, next}`. */
    async following(userID, { before, limit } = {}) {
        return this.#api("GET", `/users/${encodeURIComponent(userID)}/following`, undefined, { query: { before, limit } });
    }

    /** The posts of the people the user follows and their own, newest first: `{posts, next}`. */
    async feed({ before, limit } = {}) {
        return this.#api("GET", "/feed", undefined, { query: { before, limit } });
    }

    /** Likes a post (once per user); resolves to the like count. */
    async like(postID) {
        const { likes } = await this.#api("PUT", `/posts/${encodeURIComponent(postID)}/like`);
        return likes;
    }

    /** Takes a like back; resolves to the like count. */
    async unlike(postID) {
        const { likes } = await this.#api("DELETE", `/posts/${encodeURIComponent(postID)}/like`);
        return likes;
    }

    /** Comments on a post (1 to 2,048 bytes); resolves to the comment. */
    async comment(postID, text) {
        const { comment } = await this.#api("POST", `/posts/${encodeURIComponent(postID)}/comments`, { text });
        return comment;
    }

    /** A post's comments, newest first: `{comments, next}`. */
    async comments(postID, { before, limit } = {}) {
        return this.#api("GET", `/posts/${encodeURIComponent(postID)}/comments`, undefined, { query: { before, limit } });
    }

    /** Deletes a comment (its author, or the post's author). */
    async deleteComment(postID, commentID) {
        await this.#api("DELETE", `/posts/${encodeURIComponent(postID)}/comments/${encodeURIComponent(commentID)}`);
    }

    // MARK: connection

    /**
     * Opens the WebSocket (auth op, then `resume` from the held positions)
     * and keeps it open: after any disconnect it reconnects with backoff.
     * Resolves once connected the first time.
     */
    connect() {
        if (!this.#accessToken && !this.storage.getItem(this.#key("refresh"))) {
            return Promise.reject(new SwitchboardError("unauthorized", "sign in first"));
        }
        this.#stopped = false;
        if (!this.#running) {
            this.#running = true;
            this.#setState("connecting");
            this.#run().finally(() => { this.#running = false; });
            if (typeof window !== "undefined") {
                window.addEventListener("online", this.#wakeUp);
                document.addEventListener("visibilitychange", this.#wakeUp);
            }
        }
        return this.#waitReady(this.connectTimeout + this.requestTimeout);
    }

    /** Closes the connection for good (no reconnect); the session stays signed in. */
    close() {
        this.#stopped = true;
        clearInterval(this.#pingTimer);
        for (const timer of this.#deliveredTimers.values()) clearTimeout(timer);
        this.#deliveredTimers.clear();
        if (typeof window !== "undefined") {
            window.removeEventListener("online", this.#wakeUp);
            document.removeEventListener("visibilitychange", this.#wakeUp);
        }
        const socket = this.#socket;
        if (socket) {
            try { socket.close(1000, "client closed"); } catch { /* already closing */ }
        }
        this.#failPending(new SwitchboardError("closed", "client closed"));
        for (const waiter of this.#readyWaiters) waiter.reject(new SwitchboardError("closed", "client closed"));
        this.#readyWaiters = [];
        this.#wakeUp();
        if (this.#state !== "idle") this.#setState("closed");
    }

    /** Retries at once when waiting between reconnect attempts. */
    reconnectNow() { this.#wakeUp(); }

    #wakeUp = () => {
        const wake = this.#wake;
        this.#wake = null;
        wake?.();
    };

    async #run() {
        while (!this.#stopped) {
            let closeCode = null;
            let closeReason = "";
            try {
                const token = await this.#freshToken();
                const socket = await this.#open();
                const closed = new Promise((resolve) => {
                    socket.addEventListener("close", (event) => resolve(event), { once: true });
                });
                // Auth and resume go out together; `resume: true` in the auth
                // announces the resume, so the hub holds live events until it
                // starts and merges them into the replay. (Even with no
                // positions: an empty resume ends the hold.)
                const auth = this.#request({ op: "auth", token, resume: true }, { force: true });
                const sentEpochs = { ...this.#epochs };
                const resume = this.#request(
                    { op: "resume", positions: this.#resumePositions(Object.keys(this.#positions)) }, { force: true });
                auth.catch(() => {});
                resume.catch(() => {});
                const { user } = await auth;
                if (user) this.user = { ...this.user, ...user };
                const resumed = await resume;
                for (const id of resumed.denied ?? []) this.#forget(id);
                // Reset, and not started over yet by a replayed message of the new epoch: no message yet.
                for (const id of resumed.reset ?? []) if (this.#epochs[id] === sentEpochs[id]) this.#reset(id, null);
                this.#ready = true;
                this.#attempt = 0;
                this.#setState("connected");
                for (const waiter of this.#readyWaiters) waiter.resolve();
                this.#readyWaiters = [];
                this.#startPinging(socket);
                this.#renewWatches();
                if (this.#status !== "online") this.#request({ op: "status", status: this.#status }).catch(() => {});
                this.#emit("connected", {
                    recovered: resumed.recovered ?? {},
                    complete: resumed.complete !== false,
                    denied: resumed.denied ?? [],
                    reset: resumed.reset ?? [],
                });
                const event = await closed;
                closeCode = event.code;
                closeReason = event.reason;
            } catch (error) {
                // A refused auth op is followed by the hub's close (4001 / 4009).
                const authCodes = { unauthorized: 4001, token_expired: 4009 };
                closeCode = error.closeCode ?? authCodes[error.code] ?? null;
                closeReason = error.message ?? "";
                if (error.code === "unauthorized" && !this.storage.getItem(this.#key("refresh"))) {
                    this.#stopped = true;
                }
            }
            this.#ready = false;
            clearInterval(this.#pingTimer);
            if (this.#socket) {
                try { this.#socket.close(); } catch { /* gone */ }
            }
            this.#socket = null;
            this.#failPending(new SwitchboardError("disconnected", "connection lost"));
            if (this.#stopped) break;
            this.#attempt += 1;
            const delay = Math.min(this.maximumBackoff, this.initialBackoff * 2 ** (this.#attempt - 1)) * (0.8 + Math.random() * 0.4);
            this.#setState("reconnecting");
            this.#emit("disconnected", { code: closeCode, reason: closeReason, attempt: this.#attempt, delay: Math.round(delay) });
            if (closeCode === 4001 || closeCode === 4009) {
                // The token was refused or ran out: a fresh one first (ends the session if refresh fails).
                this.#accessExpiresAt = 0;
                try {
                    await this.refresh();
                } catch (error) {
                    if (error.status === 401) break;
                }
            }
            await new Promise((resolve) => {
                const timer = setTimeout(resolve, delay);
                this.#wake = () => { clearTimeout(timer); resolve(); };
            });
            this.#wake = null;
        }
        this.#ready = false;
    }

    /** Opens a WebSocket; resolves once open, rejects on error, close or timeout. */
    #open() {
        const url = this.baseURL.replace(/^http/, "ws") + "/ws";
        return new Promise((resolve, reject) => {
            let socket;
            try {
                socket = new this.WebSocket(url);
            } catch (error) {
                reject(error);
                return;
            }
            this.#socket = socket;
            const timer = setTimeout(() => {
                socket.close();
                reject(new SwitchboardError("timeout", "connect timed out"));
            }, this.connectTimeout);
            socket.addEventListener("open", () => {
                clearTimeout(timer);
                resolve(socket);
            }, { once: true });
            socket.addEventListener("close", (event) => {
                clearTimeout(timer);
                const error = new SwitchboardError("disconnected", event.reason || "connection closed");
                error.closeCode = event.code;
                reject(error);
            }, { once: true });
            socket.addEventListener("message", (event) => this.#handle(event.data));
        });
    }

    #startPinging(socket) {
        clearInterval(this.#pingTimer);
        this.#pingTimer = setInterval(() => {
            if (socket !== this.#socket || !this.#ready) return;
            // A connection that stopped answering (a dead peer) is closed and reconnected.
            this.#request({ op: "ping" }, { timeout: 10000 }).catch((error) => {
                if (error.code === "timeout" && socket === this.#socket) socket.close(4000, "ping timeout");
            });
        }, this.pingInterval);
    }

    #renewWatches() {
        if (this.#watched.size === 0) return;
        this.#request({ op: "presence.watch", users: [...this.#watched] }).then(({ presence }) => {
            for (const [user, state] of Object.entries(presence ?? {})) {
                this.#emit("presence", { user, status: state.status, lastSeen: state.lastSeen ?? null });
            }
        }).catch(() => {});
    }

    #waitReady(timeout) {
        if (this.#ready) return Promise.resolve();
        if (this.#stopped) return Promise.reject(new SwitchboardError("closed", "client closed"));
        return new Promise((resolve, reject) => {
            const waiter = {
                resolve: () => { clearTimeout(timer); resolve(); },
                reject: (error) => { clearTimeout(timer); reject(error); },
            };
            const timer = setTimeout(() => {
                this.#readyWaiters = this.#readyWaiters.filter((w) => w !== waiter);
                reject(new SwitchboardError("timeout", "not connected in time"));
            }, Math.max(0, timeout));
            this.#readyWaiters.push(waiter);
        });
    }

    /** Sends one command on the socket; resolves to the reply (`ok: true`) or rejects with its error. */
    #request(fields, { force = false, timeout = this.requestTimeout } = {}) {
        const socket = this.#socket;
        if (!socket || socket.readyState !== 1 || (!this.#ready && !force)) {
            return Promise.reject(new SwitchboardError("disconnected", "not connected"));
        }
        const id = ++this.#nextID;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.#pending.delete(id);
                reject(new SwitchboardError("timeout", `no reply to ${fields.op} in time`));
            }, timeout);
            this.#pending.set(id, { resolve, reject, timer });
            try {
                socket.send(JSON.stringify({ id, ...fields }));
            } catch {
                clearTimeout(timer);
                this.#pending.delete(id);
                reject(new SwitchboardError("disconnected", "send failed"));
            }
        });
    }

    #failPending(error) {
        const pending = [...this.#pending.values()];
        this.#pending.clear();
        for (const { reject, timer } of pending) {
            clearTimeout(timer);
            reject(error);
        }
    }

    #handle(data) {
        let object;
        try {
            object = JSON.parse(data);
        } catch {
            return;
        }
        if (object === null || typeof object !== "object") return;
        if (object.re !== undefined) {
            const waiter = this.#pending.get(object.re);
            if (!waiter) return;
            this.#pending.delete(object.re);
            clearTimeout(waiter.timer);
            if (object.ok) {
                waiter.resolve(object);
            } else {
                const error = object.error ?? {};
                waiter.reject(new SwitchboardError(error.code ?? "unknown", error.message ?? "", { retryAfter: error.retryAfter ?? null }));
            }
            return;
        }
        switch (object.ev) {
        case "message":
            if (object.message && this.#observe(object.message, false)) {
                this.#emit("message", object.message);
                this.#noteDelivered(object.message);
            }
            break;
        case "reaction":
            this.#emit("reaction", { conv: object.conv, id: object.id, emoji: object.emoji, user: object.user, on: object.on === true, count: object.count ?? 0 });
            break;
        case "pin":
            this.#emit("pin", { conv: object.conv, id: object.id, on: object.on === true, by: object.by });
            break;
        case "delivered":
            this.#emit("delivered", { conv: object.conv, user: object.user, seq: object.seq });
            break;
        case "message.edited":
        case "message.deleted":
            if (object.message) this.#emit(object.ev, object.message);
            break;
        case "typing":
            this.#emit("typing", { conv: object.conv, user: object.user, active: object.active !== false });
            break;
        case "read":
            this.#emit("read", { conv: object.conv, user: object.user, seq: object.seq });
            break;
        case "presence":
            this.#emit("presence", { user: object.user, status: object.status, lastSeen: object.lastSeen ?? null });
            break;
        case "conversation":
            if (object.change === "removed" && object.conversation) this.#forget(object.conversation.id);
            if (object.change === "added" && object.conversation) this.#catchUp(this.#known(object.conversation));
            this.#emit("conversation", {
                conversation: object.conversation ? this.#applyMembers(object.conversation, object.change, object.members) : object.conversation,
                change: object.change,
                members: object.members,
            });
            break;
        case "notification":
            this.#emit("notification", object.notification);
            break;
        case "post":
            this.#emit("post", object.post);
            break;
        default:
            if (object.ev) this.#emit(object.ev, object);
        }
    }

    /**
     * Tracks the contiguous position of a conversation; false for a message
     * delivered before. Without a known position the first live message sets
     * it; own sends wait past the gap until then (others' earlier messages
     * may still be on the way). Mirrors the Swift SDK's `observe`.
     */
    #observe(message, own) {
        const conv = message.conv;
        if (message.epoch) {
            const held = this.#epochs[conv];
            if (held && held !== message.epoch) this.#reset(conv, message.epoch);
            else if (!held) this.#epochs[conv] = message.epoch;
        }
        let ahead = this.#ahead.get(conv);
        if (ahead?.has(message.seq)) return false;
        if (this.#positions[conv] === undefined) {
            if (own) {
                if (!ahead) this.#ahead.set(conv, (ahead = new Set()));
                ahead.add(message.seq);
                return true;
            }
            this.#positions[conv] = message.seq - 1;
        }
        const position = this.#positions[conv];
        if (message.seq <= position) return false;
        if (message.seq === position + 1) {
            let next = message.seq;
            while (ahead?.delete(next + 1)) next += 1;
            this.#positions[conv] = next;
            if (ahead && ahead.size === 0) this.#ahead.delete(conv);
            this.#savePositions();
        } else {
            if (!ahead) this.#ahead.set(conv, (ahead = new Set()));
            ahead.add(message.seq);
        }
        return true;
    }

    #loadPositions() {
        if (!this.user) return;
        try {
            const stored = JSON.parse(this.storage.getItem(this.#key(`positions:${this.user.id}`)) ?? "{}");
            for (const [conv, seq] of Object.entries(stored)) {
                if (Number.isInteger(seq) && (this.#positions[conv] === undefined || this.#positions[conv] < seq)) {
                    this.#positions[conv] = seq;
                }
            }
            const epochs = JSON.parse(this.storage.getItem(this.#key(`epochs:${this.user.id}`)) ?? "{}");
            for (const [conv, epoch] of Object.entries(epochs)) {
                if (typeof epoch === "string" && this.#positions[conv] !== undefined && !this.#epochs[conv]) this.#epochs[conv] = epoch;
            }
        } catch {
            // Unreadable: start over (resume then starts from the conversation list).
        }
    }

    #savePositions() {
        if (this.#saveQueued || !this.user) return;
        this.#saveQueued = true;
        queueMicrotask(() => {
            this.#saveQueued = false;
            if (!this.user) return;
            try {
                this.storage.setItem(this.#key(`positions:${this.user.id}`), JSON.stringify(this.#positions));
                this.storage.setItem(this.#key(`epochs:${this.user.id}`), JSON.stringify(this.#epochs));
            } catch {
                // Storage full or unavailable: positions stay in memory.
            }
        });
    }
}
