// One message in the conversation view: author, time, the quote it replies
// to, text, attachments, a shared post, "(edited)", its reply count,
// reaction chips (click to toggle), pin, a reply button, and for own
// messages the edit and delete controls (inline forms).
import { h, replace, formatTime } from "./dom.js";
import { sharedPostCard } from "./post-item.js";

/**
 * Builds the <li> of a message. `actions` has edit(message, text),
 * remove(message), react(message, emoji) and pin(message), all returning promises.
 */
export function messageItem(message, store, actions) {
    const own = message.from === store.me;
    const li = h("li", {
        class: `msg${own ? " own" : ""}${message.deleted ? " deleted" : ""}`,
        dataset: { seq: String(message.seq), id: message.id, from: message.from },
    });
    li.message = message;
    fill(li, message, store, actions);
    return li;
}

function fill(li, message, store, actions) {
    const own = message.from === store.me;
    const time = new Date(message.ts);
    const meta = h("div", { class: "msg-meta" },
        h("span", { class: "msg-author" }, own ? "You" : store.name(message.from)),
        " ",
        h("time", { class: "msg-time", datetime: time.toISOString(), title: time.toLocaleString() }, formatTime(message.ts)),
        message.editedAt && !message.deleted ? h("span", { class: "msg-edited" }, " (edited)") : null,
        message.pinned ? h("span", { class: "msg-pinned", title: "Pinned" }, " 📌") : null);
    const text = message.deleted
        ? h("p", { class: "msg-text" }, h("em", {}, "Message deleted"))
        : message.text ? h("p", { class: "msg-text" }, message.text) : null;
    const reply = actions.reply && !message.deleted
        ? h("button", { type: "button", class: "link-button msg-reply", "aria-label": "Reply to message", onclick: () => actions.reply(message) }, "Reply")
        : null;
    const controls = own && !message.deleted
        ? h("div", { class: "msg-actions" }, reply,
            h("button", { type: "button", class: "link-button msg-edit", "aria-label": "Edit message", onclick: () => startEdit(li, message, store, actions) }, "Edit"),
            h("button", { type: "button", class: "link-button msg-delete", "aria-label": "Delete message", onclick: () => confirmDelete(li, message, store, actions) }, "Delete"))
        : reply ? h("div", { class: "msg-actions" }, reply) : null;
    replace(li, meta, quoteOf(message, store), text, attachmentsOf(message, actions), postCard(message, store),
        message.replies ? h("p", { class: "msg-replies" }, message.replies === 1 ? "1 reply" : `${message.replies} replies`) : null,
        message.deleted ? null : reactionRow(message, actions), controls);
}

/** The quote of the message a reply answers. */
function quoteOf(message, store) {
    const quote = message.replyTo;
    if (!quote || message.deleted) return null;
    const body = quote.deleted ? h("em", {}, "Message deleted") : (quote.text || h("em", {}, "Attachment"));
    return h("blockquote", { class: "msg-quote" },
        h("span", { class: "msg-quote-author" }, quote.from === store.me ? "You" : store.name(quote.from)), " ",
        body, quote.edited && !quote.deleted ? h("span", { class: "msg-edited" }, " (edited)") : null);
}

/** Images shown (fetched with the token), other files as download links. */
function attachmentsOf(message, actions) {
    if (!message.attachments?.length || message.deleted) return null;
    return h("div", { class: "msg-attachments" }, ...message.attachments.map((file) => {
        const label = `${file.name} (${formatSize(file.size)})`;
        if (file.type.startsWith("image/")) {
            const img = h("img", { class: "msg-image", alt: file.name, loading: "lazy" });
            actions.download?.(file.id).then((blob) => { img.src = URL.createObjectURL(blob); }).catch(() => { img.alt = `${file.name} (unavailable)`; });
            return img;
        }
        return h("button", {
            type: "button", class: "link-button msg-file", onclick: async () => {
                const blob = await actions.download(file.id);
                const link = h("a", { href: URL.createObjectURL(blob), download: file.name });
                link.click();
                setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
            },
        }, `Download ${label}`);
    }));
}

