// CivicPulse sandbox chat page. Plain JS, no build step: it long-polls the sandbox's client API
// (/sandbox/wait) and renders one simulated user's private chat with the bot.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  users: new Map(),      // id -> user view
  userId: null,          // the open chat
  lastSeq: 0,            // cursor in the open chat's event log
  messages: new Map(),   // message_id -> row element
  unread: new Map(),     // user id -> count of bot messages not yet seen
  globalSeq: 0,          // cursor for "anything new in any chat"
  pollToken: 0,          // bumps when the open chat changes, ending the old poll loop
  info: null,
  reconnecting: false,   // the sandbox stopped answering; a loop is trying to reach it again
  emptyHint: null,       // the open chat's "no messages yet" line, while it has none
};

// --- HTTP -------------------------------------------------------------------------------------

// Errors carry what the page needs to react: `unreachable` (the sandbox is down or restarting:
// reconnect) and the server's `code` (e.g. "unknown_user": create the user again). Their
// messages are shown to people as they are, so they say what happened and what to do.
class SandboxError extends Error {
  constructor(message, { status = 0, code = null, unreachable = false } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.unreachable = unreachable;
  }
}

const UNREACHABLE = "The sandbox is not answering; it may be restarting. " +
  "This page reconnects by itself.";

async function request(path, options) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new SandboxError(UNREACHABLE, { unreachable: true });
  }
  const data = await response.json().catch(() => null);
  if (response.ok && data !== null) return data;
  if (data && data.error) {
    throw new SandboxError(data.error, { status: response.status, code: data.code || null });
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    throw new SandboxError(UNREACHABLE, { status: response.status, unreachable: true });
  }
  throw new SandboxError(
    `The sandbox could not handle that (HTTP ${response.status}). Try again; if it keeps ` +
    "happening, look at the terminal where the sandbox runs.", { status: response.status });
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  return request(path, options);
}

// A multipart upload (photos and files); the browser sets the boundary header itself.
async function upload(path, form) {
  return request(path, { method: "POST", body: form });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- Staying connected ------------------------------------------------------------------------

let reconnectWaiters = [];

// Called whenever a request finds the sandbox gone: shows "reconnecting…" and starts retrying.
function connectionLost() {
  if (state.reconnecting) return;
  state.reconnecting = true;
  $("connection-text").textContent = "Reconnecting to the sandbox…";
  $("connection").hidden = false;
  reconnect();
}

// Resolves at once when connected, otherwise once the sandbox answers again.
function whenConnected() {
  if (!state.reconnecting) return Promise.resolve();
  return new Promise((resolve) => reconnectWaiters.push(resolve));
}

async function reconnect() {
  let delay = 500;
  for (;;) {
    await sleep(delay);
    try {
      await loadInfo();
      await loadUsers();
      break;
    } catch (error) {
      delay = Math.min(delay * 2, 8000);
      $("connection-text").textContent =
        `Reconnecting to the sandbox… (next try in ${Math.ceil(delay / 1000)} s)`;
    }
  }
  state.reconnecting = false;
  $("connection").hidden = true;
  for (const resolve of reconnectWaiters.splice(0)) resolve();
  // The sandbox may have restarted with fewer events than the page has seen (or with none):
  // show the chat as the sandbox has it now, and go on with the same user.
  if (state.userId !== null) await openChat(state.userId);
  toast("Connected to the sandbox again.");
}

// What a failed action tells the person, and reconnecting when the sandbox is gone.
function reportFailure(error, what) {
  if (error.unreachable) {
    connectionLost();
    toast(`${what} did not reach the sandbox: it is not answering (perhaps restarting). ` +
      "The page reconnects by itself; try again in a moment.", true);
  } else {
    toast(error.message, true);
  }
}

// --- Toasts and alerts ------------------------------------------------------------------------

let toastTimer = null;
function toast(text, isError = false) {
  const el = $("toast");
  el.textContent = text;
  el.classList.toggle("error", isError);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, isError ? 6000 : 2500);
}

function alertBox(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
  $("alert-ok").focus();
}
$("alert-ok").addEventListener("click", () => { $("alert").hidden = true; });

// --- Users ------------------------------------------------------------------------------------

