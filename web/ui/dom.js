// Small DOM helpers. Text always goes in as text nodes (never innerHTML),
// so user content cannot inject markup.

/**
 * Creates an element: h("button", {class: "x", onclick: fn, "aria-label": "…"}, "text", child…).
 * Attributes whose value is null, undefined or false are skipped; `true` sets an empty attribute.
 */
export function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes ?? {})) {
        if (value === null || value === undefined || value === false) continue;
        if (name.startsWith("on") && typeof value === "function") {
            element.addEventListener(name.slice(2), value);
        } else if (name === "dataset") {
            Object.assign(element.dataset, value);
        } else if (name === "value" || name === "checked" || name === "hidden" || name === "disabled") {
            element[name] = value;
        } else {
            element.setAttribute(name, value === true ? "" : String(value));
        }
    }
    append(element, children);
    return element;
}

function append(element, children) {
    for (const child of children.flat(Infinity)) {
        if (child === null || child === undefined || child === false) continue;
        element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
}

/** Replaces an element's children. */
export function replace(element, ...children) {
    element.replaceChildren();
    append(element, children);
    return element;
}

/** "14:05" today, "Mon 14:05" this week, else "3 Dec". */
export function formatTime(ms) {
    if (!ms) return "";
    const date = new Date(ms);
    const now = new Date();
    const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (date.toDateString() === now.toDateString()) return time;
    if (now - date < 6 * 86400000) return `${date.toLocaleDateString([], { weekday: "short" })} ${time}`;
    return date.toLocaleDateString([], { day: "numeric", month: "short" });
}

/** Says something to screen readers through the page's polite live region. */
export function announce(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    // A fresh text node in a later frame is what makes readers speak it again.
    requestAnimationFrame(() => { region.textContent = text; });
}

/** The first letter(s) of a name, for avatars. */
export function initials(name) {
    const parts = String(name || "?").trim().split(/\s+/);
    return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

/** Opens a <dialog> as a modal and focuses its first field. */
export function openDialog(dialog) {
    document.body.append(dialog);
    dialog.addEventListener("close", () => dialog.remove(), { once: true });
    dialog.showModal();
    const first = dialog.querySelector("input, select, textarea, button:not(.dialog-close)");
    first?.focus();
    return dialog;
}

/** A modal dialog shell: a title, a close button and a body. */
export function dialogShell(title, id) {
    const body = h("div", { class: "dialog-body" });
    const titleID = `${id}-title`;
    const dialog = h("dialog", { id, class: "panel", "aria-labelledby": titleID },
        h("header", { class: "dialog-header" },
            h("h2", { id: titleID }, title),
            h("button", { type: "button", class: "dialog-close icon-button", "aria-label": "Close", onclick: () => dialog.close() }, "×")),
        body);
    return { dialog, body };
}
