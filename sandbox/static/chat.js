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
};

// --- HTTP -------------------------------------------------------------------------------------

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

// A multipart upload (photos and files); the browser sets the boundary header itself.
async function upload(path, form) {
  const response = await fetch(path, { method: "POST", body: form });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- Toasts and alerts ------------------------------------------------------------------------

let toastTimer = null;
function toast(text, isError = false) {
  const el = $("toast");
  el.textContent = text;
  el.classList.toggle("error", isError);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, isError ? 4000 : 2500);
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
    renderUsers();
    $("new-id").value = randomId();
    await openChat(user.id);
  } catch (error) {
    toast(error.message, true);
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
  $("chat-title").textContent = user ? user.first_name : `User ${userId}`;
  for (const id of ["text", "send", "block-toggle", "commands-button", "attach-button",
    "location-button"]) {
    $(id).disabled = false;
  }
  $("location-form").hidden = true;
  $("messages").replaceChildren();
  resetSubtitle();
  renderUsers();
  try {
    const data = await api("GET", `/sandbox/users/${userId}/chat?after_seq=0`);
    if (state.userId !== userId) return;
    if (!data.events.length) systemLine("No messages yet. Say /start to the bot.");
    applyChat(data, false);
  } catch (error) {
    toast(error.message, true);
    return;
  }
  $("text").focus();
  pollChat(userId, state.pollToken);
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
      await sleep(1500);   // the sandbox restarted or went away: retry quietly
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
      await sleep(1500);
    }
  }
}

// --- Actions ----------------------------------------------------------------------------------

async function sendText(text) {
  if (state.userId === null || !text.trim()) return;
  try {
    await api("POST", `/sandbox/users/${state.userId}/messages`, { text });
  } catch (error) {
    toast(error.message, true);
  }
}

async function tap(messageId, button) {
  try {
    await api("POST", `/sandbox/users/${state.userId}/taps`, {
      message_id: messageId, button_text: button.text, data: button.callback_data,
    });
  } catch (error) {
    toast(error.message, true);
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
    await upload(`/sandbox/users/${state.userId}/${asPhoto ? "photos" : "documents"}`, form);
    if (caption) { box.value = ""; autosize(); }
  } catch (error) {
    toast(error.message, true);
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
    await api("POST", `/sandbox/users/${state.userId}/locations`, { latitude, longitude });
    $("location-form").hidden = true;
  } catch (error) {
    toast(error.message, true);
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
  await sendText(text);
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
    await api("POST", `/sandbox/users/${state.userId}/${blocked ? "unblock" : "block"}`);
  } catch (error) {
    toast(error.message, true);
  }
});

$("commands-button").addEventListener("click", async () => {
  const menu = $("commands");
  if (!menu.hidden) { menu.hidden = true; return; }
  const user = state.users.get(state.userId);
  const lang = user && user.language_code ? user.language_code : "";
  menu.replaceChildren();
  try {
    const info = await api("GET", `/sandbox/info?language_code=${encodeURIComponent(lang)}`);
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
    toast(error.message, true);
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
    state.info = await api("GET", "/sandbox/info");
    const bot = state.info.bot;
    state.globalSeq = state.info.last_seq;   // unread counts start from now
    $("bot-name").textContent = `${bot.first_name} · @${bot.username}`;
    resetSubtitle();
    await loadUsers();
  } catch (error) {
    toast("Cannot reach the sandbox: " + error.message, true);
  }
  const fromHash = /user=(\d+)/.exec(location.hash);
  const wanted = Number(fromHash ? fromHash[1] : localStorage.getItem("sandbox-user"));
  if (wanted && state.users.has(wanted)) await openChat(wanted);
  else if (state.users.size) await openChat(state.users.keys().next().value);
  pollAll();
}

main();