function colorFor(id) {
  const colors = ["#e17076", "#7bc862", "#e5ca77", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb"];
  return colors[Math.abs(Number(id)) % colors.length];
}

function renderUsers() {
  const list = $("users");
  list.replaceChildren();
  for (const user of state.users.values()) {
    const li = document.createElement("li");
    li.classList.toggle("active", user.id === state.userId);
    const avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.style.background = colorFor(user.id);
    avatar.textContent = (user.first_name || "?").slice(0, 1).toUpperCase();
    const text = document.createElement("div");
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = user.first_name + (user.last_name ? " " + user.last_name : "");
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `id ${user.id} · ${user.language_code || "—"}`;
    text.append(name, meta);
    li.append(avatar, text);
    const unread = state.unread.get(user.id) || 0;
    if (user.blocked) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "blocked";
      li.append(tag);
    } else if (unread > 0) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = String(unread);
      li.append(badge);
    }
    li.addEventListener("click", () => openChat(user.id));
    list.append(li);
  }
}

async function loadUsers() {
  const data = await api("GET", "/sandbox/users");
  state.users = new Map(data.users.map((u) => [u.id, u]));
  renderUsers();
}

async function loadInfo() {
  state.info = await api("GET", "/sandbox/info");
  state.globalSeq = state.info.last_seq;   // unread counts start from now
  const bot = state.info.bot;
  $("bot-name").textContent = `${bot.first_name} · @${bot.username}`;
  resetSubtitle();
}

// The page keeps each user's profile so that it can create the user again when the sandbox no
// longer knows it (started afresh, or its saved state was lost).
function rememberProfile(user) {
  const { id, first_name, last_name, username, language_code } = user;
  localStorage.setItem(`sandbox-profile-${id}`,
    JSON.stringify({ id, first_name, last_name, username, language_code }));
}

function savedProfile(userId) {
  const known = state.users.get(userId);
  if (known) return known;
  try {
    const saved = JSON.parse(localStorage.getItem(`sandbox-profile-${userId}`) || "null");
    if (saved && saved.id === userId) return saved;
  } catch (error) {
    // an unreadable profile: fall back to a plain one
  }
  return { id: userId, first_name: `User ${userId}`, language_code: "en" };
}

async function recreateUser(userId) {
  const profile = savedProfile(userId);
  const user = await api("POST", "/sandbox/users", {
    id: userId,
    first_name: profile.first_name || "Resident",
    last_name: profile.last_name || null,
    username: profile.username || null,
    language_code: profile.language_code || "en",
  });
  state.users.set(user.id, user);
  rememberProfile(user);
  renderUsers();
  return user;
}

// Runs an action of the open chat's user; if the sandbox has forgotten the user, creates it
// again and retries once.
async function asUser(action) {
  const userId = state.userId;
  try {
    return await action(userId);
  } catch (error) {
    if (error.code !== "unknown_user") throw error;
    await recreateUser(userId);
    return action(userId);
  }
}

$("new-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = Number($("new-id").value);
  try {
    const user = await api("POST", "/sandbox/users", {
      id,
      first_name: $("new-name").value.trim() || "Resident",
      language_code: $("new-lang").value,
    });
    state.users.set(user.id, user);
    rememberProfile(user);
    renderUsers();
    $("new-id").value = randomId();
    await openChat(user.id);
  } catch (error) {
    reportFailure(error, "The new user");
  }
});

function randomId() {
  return String(100000 + Math.floor(Math.random() * 900000));
}

// --- Rendering messages -----------------------------------------------------------------------

const ENTITY_TAGS = {
  bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  blockquote: "blockquote", expandable_blockquote: "blockquote",
};

// Entity offsets are UTF-16 code units, which is exactly how JS strings index.
function renderEntities(text, entities, start, end, parent) {
  const inside = entities
    .filter((e) => e.offset >= start && e.offset + e.length <= end)
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  let pos = start;
  let i = 0;
  while (i < inside.length) {
    const entity = inside[i];
    if (entity.offset < pos) { i += 1; continue; }   // overlaps an earlier one: skip
    if (entity.offset > pos) parent.append(text.slice(pos, entity.offset));
    const entityEnd = entity.offset + entity.length;
    const el = elementFor(entity, text.slice(entity.offset, entityEnd));
    const nested = inside.filter((e) => e !== entity && e.offset >= entity.offset &&
      e.offset + e.length <= entityEnd);
    renderEntities(text, nested, entity.offset, entityEnd, el);
    parent.append(el);
    pos = entityEnd;
    i += 1;
  }
  if (pos < end) parent.append(text.slice(pos, end));
}

