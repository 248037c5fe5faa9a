// Dialogs about people: start a direct chat from user search, create a
// group, and manage a group's or room's members and roles.
import { h, replace, openDialog, dialogShell, initials } from "./dom.js";

/** A search field with a result list; `onPick(user)` runs when a result is chosen. */
export function userSearch(store, { id, label, onPick, exclude = () => false }) {
    const input = h("input", { id, type: "search", autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
    const results = h("ul", { class: "result-list", id: `${id}-results`, "aria-label": "Matching users" });
    const status = h("p", { class: "hint", "aria-live": "polite" });
    let generation = 0;
    let timer = null;
    const search = async () => {
        const query = input.value.trim();
        const mine = ++generation;
        if (!query) { replace(results); status.textContent = ""; return; }
        try {
            const users = (await store.client.searchUsers(query, { limit: 20 })).filter((u) => u.id !== store.me && !exclude(u));
            if (mine !== generation) return;
            for (const user of users) store.remember(user);
            status.textContent = users.length ? `${users.length} found` : "No one found";
            replace(results, users.map((user) => h("li", {},
                h("button", { type: "button", class: "result-button", dataset: { user: user.id, username: user.username }, onclick: () => onPick(user) },
                    h("span", { class: "avatar small", "aria-hidden": "true" }, initials(user.displayName || user.username)),
                    h("span", {}, h("strong", {}, user.displayName || user.username), " ", h("span", { class: "hint" }, `@${user.username}`))))));
        } catch (failure) {
            if (mine === generation) status.textContent = failure.message;
        }
    };
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 150); });
    return { field: h("div", { class: "field" }, h("label", { for: id }, label), input, status), results, input };
}

/** "New chat": search a user, open the direct conversation with them. */
export function newChatDialog(store, onOpen) {
    const { dialog, body } = dialogShell("New chat", "new-chat-dialog");
    const error = h("p", { class: "form-error", role: "alert" });
    const search = userSearch(store, {
        id: "user-search", label: "Search people by username",
        onPick: async (user) => {
            try {
                const conversation = await store.client.createDirect(user.id);
                store.merge(conversation);
                store.changed("list");
                dialog.close();
                onOpen(conversation.id);
            } catch (failure) {
                error.textContent = failure.message;
            }
        },
    });
    body.append(search.field, search.results, error);
    return openDialog(dialog);
}

/** "New group": a name and members picked from search. */
export function newGroupDialog(store, onOpen) {
    const { dialog, body } = dialogShell("New group", "new-group-dialog");
    const picked = new Map();
    const chips = h("ul", { class: "chips", "aria-label": "Members to add" });
    const renderChips = () => replace(chips, [...picked.values()].map((user) => h("li", { class: "chip" },
        user.displayName || user.username,
        h("button", { type: "button", class: "icon-button", "aria-label": `Remove ${user.username}`, onclick: () => { picked.delete(user.id); renderChips(); } }, "×"))));
    const name = h("input", { id: "group-name", required: true, maxlength: 100 });
    const error = h("p", { class: "form-error", role: "alert" });
    const search = userSearch(store, {
        id: "group-user-search", label: "Add people",
        exclude: (u) => picked.has(u.id),
        onPick: (user) => { picked.set(user.id, user); renderChips(); search.input.value = ""; replace(search.results); search.input.focus(); },
    });
    const form = h("form", { class: "stack" },
        h("div", { class: "field" }, h("label", { for: "group-name" }, "Group name"), name),
        search.field, search.results, chips, error,
        h("button", { type: "submit", class: "primary", id: "create-group" }, "Create group"));
    form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
            const conversation = await store.client.createGroup(name.value.trim(), [...picked.keys()]);
            store.merge(conversation);
            store.changed("list");
            dialog.close();
            onOpen(conversation.id);
        } catch (failure) {
            error.textContent = failure.message;
        }
    });
    body.append(form);
    return openDialog(dialog);
}

/** Members of a group or room: roles, add (admins), remove (admins), change roles (owner), leave. */
export function membersDialog(store, convID, onLeft) {
    const { dialog, body } = dialogShell("Members", "members-dialog");
    const list = h("ul", { class: "member-list", id: "member-list" });
    const error = h("p", { class: "form-error", role: "alert" });
    const adminArea = h("div", {});
    const run = async (work) => {
        error.textContent = "";
        try {
            await work();
            await store.loadMembers(convID);
            render();
        } catch (failure) {
            error.textContent = failure.message;
        }
    };
    let shown = null;
    const render = () => {
        const conversation = store.conversations.get(convID);
        // Re-render only when something shown changed (a menu in use stays open).
        const signature = JSON.stringify((conversation?.members ?? []).map((m) => [m.id, m.role, store.name(m.id)]));
        if (signature === shown) return;
        shown = signature;
        const mine = store.myRole(conversation);
        const isAdmin = mine === "owner" || mine === "admin";
        replace(list, (conversation?.members ?? []).map((member) => {
            const name = store.name(member.id);
            const controls = [];
            if (mine === "owner" && member.id !== store.me) {
                const select = h("select", { "aria-label": `Role of ${name}`, class: "role-select" },
                    ["member", "admin", "owner"].map((role) => h("option", { value: role, selected: member.role === role }, role)));
                select.addEventListener("change", () => run(() => store.client.setRole(convID, member.id, select.value)));
                controls.push(select);
            } else {
                controls.push(h("span", { class: "role" }, member.role));
            }
            if (isAdmin && member.id !== store.me && conversation.kind === "group") {
                controls.push(h("button", { type: "button", class: "small danger", "aria-label": `Remove ${name}`,
                    onclick: () => run(() => store.client.removeMember(convID, member.id)) }, "Remove"));
            }
            return h("li", { class: "member", dataset: { user: member.id } },
                h("span", { class: "member-name" }, name, member.id === store.me ? " (you)" : ""), h("span", { class: "member-controls" }, controls));
        }));
        replace(adminArea);
        if (isAdmin && conversation.kind === "group") {
            const search = userSearch(store, {
                id: "member-search", label: "Add people",
                exclude: (u) => conversation.members?.some((m) => m.id === u.id),
                onPick: (user) => run(() => store.client.addMembers(convID, [user.id])),
            });
            adminArea.append(search.field, search.results);
        }
    };
    const leave = h("button", { type: "button", class: "danger", id: "leave-button", onclick: async () => {
        try {
            await store.client.leave(convID);
            store.forget(convID);
            dialog.close();
            onLeft(convID);
        } catch (failure) {
            error.textContent = failure.message;
        }
    } }, "Leave conversation");
    body.append(list, adminArea, error, h("div", { class: "dialog-footer" }, leave));
    const refresh = (e) => { if (["members", "users"].includes(e.detail.kind)) render(); };
    store.addEventListener("change", refresh);
    dialog.addEventListener("close", () => store.removeEventListener("change", refresh));
    render();
    store.loadMembers(convID).then(render).catch(() => {});
    return openDialog(dialog);
}
