// Runs the sandbox chat page (sandbox/static/chat.js) in Node against a live sandbox, with just
// enough of a DOM for the page to work, so a Python test can drive it like a person would.
//
//   node chat_page_harness.js BASE_URL CHAT_JS [LOCATION_HASH] [PROFILE_JSON]
//
// Reads JSON commands on stdin, one a line, and answers each with one JSON line:
//   {"op": "state"}              -> what the page shows (banner, rows, toast, composer)
//   {"op": "send", "text": "…"}  -> types the text and presses Send
"use strict";

const fs = require("fs");
const readline = require("readline");
const vm = require("vm");

const [base, script, hash = "", profile = ""] = process.argv.slice(2);

class Element {
  constructor(tag, id = null) {
    this.tagName = tag;
    this.id = id;
    this.children = [];
    this.parent = null;
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this.value = "";
    this.style = {};
    this.dataset = {};
    this.scrollTop = 0;
    this.scrollHeight = 0;
    this.clientHeight = 0;
    this.offsetWidth = 0;
    this.files = null;
    this.classes = new Set();
    const classes = this.classes;
    this.classList = {
      add: (...names) => names.forEach((n) => classes.add(n)),
      remove: (...names) => names.forEach((n) => classes.delete(n)),
      contains: (name) => classes.has(name),
      toggle: (name, force) => {
        const on = force === undefined ? !classes.has(name) : Boolean(force);
        if (on) classes.add(name); else classes.delete(name);
        return on;
      },
    };
    this.content = { cloneNode: () => new Element("svg") };
  }
  set className(value) { this.classes.clear(); String(value).split(/\s+/).filter(Boolean).forEach((c) => this.classes.add(c)); }
  get className() { return [...this.classes].join(" "); }
  set textContent(value) { this.children = [String(value)]; }
  get textContent() {
    return this.children.map((c) => (typeof c === "string" ? c : c.textContent)).join("");
  }
  append(...nodes) {
    for (const node of nodes) {
      if (node instanceof Element) { node.remove(); node.parent = this; }
      this.children.push(node instanceof Element ? node : String(node));
    }
  }
  replaceChildren(...nodes) {
    for (const child of this.children) if (child instanceof Element) child.parent = null;
    this.children = [];
    this.append(...nodes);
  }
  remove() {
    if (this.parent) {
      this.parent.children = this.parent.children.filter((c) => c !== this);
      this.parent = null;
    }
  }
  contains(other) {
    if (other === this) return true;
    return this.children.some((c) => c instanceof Element && c.contains(other));
  }
  addEventListener(type, listener) { (this.listeners[type] ||= []).push(listener); }
  dispatch(type, extra = {}) {
    const event = { type, target: this, key: "", shiftKey: false, preventDefault() {}, ...extra };
    return Promise.all((this.listeners[type] || []).map((listener) => listener(event)));
  }
  focus() {}
  click() { return this.dispatch("click"); }
  requestSubmit() { return this.dispatch("submit"); }
}

const elements = new Map();
const document = {
  getElementById(id) {
    if (!elements.has(id)) elements.set(id, new Element("div", id));
    return elements.get(id);
  },
  createElement: (tag) => new Element(tag),
  addEventListener() {},
};
// Hidden at first, as in chat.html.
for (const id of ["toast", "alert", "connection", "reply-keyboard", "commands", "location-form"]) {
  document.getElementById(id).hidden = true;
}

const storage = new Map();
if (profile) {
  const parsed = JSON.parse(profile);
  storage.set(`sandbox-profile-${parsed.id}`, profile);
}

Object.assign(globalThis, {
  document,
  window: { open() {} },
  location: { hash },
  navigator: {},
  localStorage: {
    getItem: (key) => (storage.has(key) ? storage.get(key) : null),
    setItem: (key, value) => storage.set(key, String(value)),
  },
});
const realFetch = globalThis.fetch;
globalThis.fetch = (path, options) => realFetch(base + path, options);

vm.runInThisContext(fs.readFileSync(script, "utf8"), { filename: "chat.js" });

function snapshot() {
  const $ = (id) => document.getElementById(id);
  return {
    reconnecting: !$("connection").hidden,
    banner: $("connection-text").textContent,
    title: $("chat-title").textContent,
    rows: $("messages").children.map((c) => (typeof c === "string" ? c : c.textContent)),
    toast: $("toast").hidden ? null : $("toast").textContent,
    composer: $("text").value,
    users: $("users").children.map((c) => (typeof c === "string" ? c : c.textContent)),
  };
}

const input = readline.createInterface({ input: process.stdin });
input.on("line", async (line) => {
  const command = JSON.parse(line);
  if (command.op === "send") {
    document.getElementById("text").value = command.text;
    document.getElementById("composer").requestSubmit();
  }
  process.stdout.write(JSON.stringify(snapshot()) + "\n");
});
input.on("close", () => process.exit(0));