function elementFor(entity, content) {
  if (ENTITY_TAGS[entity.type]) return document.createElement(ENTITY_TAGS[entity.type]);
  if (entity.type === "text_link" && /^(https?|tg):/i.test(entity.url || "")) {
    const a = document.createElement("a");
    a.href = entity.url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }
  if (entity.type === "spoiler") {
    const span = document.createElement("span");
    span.className = "spoiler";
    span.addEventListener("click", () => span.classList.add("shown"));
    return span;
  }
  if (entity.type === "bot_command") {
    const span = document.createElement("span");
    span.className = "cmd";
    span.addEventListener("click", () => sendText(content));
    return span;
  }
  return document.createElement("span");
}

function timeOf(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// The photo, document or location of a media message, above its caption.
function renderMedia(view, bubble) {
  if (view.photo && view.photo.length) {
    const largest = view.photo[view.photo.length - 1];
    const link = document.createElement("a");
    link.href = largest.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.className = "photo";
    const img = document.createElement("img");
    img.src = largest.url;
    img.alt = view.caption || "Photo";
    if (largest.width && largest.height) {
      img.width = largest.width;     // reserves the space before the image loads
      img.height = largest.height;
    }
    link.append(img);
    bubble.append(link);
  } else if (view.document) {
    const doc = view.document;
    const link = document.createElement("a");
    link.href = doc.url;
    link.className = "document";
    link.download = doc.file_name || "file";
    const icon = document.createElement("span");
    icon.className = "doc-icon";
    icon.textContent = "⤓";
    const text = document.createElement("span");
    const name = document.createElement("span");
    name.className = "doc-name";
    name.textContent = doc.file_name || "file";
    const meta = document.createElement("span");
    meta.className = "doc-meta";
    meta.textContent = `${formatSize(doc.file_size || 0)} · ${doc.mime_type || "file"}`;
    text.append(name, meta);
    link.append(icon, text);
    bubble.append(link);
  } else if (view.location) {
    const { latitude, longitude } = view.location;
    const place = document.createElement("div");
    place.className = "location";
    place.append($("pin-icon").content.cloneNode(true), `${latitude.toFixed(5)}, ${longitude.toFixed(5)}`);
    place.title = "Location shared in the chat";
    bubble.append(place);
  }
}

function fillRow(row, view) {
  row.replaceChildren();
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const stamp = document.createElement("span");
  stamp.className = "stamp";
  if (view.edit_count > 0) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = "edited";
    stamp.append(edited);
  }
  stamp.append(timeOf(view.edit_date || view.date));
  const isMedia = Boolean(view.photo || view.document || view.location);
  if (isMedia) {
    bubble.classList.add("media");
    renderMedia(view, bubble);
    if (view.caption) {
      const caption = document.createElement("div");
      caption.className = "caption";
      renderEntities(view.caption, view.caption_entities || [], 0, view.caption.length, caption);
      bubble.append(caption);
    }
  } else {
    renderEntities(view.text, view.entities || [], 0, view.text.length, bubble);
  }
  bubble.append(stamp);
  row.append(bubble);
  if (view.buttons && view.buttons.length) row.append(renderKeyboard(view));
}

function renderKeyboard(view) {
  const keyboard = document.createElement("div");
  keyboard.className = "keyboard";
  for (const rowButtons of view.buttons) {
    const row = document.createElement("div");
    row.className = "kb-row";
    for (const button of rowButtons) {
      const el = document.createElement("button");
      el.type = "button";
      el.textContent = button.text;
      if (button.callback_data !== undefined) {
        el.addEventListener("click", () => tap(view.message_id, button));
      } else if (button.web_app && /^https?:/i.test(button.web_app.url || "")) {
        // A Mini App: the sandbox signs initData for this user, as Telegram's app would,
        // and the page opens in a new window (a phone would show it over the chat).
        el.classList.add("web-app");
        el.title = button.web_app.url;
        el.addEventListener("click", () => openWebApp(view.message_id, button));
      } else if (button.url && /^https?:/i.test(button.url)) {
        el.classList.add("url");
        el.title = button.url;
        el.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
      } else {
        el.disabled = true;
        el.title = "Not simulated in the sandbox";
      }
      row.append(el);
    }
    keyboard.append(row);
  }
  return keyboard;
}

function systemLine(text) {
  const el = document.createElement("div");
  el.className = "system";
  el.textContent = text;
  $("messages").append(el);
  return el;
}