/** A shared post (`kind: "post"`) as a card, or "Deleted post". */
function postCard(message, store) {
    const post = message.post;
    if (!post || message.deleted) return null;
    return sharedPostCard(post, store);
}

function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const QUICK_EMOJI = ["👍", "❤️", "😂"];

/** The reaction chips (emoji and count; click toggles the user's own), quick reactions and the pin toggle. */
function reactionRow(message, actions) {
    const counts = message.reactions ?? {};
    const chips = Object.entries(counts).map(([emoji, count]) =>
        h("button", {
            type: "button", class: "reaction-chip", dataset: { emoji },
            "aria-label": `${emoji} ${count}, toggle your reaction`,
            onclick: () => actions.react(message, emoji).catch(() => {}),
        }, `${emoji} ${count}`));
    const quick = QUICK_EMOJI.filter((emoji) => !counts[emoji]).map((emoji) =>
        h("button", {
            type: "button", class: "link-button reaction-add", dataset: { emoji }, "aria-label": `React with ${emoji}`,
            onclick: () => actions.react(message, emoji).catch(() => {}),
        }, emoji));
    const pin = h("button", {
        type: "button", class: "link-button msg-pin", "aria-label": message.pinned ? "Unpin message" : "Pin message",
        onclick: () => actions.pin(message).catch((failure) => { pin.textContent = failure.message; }),
    }, message.pinned ? "Unpin" : "Pin");
    return h("div", { class: "msg-reactions" }, ...chips, ...quick, pin);
}

function startEdit(li, message, store, actions) {
    li.classList.add("editing");
    const input = h("textarea", { class: "edit-input", "aria-label": "Edit message", rows: 2, maxlength: 4096, value: message.text });
    const error = h("p", { class: "form-error", role: "alert" });
    const cancel = () => {
        li.classList.remove("editing");
        fill(li, li.message, store, actions);
        li.querySelector(".msg-edit")?.focus();
    };
    const form = h("form", { class: "edit-form" },
        input,
        h("div", { class: "edit-buttons" },
            h("button", { type: "submit", class: "primary small" }, "Save"),
            h("button", { type: "button", class: "small", onclick: cancel }, "Cancel")),
        error);
    form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        try {
            const edited = await actions.edit(message, text);
            li.message = edited;
            li.classList.remove("editing");
            fill(li, edited, store, actions);
            li.querySelector(".msg-edit")?.focus();
        } catch (failure) {
            error.textContent = failure.message;
        }
    });
    input.addEventListener("keydown", (event) => {
        if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); cancel(); }
        if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
    replace(li, li.firstChild, form);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
}

function confirmDelete(li, message, store, actions) {
    li.classList.add("editing");
    const cancel = () => {
        li.classList.remove("editing");
        fill(li, li.message, store, actions);
        li.querySelector(".msg-delete")?.focus();
    };
    const yes = h("button", {
        type: "button", class: "danger small msg-confirm-delete",
        onclick: async () => {
            try {
                const deleted = await actions.remove(message);
                li.message = deleted;
                li.classList.remove("editing");
                li.classList.add("deleted");
                fill(li, deleted, store, actions);
            } catch (failure) {
                question.textContent = failure.message;
            }
        },
    }, "Delete");
    const question = h("span", {}, "Delete this message? ");
    replace(li, li.firstChild, li.querySelector(".msg-text"),
        h("div", { class: "msg-actions confirm", role: "group", "aria-label": "Confirm delete" },
            question, yes, h("button", { type: "button", class: "small", onclick: cancel }, "Cancel")));
    yes.focus();
}

/** Re-renders an existing item for a changed message (unless the user is editing it). */
export function updateItem(li, message, store, actions) {
    li.message = message;
    li.classList.toggle("deleted", !!message.deleted);
    if (li.classList.contains("editing") && !message.deleted) return;
    li.classList.remove("editing");
    fill(li, message, store, actions);
}
