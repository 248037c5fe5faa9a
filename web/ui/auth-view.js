// The sign-in screen: log in, or create an account.
import { h, replace } from "./dom.js";

/**
 * Renders the form into `root`; `onSignedIn(user)` runs after a successful
 * login or registration.
 */
export function renderAuth(root, client, onSignedIn) {
    let mode = "login";
    const error = h("p", { id: "auth-error", class: "form-error", role: "alert" });
    const username = h("input", {
        id: "username", name: "username", autocomplete: "username", required: true,
        minlength: 3, maxlength: 32, pattern: "[A-Za-z0-9_.\\-]+", autocapitalize: "none", spellcheck: "false",
    });
    const password = h("input", {
        id: "password", name: "password", type: "password", required: true, minlength: 8, autocomplete: "current-password",
    });
    const displayName = h("input", { id: "display-name", name: "displayName", autocomplete: "nickname", maxlength: 64 });
    const displayRow = h("div", { class: "field", hidden: true },
        h("label", { for: "display-name" }, "Display name ", h("span", { class: "hint" }, "(optional)")),
        displayName);
    const submit = h("button", { type: "submit", id: "auth-submit", class: "primary" }, "Log in");
    const title = h("h1", { id: "auth-title" }, "Log in to Switchboard");
    const toggleText = h("span", {}, "No account yet?");
    const toggle = h("button", { type: "button", id: "auth-toggle", class: "link-button" }, "Create one");

    const setMode = (next) => {
        mode = next;
        const registering = mode === "register";
        title.textContent = registering ? "Create your account" : "Log in to Switchboard";
        submit.textContent = registering ? "Create account" : "Log in";
        toggleText.textContent = registering ? "Have an account?" : "No account yet?";
        toggle.textContent = registering ? "Log in" : "Create one";
        displayRow.hidden = !registering;
        password.autocomplete = registering ? "new-password" : "current-password";
        error.textContent = "";
        username.focus();
    };
    toggle.addEventListener("click", () => setMode(mode === "login" ? "register" : "login"));

    const form = h("form", { id: "auth-form", class: "auth-form", "aria-labelledby": "auth-title" },
        title,
        h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username,
            h("p", { class: "hint" }, "3–32 letters, digits, _ . -")),
        h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password,
            h("p", { class: "hint" }, "At least 8 characters")),
        displayRow,
        error,
        submit,
        h("p", { class: "auth-switch" }, toggleText, " ", toggle));

    form.addEventListener("submit", async (event) => {
        event.preventDefault();
        error.textContent = "";
        submit.disabled = true;
        try {
            const user = mode === "register"
                ? await client.register(username.value.trim(), password.value, displayName.value.trim() || undefined)
                : await client.login(username.value.trim(), password.value);
            onSignedIn(user);
        } catch (failure) {
            error.textContent = describe(failure);
            password.select();
        } finally {
            submit.disabled = false;
        }
    });

    replace(root, h("main", { class: "auth-screen" },
        h("div", { class: "auth-card" }, h("p", { class: "brand", "aria-hidden": "true" }, "☎ Switchboard"), form)));
    username.focus();
}

function describe(error) {
    switch (error.code) {
    case "username_taken": return "That username is taken.";
    case "unauthorized": return "Wrong username or password.";
    case "rate_limited": return `Too many attempts; try again in ${error.retryAfter ?? 60} s.`;
    case "unavailable": return "The server cannot be reached right now.";
    default: return error.message || "Something went wrong.";
    }
}