let typingTimer = null;
function showTyping(action) {
  const sub = $("chat-subtitle");
  sub.textContent = action === "typing" ? "typing…" : action.replaceAll("_", " ") + "…";
  sub.classList.add("typing");
  clearTimeout(typingTimer);
  typingTimer = setTimeout(resetSubtitle, 5000);
}

function resetSubtitle() {
  const sub = $("chat-subtitle");
  sub.classList.remove("typing");
  const bot = state.info ? state.info.bot : null;
  sub.textContent = bot ? `@${bot.username} · bot` : "bot";
}

// Applies one event of the open chat; `live` is false while replaying history (no toasts then).
function applyEvent(event, live) {
  const box = $("messages");
  switch (event.kind) {
    case "message": {
      // The empty chat's "say /start" hint is done with once the chat has a message.
      if (state.emptyHint) { state.emptyHint.remove(); state.emptyHint = null; }
      const view = event.message;
      const row = document.createElement("div");
      row.className = "row " + (view.from === "bot" ? "bot" : "user");
      fillRow(row, view);
      state.messages.set(view.message_id, row);
      box.append(row);
      if (view.from === "bot") resetSubtitle();
      break;
    }
    case "edit": {
      const row = state.messages.get(event.message.message_id);
      if (!row) break;
      fillRow(row, event.message);
      if (live) {
        row.classList.remove("flash");
        void row.offsetWidth;   // restart the animation
        row.classList.add("flash");
      }
      break;
    }
    case "delete": {
      const row = state.messages.get(event.message_id);
      if (row) { row.remove(); state.messages.delete(event.message_id); }
      break;
    }
    case "callback_answer":
      if (live && event.text) {
        if (event.show_alert) alertBox(event.text); else toast(event.text);
      }
      if (live && event.url) window.open(event.url, "_blank", "noopener");
      break;
    case "chat_action":
      if (live) showTyping(event.action);
      break;
    case "blocked":
      systemLine("You blocked the bot");
      break;
    case "unblocked":
      systemLine("You restarted the bot");
      break;
    default:
      break;   // taps are the user's own actions; nothing to show
  }
}

function renderReplyKeyboard(markup) {
  const box = $("reply-keyboard");
  box.replaceChildren();
  if (!markup || !markup.keyboard) { box.hidden = true; return; }
  for (const rowButtons of markup.keyboard) {
    const row = document.createElement("div");
    row.className = "kb-row";
    for (const button of rowButtons) {
      const text = typeof button === "string" ? button : button.text;
      const el = document.createElement("button");
      el.type = "button";
      el.textContent = text;
      el.addEventListener("click", () => sendText(text));
      row.append(el);
    }
    box.append(row);
  }
  box.hidden = false;
}

function applyChat(data, live) {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  for (const event of data.events) applyEvent(event, live);
  state.lastSeq = Math.max(state.lastSeq, data.last_seq);
  renderReplyKeyboard(data.reply_keyboard);
  updateBlocked(data.blocked);
  if (!live || nearBottom || data.events.some((e) => e.message && e.message.from === "user")) {
    box.scrollTop = box.scrollHeight;
  }
}

function updateBlocked(blocked) {
  const user = state.users.get(state.userId);
  if (user && user.blocked !== blocked) { user.blocked = blocked; renderUsers(); }
  const button = $("block-toggle");
  button.textContent = blocked ? "Unblock bot" : "Block bot";
  button.classList.toggle("unblock", blocked);
  button.dataset.blocked = blocked ? "1" : "";
}

// --- Opening a chat and polling it ------------------------------------------------------------

async function openChat(userId) {
  state.userId = userId;
  state.lastSeq = 0;
  state.messages.clear();
  state.unread.delete(userId);
  state.pollToken += 1;
  location.hash = `user=${userId}`;
  localStorage.setItem("sandbox-user", String(userId));
  const user = state.users.get(userId);
  if (user) rememberProfile(user);
  showTitle(userId);
  for (const id of ["text", "send", "block-toggle", "commands-button", "attach-button",
    "location-button"]) {
    $(id).disabled = false;
  }
  $("location-form").hidden = true;
  $("messages").replaceChildren();
  resetSubtitle();
  renderUsers();
  const token = state.pollToken;
  try {
    const data = await asUser((id) => api("GET", `/sandbox/users/${id}/chat?after_seq=0`));
    if (state.userId !== userId || token !== state.pollToken) return;
    showTitle(userId);   // the user may have just been created again
    $("messages").replaceChildren();
    state.messages.clear();
    state.emptyHint = data.events.length ? null
      : systemLine("No messages yet. Say /start to the bot.");
    applyChat(data, false);
  } catch (error) {
    if (error.unreachable) connectionLost();   // opens the chat again once reconnected
    else toast(error.message, true);
    return;
  }
  if (!state.users.has(userId)) await loadUsers().catch(() => {});
  $("text").focus();
  pollChat(userId, token);
}

