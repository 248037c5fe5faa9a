// "Share to chat": pick a conversation, optionally add a line, send. The
// message carries the post (`send {conv, text, post}`) and shows as a post card.
import { h, replace, openDialog, dialogShell } from "./dom.js";

export function sharePostDialog(store, post, onOpenChat) {
    const { dialog, body } = dialogShell("Share to chat", "share-dialog");
    const note = h("input", { id: "share-text", autocomplete: "off", maxlength: 4096, placeholder: "Add a message (optional)" });
    const list = h("ul", { class: "result-list", id: "share-list", "aria-label": "Conversations" });
    const error = h("p", { class: "form-error", role: "alert" });
    const preview = post.text.length > 140 ? `${post.text.slice(0, 140)}…` : post.text;
    const share = async (conversation) => {
        error.textContent = "";
        try {
            const message = await store.client.send(conversation.id, note.value.trim(), { post: post.id });
            store.add(message);
            store.changed("list");
            if (!message.post) {
                // A hub without post sharing ignores `post`: say so instead of pretending.
                error.textContent = "This server does not support sharing posts yet: only the text was sent.";
                return;
            }
            dialog.close();
            onOpenChat(conversation.id);
        } catch (failure) {
            error.textContent = failure.message;
        }
    };
    const conversations = store.ordered();
    replace(list, conversations.length === 0 ? h("li", { class: "hint" }, "No conversations yet.") : conversations.map((c) =>
        h("li", {}, h("button", { type: "button", class: "result-button", dataset: { conv: c.id }, onclick: () => share(c) }, store.title(c)))));
    body.append(h("blockquote", { class: "share-preview" }, preview),
        h("div", { class: "field" }, h("label", { for: "share-text" }, "Message"), note),
        h("p", { class: "hint" }, "Send to:"), list, error);
    return openDialog(dialog);
}
