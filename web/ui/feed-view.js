// The Feed tab: a composer (text with its byte count), the feed newest
// first with "Load more" (cursor paging), new posts of followed people as
// they come (the `post` event), people search and profiles with
// follow/unfollow, and "Share to chat".
import { h, replace, announce, initials } from "./dom.js";
import { userSearch } from "./people-dialogs.js";
import { postItem, fillPost } from "./post-item.js";
import { sharePostDialog } from "./share-dialog.js";

export const POST_BYTES = 4096;
const PAGE = 20;

export class FeedView {
    constructor(store, client, { onOpenChat }) {
        this.store = store;
        this.client = client;
        /** Post ids the user liked in this session (the hub does not say which ones it liked before). */
        this.liked = new Set();
        /** Ids of the users the user follows. */
        this.following = new Set();
        this.context = {
            store, client, liked: this.liked,
            onAuthor: (id) => { location.hash = `#/feed/u/${encodeURIComponent(id)}`; },
            onShare: (post) => sharePostDialog(store, post, onOpenChat),
            onDeleted: (post) => this.removePost(post.id),
        };

        this.input = h("textarea", { id: "post-input", rows: 3, placeholder: "What’s new?", "aria-describedby": "post-bytes" });
        this.bytes = h("span", { id: "post-bytes", class: "hint post-bytes" }, `0 / ${POST_BYTES} bytes`);
        this.postButton = h("button", { type: "submit", class: "primary", id: "post-submit", disabled: true }, "Post");
        this.composerError = h("p", { class: "form-error", role: "alert" });
        this.composer = h("form", { id: "post-composer", class: "post-composer" },
            h("label", { for: "post-input", class: "visually-hidden" }, "New post"),
            this.input,
            h("div", { class: "post-composer-bar" }, this.bytes, this.postButton),
            this.composerError);
        this.composer.addEventListener("submit", (event) => { event.preventDefault(); this.publish(); });
        this.input.addEventListener("input", () => this.countBytes());
        this.input.addEventListener("keydown", (event) => {
            if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); this.composer.requestSubmit(); }
        });

        const search = userSearch(store, {
            id: "people-search", label: "Find people",
            onPick: (user) => {
                search.input.value = "";
                search.input.dispatchEvent(new Event("input"));  // clears the results
                this.context.onAuthor(user.id);
            },
        });
        this.profile = h("section", { id: "profile-panel", class: "profile-panel", hidden: true, "aria-label": "Profile" });
        this.list = h("ol", { id: "feed-list", class: "post-list", "aria-label": "Feed" });
        this.more = h("button", { type: "button", id: "feed-more", class: "small", hidden: true, onclick: () => this.loadMore() }, "Load more");
        this.status = h("p", { id: "feed-status", class: "empty-hint" });
        this.feedArea = h("div", { class: "feed-area" }, this.composer, this.list, h("div", { class: "older-bar" }, this.more), this.status);
        this.element = h("section", { id: "feed", class: "feed", "aria-labelledby": "feed-title", hidden: true },
            h("div", { class: "feed-column" },
                h("header", { class: "feed-header" }, h("h2", { id: "feed-title" }, "Feed"),
                    h("div", { class: "people-search" }, search.field, search.results)),
                this.profile, this.feedArea));

        /** id → post, and the feed's ids newest first. */
        this.posts = new Map();
        this.order = [];
        this.items = new Map();
        this.next = null;
        this.loaded = false;
        client.addEventListener("post", (e) => this.onLivePost(e.detail));
        store.addEventListener("change", (e) => { if (e.detail.kind === "users") this.refreshNames(); });
    }

    /** Shows the feed (`profileID` null) or a user's profile. */
    async show(profileID) {
        this.element.hidden = false;
        this.profileID = profileID;
        this.profile.hidden = !profileID;
        this.feedArea.hidden = !!profileID;
        if (profileID) {
            await this.showProfile(profileID);
        } else if (!this.loaded) {
            this.loaded = true;
            await Promise.all([this.loadFollowing(), this.loadFirst()]);
        }
    }

    hide() { this.element.hidden = true; }

    countBytes() {
        const count = new TextEncoder().encode(this.input.value).length;
        this.bytes.textContent = `${count} / ${POST_BYTES} bytes`;
        const over = count > POST_BYTES;
        this.bytes.classList.toggle("over", over);
        this.postButton.disabled = over || !this.input.value.trim();
        return count;
    }

    async publish() {
        const text = this.input.value;
        if (!text.trim() || this.countBytes() > POST_BYTES) return;
        this.postButton.disabled = true;
        this.composerError.textContent = "";
        try {
            const post = await this.client.createPost(text);
            this.input.value = "";
            this.countBytes();
            this.addPost(post, { top: true });
        } catch (failure) {
            this.composerError.textContent = failure.message;
            this.countBytes();
        }
    }

    // MARK: the feed

    async loadFirst() {
        try {
            const page = await this.client.feed({ limit: PAGE });
            for (const post of page.posts) this.addPost(post);
            this.next = page.next;
        } catch (failure) {
            this.status.textContent = `Could not load the feed: ${failure.message}`;
            this.loaded = false;
            return;
        }
        this.renderStatus();
    }

    async loadMore() {
        if (!this.next || this.loadingMore) return;
        this.loadingMore = true;
        this.more.textContent = "Loading…";
        try {
            const page = await this.client.feed({ before: this.next, limit: PAGE });
            for (const post of page.posts) this.addPost(post);
            this.next = page.next;
            announce(`${page.posts.length} older posts`);
        } catch (failure) {
            this.status.textContent = failure.message;
        } finally {
            this.loadingMore = false;
            this.more.textContent = "Load more";
            this.renderStatus();
        }
    }

    renderStatus() {
        this.more.hidden = !this.next;
        this.status.textContent = this.order.length ? "" : "No posts yet. Write one, or follow people to see theirs.";
    }

    onLivePost(post) {
        if (!post?.id || this.posts.has(post.id) || !this.loaded) return;
        this.addPost(post, { top: true });
        announce(`New post from ${this.store.name(post.author)}`);
    }

    /** Puts a post in the feed: on top (new ones) or at the end (older pages); once each. */
    addPost(post, { top = false } = {}) {
        this.store.name(post.author);  // starts fetching the author's name
        if (this.posts.has(post.id)) {
            this.posts.set(post.id, post);
            fillPost(this.items.get(post.id), post, this.context);
            return;
        }
        this.posts.set(post.id, post);
        const li = postItem(post, this.context);
        this.items.set(post.id, li);
        if (top) {
            // Newest first by createdAt: a live post older than the top one goes below it.
            let index = this.order.findIndex((id) => (this.posts.get(id)?.createdAt ?? 0) < post.createdAt);
            if (index < 0) index = this.order.length;
            this.order.splice(index, 0, post.id);
            this.list.insertBefore(li, this.items.get(this.order[index + 1]) ?? null);
        } else {
            this.order.push(post.id);
            this.list.append(li);
        }
        this.renderStatus();
    }

    removePost(id) {
        this.items.get(id)?.remove();
        this.items.delete(id);
        this.posts.delete(id);
        this.order = this.order.filter((other) => other !== id);
        for (const li of this.profile.querySelectorAll(`li.post[data-post="${CSS.escape(id)}"]`)) li.remove();
        this.renderStatus();
        announce("Post deleted");
    }

    refreshNames() {
        for (const li of this.element.querySelectorAll("li.post")) {
            const author = li.querySelector(".post-author");
            if (author && li.post.author !== this.store.me) author.textContent = this.store.name(li.post.author);
        }
    }

    // MARK: profiles and follows

    async loadFollowing() {
        let before;
        for (let pages = 0; pages < 20; pages += 1) {
            const page = await this.client.following(this.store.me, { before, limit: 100 }).catch(() => null);
            if (!page) return;
            for (const user of page.users) { this.following.add(user.id); this.store.remember(user); }
            if (!page.next) return;
            before = page.next;
        }
    }

    async showProfile(id) {
        replace(this.profile, h("p", { class: "hint" }, "Loading…"));
        let user;
        try {
            if (!this.loaded) { this.loaded = true; await Promise.all([this.loadFollowing(), this.loadFirst()]); }
            ({ user } = await this.client.getUser(id));
        } catch (failure) {
            replace(this.profile, h("p", { class: "form-error", role: "alert" }, failure.message));
            return;
        }
        if (this.profileID !== id) return;
        this.store.remember(user);
        const own = id === this.store.me;
        const followers = h("span", { id: "profile-followers" }, String(user.followers ?? 0));
        const error = h("p", { class: "form-error", role: "alert" });
        const button = own ? null : h("button", { type: "button", id: "follow-button", class: "primary" });
        const renderButton = () => {
            if (!button) return;
            const following = this.following.has(id);
            button.textContent = following ? "Unfollow" : "Follow";
            button.className = following ? "" : "primary";
            button.setAttribute("aria-pressed", following ? "true" : "false");
        };
        button?.addEventListener("click", async () => {
            const follow = !this.following.has(id);
            error.textContent = "";
            try {
                if (follow) await this.client.follow(id); else await this.client.unfollow(id);
                if (follow) this.following.add(id); else this.following.delete(id);
                followers.textContent = String(Math.max(0, Number(followers.textContent) + (follow ? 1 : -1)));
                renderButton();
                announce(follow ? `Following ${user.displayName || user.username}` : `Unfollowed ${user.displayName || user.username}`);
            } catch (failure) {
                error.textContent = failure.message;
            }
        });
        renderButton();
        const posts = h("ol", { id: "profile-posts", class: "post-list", "aria-label": "Posts" });
        replace(this.profile,
            h("div", { class: "profile-head" },
                h("button", { type: "button", class: "small", id: "profile-back", onclick: () => { location.hash = "#/feed"; } }, "‹ Feed"),
                h("span", { class: "avatar", "aria-hidden": "true" }, initials(user.displayName || user.username)),
                h("div", { class: "profile-names" },
                    h("h3", { id: "profile-name" }, user.displayName || user.username),
                    h("p", { class: "hint" }, `@${user.username}`),
                    h("p", { class: "profile-counts" }, followers, " followers · ", String(user.following ?? 0), " following")),
                button),
            user.bio ? h("p", { class: "profile-bio" }, user.bio) : null,
            error, posts);
        try {
            const page = await this.client.userPosts(id, { limit: PAGE });
            for (const post of page.posts) posts.append(postItem(post, this.context));
            if (page.posts.length === 0) posts.append(h("li", { class: "hint" }, "No posts yet."));
        } catch (failure) {
            error.textContent = failure.message;
        }
    }
}