function showTitle(userId) {
  const user = savedProfile(userId);
  $("chat-title").textContent = user.first_name;
  // The chat in its user's language, as the page's own is English: Chinese text then takes
  // the Chinese forms of Han characters, not the Japanese ones a browser may pick otherwise.
  $("chat").lang = user.language_code || "en";
}

async function pollChat(userId, token) {
  while (token === state.pollToken) {
    try {
      const data = await api(
        "GET", `/sandbox/wait?user_id=${userId}&after_seq=${state.lastSeq}&timeout=25`);
      if (token !== state.pollToken) return;
      applyChat(data, true);
    } catch (error) {
      if (token !== state.pollToken) return;
      if (error.unreachable) {
        connectionLost();   // reconnecting opens the chat again, with a new poll
        return;
      }
      if (error.code === "unknown_user") {
        await openChat(userId);   // the sandbox restarted without this user: create it again
        return;
      }
      await sleep(1500);
    }
  }
}

// Watches every chat to keep the user list (new users, unread counts, blocks) current.
async function pollAll() {
  for (;;) {
    try {
      const data = await api("GET", `/sandbox/wait?after_seq=${state.globalSeq}&timeout=25`);
      state.globalSeq = data.last_seq;
      let changed = false;
      for (const event of data.events) {
        if (!state.users.has(event.chat_id)) { changed = true; continue; }
        const isBotMessage = event.kind === "message" && event.message.from === "bot";
        if (isBotMessage && event.chat_id !== state.userId) {
          state.unread.set(event.chat_id, (state.unread.get(event.chat_id) || 0) + 1);
          changed = true;
        }
      }
      if (changed) await loadUsers(); else renderUsers();
    } catch (error) {
      if (error.unreachable) {
        connectionLost();
        await whenConnected();
      } else {
        await sleep(1500);
      }
    }
  }
}

// --- Actions ----------------------------------------------------------------------------------

// Returns whether the message was sent (the composer keeps the text when it was not).
async function sendText(text) {
  if (state.userId === null || !text.trim()) return false;
  try {
    await asUser((id) => api("POST", `/sandbox/users/${id}/messages`, { text }));
    return true;
  } catch (error) {
    reportFailure(error, "Your message");
    return false;
  }
}

async function openWebApp(messageId, button) {
  // Opened before the request, so the browser lets it open (a click opened it).
  const win = window.open("", "_blank");
  try {
    const result = await asUser((id) => api("POST", `/sandbox/users/${id}/web_app`, {
      message_id: messageId, button_text: button.text,
    }));
    if (win) win.location.href = result.url;
  } catch (error) {
    if (win) win.close();
    reportFailure(error, "Opening the Mini App");
  }
}

async function tap(messageId, button) {
  try {
    await asUser((id) => api("POST", `/sandbox/users/${id}/taps`, {
      message_id: messageId, button_text: button.text, data: button.callback_data,
    }));
  } catch (error) {
    reportFailure(error, "Your tap");
  }
}

// Photos go as photos (what Telegram's apps do by default); other files as documents. The text
// box, if filled, becomes the caption.
const PHOTO_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

$("attach-button").addEventListener("click", () => $("file-input").click());

$("file-input").addEventListener("change", async () => {
  const input = $("file-input");
  const file = input.files && input.files[0];
  input.value = "";   // choosing the same file again fires "change" again
  if (!file || state.userId === null) return;
  const box = $("text");
  const caption = box.value.trim();
  const asPhoto = PHOTO_TYPES.has(file.type);
  const form = new FormData();
  form.append(asPhoto ? "photo" : "document", file, file.name);
  if (caption) form.append("caption", caption);
  try {
    await asUser((id) => upload(`/sandbox/users/${id}/${asPhoto ? "photos" : "documents"}`, form));
    if (caption) { box.value = ""; autosize(); }
  } catch (error) {
    reportFailure(error, asPhoto ? "Your photo" : "Your file");
  }
});

$("location-button").addEventListener("click", () => {
  const form = $("location-form");
  form.hidden = !form.hidden;
  if (!form.hidden) $("latitude").focus();
});

