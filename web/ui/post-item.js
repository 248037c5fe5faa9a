// One post in the feed (or on a profile): author, time, text, the like
// toggle with its count, comments (list, add, delete own) and "Share to
// chat"; the author also gets Delete.
import { h, replace, formatTime, initials } from "./dom.js";

/**
 * Builds the <li> of a post. `context` has store, client, liked (a Set of
 * post ids the user liked here), onAuthor(userID), onShare(post),
 * onDeleted(post).
 */
export function postItem(post, context) {
    const li = h("li", { class: "post", dataset: { post: post.id, author: post.author } });
    li.post = post;
    li.head = h("div", { class: "post-head" });
    li.text = h("p", { class: "post-text" });
    li.actions = h("div", { class: "post-actions" });
    li.comments = null;
    li.append(li.head, li.text, li.actions);
    fillPost(li, post, context);
    return li;
}

/** Re-renders the parts of a post card that change (the comment section stays open). */
export function fillPost(li, post, context) {
    const { store, liked } = context;
    li.post = post;
    const own = post.author === store.me;
    const time = new Date(post.createdAt);
    replace(li.head,
        h("span", { class: "avatar small", "aria-hidden": "true" }, initials(store.name(post.author))),
        h("button", { type: "button", class: "link-button post-author", onclick: () => context.onAuthor(post.author) },
            own ? "You" : store.name(post.author)),
        " ",
        h("time", { class: "post-time hint", datetime: time.toISOString(), title: time.toLocaleString() }, formatTime(post.createdAt)),
        post.editedAt ? h("span", { class: "hint" }, " (edited)") : null);
    li.text.textContent = post.text;
    const isLiked = liked.has(post.id);
    const likeButton = h("button", {
        type: "button", class: `small like-button${isLiked ? " liked" : ""}`, "aria-pressed": isLiked ? "true" : "false",
        "aria-label": `${isLiked ? "Unlike" : "Like"} (${post.likes} like${post.likes === 1 ? "" : "s"})`,
        onclick: () => toggleLike(li, context),
    }, isLiked ? "♥ " : "♡ ", h("span", { class: "like-count" }, String(post.likes)));
    const commentButton = h("button", {
        type: "button", class: "small comment-toggle", "aria-expanded": li.comments ? "true" : "false",
        onclick: () => toggleComments(li, context),
    }, "Comments ", h("span", { class: "comment-count" }, String(post.comments)));
    const shareButton = h("button", { type: "button", class: "small share-button", onclick: () => context.onShare(li.post) }, "Share to chat");
    const deleteButton = own
        ? h("button", { type: "button", class: "small danger post-delete", onclick: () => confirmDelete(li, context) }, "Delete")
        : null;
    replace(li.actions, likeButton, commentButton, shareButton, deleteButton);
}

async function toggleLike(li, context) {
    const { client, liked } = context;
    const post = li.post;
    const like = !liked.has(post.id);
    try {
        const likes = like ? await client.like(post.id) : await client.unlike(post.id);
        if (like) liked.add(post.id); else liked.delete(post.id);
        fillPost(li, { ...li.post, likes }, context);
    } catch (failure) {
        showError(li, failure);
    }
    li.querySelector(".like-button")?.focus();
}

function showError(li, failure) {
    let error = li.querySelector(":scope > .form-error");
    if (!error) {
        error = h("p", { class: "form-error", role: "alert" });
        li.append(error);
    }
    error.textContent = failure.code === "not_found" ? "This post was deleted." : failure.message;
}

function confirmDelete(li, context) {
    const question = h("div", { class: "post-actions confirm", role: "group", "aria-label": "Confirm delete" },
        h("span", {}, "Delete this post? "),
        h("button", {
            type: "button", class: "danger small post-confirm-delete", onclick: async () => {
                try {
                    await context.client.deletePost(li.post.id);
                    context.onDeleted(li.post);
                } catch (failure) {
                    showError(li, failure);
                }
            },
        }, "Delete"),
        h("button", { type: "button", class: "small", onclick: () => { question.remove(); li.querySelector(".post-delete")?.focus(); } }, "Cancel"));
    li.actions.after(question);
    question.querySelector(".post-confirm-delete").focus();
}

// MARK: comments

function toggleComments(li, context) {
    if (li.comments) {
        li.comments.remove();
        li.comments = null;
        fillPost(li, li.post, context);
        return;
    }
    const list = h("ul", { class: "comment-list", "aria-label": "Comments" });
    const more = h("button", { type: "button", class: "small comment-more", hidden: true }, "Older comments");
    const input = h("input", { class: "comment-input", "aria-label": "Write a comment", placeholder: "Write a comment…", autocomplete: "off" });
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "comment-form" }, input, h("button", { type: "submit", class: "small primary comment-submit" }, "Comment"));
    const section = h("div", { class: "comments" }, list, more, form, error);
    li.comments = section;
    li.append(section);
    fillPost(li, li.post, context);
    let next = null;
    const load = async (before) => {
        try {
            const page = await context.client.comments(li.post.id, { before, limit: 20 });
            for (const comment of page.comments) list.append(commentItem(comment, li, context));
            next = page.next;
            more.hidden = !next;
        } catch (failure) {
            error.textContent = failure.message;
        }
    };
    more.addEventListener("click", () => load(next));
    form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        error.textContent = "";
        try {
            const comment = await context.client.comment(li.post.id, text);
            input.value = "";
            list.prepend(commentItem(comment, li, context));
            fillPost(li, { ...li.post, comments: li.post.comments + 1 }, context);
        } catch (failure) {
            error.textContent = failure.message;
        }
    });
    input.focus();
    load();
}

function commentItem(comment, li, context) {
    const { store, client } = context;
    const mayDelete = comment.from === store.me || li.post.author === store.me;
    const item = h("li", { class: "comment", dataset: { comment: comment.id, from: comment.from } },
        h("strong", { class: "comment-author" }, comment.from === store.me ? "You" : store.name(comment.from)),
        " ", h("span", { class: "comment-text" }, comment.text),
        " ", h("time", { class: "hint" }, formatTime(comment.ts)),
        mayDelete ? h("button", {
            type: "button", class: "link-button comment-delete", "aria-label": "Delete comment", onclick: async () => {
                try {
                    await client.deleteComment(li.post.id, comment.id);
                    item.remove();
                    fillPost(li, { ...li.post, comments: Math.max(0, li.post.comments - 1) }, context);
                } catch (failure) {
                    showError(li, failure);
                }
            },
        }, "Delete") : null);
    return item;
}

/** A shared post inside a chat message (`kind: "post"`): the snapshot, or "deleted post". */
export function sharedPostCard(snapshot, store) {
    if (snapshot.deleted) {
        return h("div", { class: "shared-post deleted", dataset: { post: snapshot.id } }, h("em", {}, "Deleted post"));
    }
    return h("div", { class: "shared-post", dataset: { post: snapshot.id } },
        h("div", { class: "shared-post-head" },
            h("strong", {}, snapshot.author === store.me ? "You" : store.name(snapshot.author)),
            " ", h("span", { class: "hint" }, `posted ${formatTime(snapshot.createdAt)}`)),
        h("p", { class: "shared-post-text" }, snapshot.text));
}