// The browser's position where it is allowed (localhost counts as secure); typing works always.
$("locate-me").addEventListener("click", () => {
  if (!navigator.geolocation) { toast("This browser cannot tell its position; type it", true); return; }
  const button = $("locate-me");
  button.disabled = true;
  navigator.geolocation.getCurrentPosition(
    (position) => {
      button.disabled = false;
      $("latitude").value = position.coords.latitude.toFixed(6);
      $("longitude").value = position.coords.longitude.toFixed(6);
    },
    (error) => {
      button.disabled = false;
      toast(`No position (${error.message || "denied"}); type it instead`, true);
    },
    { timeout: 8000, maximumAge: 60000 },
  );
});

async function sendLocation() {
  const latitude = Number.parseFloat($("latitude").value);
  const longitude = Number.parseFloat($("longitude").value);
  if (!(Math.abs(latitude) <= 90) || !(Math.abs(longitude) <= 180)) {
    toast("Latitude must be within ±90 and longitude within ±180", true);
    return;
  }
  try {
    await asUser((id) => api("POST", `/sandbox/users/${id}/locations`, { latitude, longitude }));
    $("location-form").hidden = true;
  } catch (error) {
    reportFailure(error, "Your location");
  }
}
$("send-location").addEventListener("click", sendLocation);
for (const id of ["latitude", "longitude"]) {
  $(id).addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); sendLocation(); }
    if (event.key === "Escape") $("location-form").hidden = true;
  });
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("text");
  const text = box.value;
  if (!text.trim()) return;
  box.value = "";
  autosize();
  $("commands").hidden = true;
  if (!(await sendText(text)) && !box.value) {
    box.value = text;   // not sent: nothing typed is lost
    autosize();
  }
});

$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

function autosize() {
  const box = $("text");
  box.style.height = "auto";
  box.style.height = Math.min(box.scrollHeight, 140) + "px";
}
$("text").addEventListener("input", autosize);

$("block-toggle").addEventListener("click", async () => {
  const blocked = $("block-toggle").dataset.blocked === "1";
  try {
    await asUser((id) => api("POST", `/sandbox/users/${id}/${blocked ? "unblock" : "block"}`));
  } catch (error) {
    reportFailure(error, blocked ? "Unblocking" : "Blocking");
  }
});

$("commands-button").addEventListener("click", async () => {
  const menu = $("commands");
  if (!menu.hidden) { menu.hidden = true; return; }
  const user = state.users.get(state.userId);
  const lang = user && user.language_code ? user.language_code : "";
  menu.replaceChildren();
  try {
    // A private chat's id is its user's id; the menu is the one that chat would see.
    const info = await api("GET", `/sandbox/info?language_code=${encodeURIComponent(lang)}` +
                                  `&chat_id=${encodeURIComponent(state.userId)}`);
    if (!info.commands.length) {
      const none = document.createElement("div");
      none.className = "none";
      none.textContent = "The bot has not set any commands.";
      menu.append(none);
    }
    for (const command of info.commands) {
      const item = document.createElement("div");
      const name = document.createElement("b");
      name.textContent = "/" + command.command;
      item.append(name, command.description);
      item.addEventListener("click", () => { menu.hidden = true; sendText("/" + command.command); });
      menu.append(item);
    }
  } catch (error) {
    reportFailure(error, "The command list request");
    return;
  }
  menu.hidden = false;
});

document.addEventListener("click", (event) => {
  const menu = $("commands");
  if (!menu.hidden && !menu.contains(event.target) && event.target !== $("commands-button")) {
    menu.hidden = true;
  }
  const place = $("location-form");
  if (!place.hidden && !place.contains(event.target) && event.target !== $("location-button")) {
    place.hidden = true;
  }
});

// --- Start ------------------------------------------------------------------------------------

async function main() {
  $("new-id").value = randomId();
  try {
    await loadInfo();
    await loadUsers();
  } catch (error) {
    if (!error.unreachable) toast(error.message, true);
    connectionLost();
    await whenConnected();
  }
  // The chat open before a reload or a sandbox restart opens again, even if the sandbox no
  // longer knows its user (it is created again from the profile this page kept).
  const fromHash = /user=(\d+)/.exec(location.hash);
  const wanted = Number(fromHash ? fromHash[1] : localStorage.getItem("sandbox-user"));
  if (wanted > 0) await openChat(wanted);
  else if (state.users.size) await openChat(state.users.keys().next().value);
  pollAll();
}

main();
