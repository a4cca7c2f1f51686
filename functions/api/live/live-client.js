// The live fleet page's script (a browser ES module, served as /v1/live/live-client.js; see live-page.ts).
// It talks to the broker only: the fleet feed for what happens, the API over MQTT to send commands.
// Everything shown is written with textContent, never as HTML: device data cannot inject markup.
import mqtt from "/v1/live/mqtt.js";

const config = JSON.parse(document.getElementById("live-config").textContent);
const $ = (id) => document.getElementById(id);
/** The credentials live in this tab only (sessionStorage), never in the page or a cookie. */
const stored = {
  get: (name) => sessionStorage.getItem(`live.${name}`) ?? "",
  set: (name, value) => sessionStorage.setItem(`live.${name}`, value),
  remove: (name) => sessionStorage.removeItem(`live.${name}`),
};

const devices = new Map(); // sn -> { online, since, reason, version, lastPunch }
const punches = []; // newest first, at most config.maxPunches
const commands = new Map(); // sn/id -> { sn, id, op, status, at, reason }
const waiting = new Map(); // requestId -> timer of a request sent over MQTT
let client;
let keyName = "";

function say(text, kind = "info") {
  const status = $("status");
  status.textContent = text;
  status.dataset.kind = kind;
}

function init() {
  $("broker").value = config.brokerWsUrl ?? "";
  $("key-name").value = stored.get("keyName");
  $("key").value = stored.get("key");
  $("connect-form").addEventListener("submit", onConnectSubmit);
  $("disconnect").addEventListener("click", disconnect);
  $("forget").addEventListener("click", forget);
  $("command-form").addEventListener("submit", onCommandSubmit);
  document.addEventListener("securitypolicyviolation", (event) => {
    if (event.violatedDirective.startsWith("connect-src")) {
      say(
        `The browser blocked ${event.blockedURI}: this page may connect only to ${config.brokerWsUrl}.`,
        "error",
      );
    }
  });
  render();
  if (stored.get("connectAfterLoad") === "1") {
    stored.remove("connectAfterLoad");
    if ($("connect-form").reportValidity()) connect();
  }
}

function onConnectSubmit(event) {
  event.preventDefault();
  stored.set("keyName", $("key-name").value.trim());
  stored.set("key", $("key").value.trim());
  const broker = $("broker").value.trim();
  if (broker !== config.brokerWsUrl) {
    // The page's Content-Security-Policy names the broker it may reach, so another broker means another page.
    stored.set("connectAfterLoad", "1");
    location.assign(`${location.pathname}?broker=${encodeURIComponent(broker)}`);
    return;
  }
  connect();
}

function connect() {
  disconnect();
  keyName = stored.get("keyName");
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) =>
    b.toString(16).padStart(2, "0"),
  );
  say(`Connecting to ${config.brokerWsUrl} as ${keyName}…`);
  client = mqtt.connect(config.brokerWsUrl, {
    // An app's client id is its key name, optionally followed by "/" and a suffix: one per tab here.
    clientId: `${keyName}/live-${suffix.join("")}`,
    username: keyName,
    password: stored.get("key"),
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 5000,
    connectTimeout: 10_000,
  });
  client.on("connect", onConnected);
  client.on("message", onMessage);
  client.on("error", onError);
  client.on("offline", () => say("Connection lost; reconnecting…", "error"));
  $("connect").disabled = true;
  $("disconnect").disabled = false;
}

function onConnected() {
  say(`Connected to ${config.brokerWsUrl} as ${keyName}. Waiting for the fleet feed…`, "ok");
  const answers = `${config.appRoot}/${keyName}/responses/+`;
  client.subscribe({ [config.feedTopics]: { qos: 1 }, [answers]: { qos: 1 } }, (error, granted) => {
    if (error) return say(`Subscribing failed: ${error.message}`, "error");
    const feed = granted.find((g) => g.topic === config.feedTopics);
    if (!feed || feed.qos === 128) {
      say(`Connected as ${keyName}, but the broker refused the feed: the key needs the read scope.`, "error");
      return;
    }
    say(`Connected as ${keyName}: live.`, "ok");
  });
}

function onError(error) {
  // A refused login does not get better by retrying (MQTT 3.1.1 CONNACK 4: bad credentials, 5: not authorized).
  if (error.code === 4 || error.code === 5) {
    say(`The broker refused the login of ${keyName}: check the key name and the key.`, "error");
    disconnect();
    return;
  }
  say(`Connection error: ${error.message}`, "error");
}

function disconnect() {
  client?.end(true);
  client = undefined;
  $("connect").disabled = false;
  $("disconnect").disabled = true;
}

function forget() {
  disconnect();
  stored.remove("key");
  stored.remove("keyName");
  $("key").value = "";
  $("key-name").value = "";
  say("Disconnected; the key is forgotten in this tab.");
}

function onMessage(topic, payload) {
  let message;
  try {
    message = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return; // not JSON: not the feed's, nothing to show
  }
  if (topic.startsWith(`${config.appRoot}/`)) return onAnswer(message);
  if (typeof message?.sn !== "string" || typeof message.data !== "object" || !message.data) return;
  if (message.type === "presence") onPresence(message);
  else if (message.type === "attendance") onPunch(message);
  else if (message.type === "command_status") onCommandStatus(message);
  else return;
  scheduleRender();
}

function device(sn) {
  let known = devices.get(sn);
  if (!known) {
    known = { online: undefined, version: -1 };
    devices.set(sn, known);
  }
  return known;
}

function onPresence({ sn, data }) {
  const known = device(sn);
  // Per device, the highest version is the truth: an older message arriving late changes nothing.
  const version = typeof data.version === "number" ? data.version : 0;
  if (version < known.version) return;
  Object.assign(known, { online: data.online === true, since: data.since, reason: data.reason, version });
}

function onPunch({ sn, at, eventId, data }) {
  if (punches.some((punch) => punch.eventId === eventId)) return; // QoS 1 may deliver twice
  punches.unshift({
    sn,
    at,
    eventId,
    userId: data.user_id,
    state: data.att_state,
    received: data.received_at,
  });
  punches.length = Math.min(punches.length, config.maxPunches);
  device(sn).lastPunch = at;
}

function onCommandStatus({ sn, at, data }) {
  const key = `${sn}/${data.id}`;
  const known = commands.get(key);
  if (known && known.at > at) return;
  commands.set(key, { sn, id: data.id, op: data.op, status: data.status, at, reason: data.reason });
}

function onCommandSubmit(event) {
  event.preventDefault();
  if (!client?.connected) return answer("Connect first.", "error");
  let data;
  try {
    data = JSON.parse($("command-data").value || "{}");
  } catch {
    return answer('The data must be JSON, e.g. {"user_id":"1001"}.', "error");
  }
  const sn = $("command-sn").value.trim();
  const ttl = $("command-ttl").value;
  const body = { op: $("command-op").value.trim(), data, ...(ttl ? { ttlSeconds: Number(ttl) } : {}) };
  const requestId = crypto.randomUUID?.() ?? `live-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const path = `/v1/devices/${encodeURIComponent(sn)}/commands`;
  client.publish(
    `${config.appRoot}/${keyName}/requests`,
    JSON.stringify({ requestId, method: "POST", path, body }),
    {
      qos: 1,
    },
  );
  answer(`Sent request ${requestId}; waiting for the answer…`);
  const timer = setTimeout(() => {
    waiting.delete(requestId);
    answer(
      `No answer to ${requestId} within 15 s: is the API over MQTT running, may this key send commands?`,
      "error",
    );
  }, 15_000);
  waiting.set(requestId, timer);
}

function onAnswer({ requestId, status, body }) {
  if (!waiting.has(requestId)) return;
  clearTimeout(waiting.get(requestId));
  waiting.delete(requestId);
  const ok = status >= 200 && status < 300;
  const detail = ok
    ? `command ${body?.command?.id} ${body?.command?.status}`
    : (body?.detail ?? body?.title ?? "");
  answer(`${status} ${detail}`.trim(), ok ? "ok" : "error");
  const command = body?.command;
  if (ok && command?.id && !commands.has(`${command.sn}/${command.id}`)) {
    const { sn, id, op, status: commandStatus, updatedAt } = command;
    commands.set(`${sn}/${id}`, { sn, id, op, status: commandStatus, at: updatedAt });
    scheduleRender();
  }
}

function answer(text, kind = "info") {
  const output = $("command-answer");
  output.textContent = text;
  output.dataset.kind = kind;
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  renderDevices();
  renderPunches();
  renderCommands();
}

function cell(row, text, attributes = {}) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  for (const [name, value] of Object.entries(attributes)) td.setAttribute(name, value);
  row.append(td);
  return td;
}

function timeCell(row, iso) {
  const td = cell(row, "");
  if (!iso) return td;
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = new Date(iso).toLocaleString();
  td.append(time);
  return td;
}

/** Table `id`'s body: one row per item, its cells added by `fill`; `{id}-empty` shows when there is none. */
function renderRows(id, items, fill) {
  $(id).tBodies[0].replaceChildren(
    ...items.map((item) => {
      const row = document.createElement("tr");
      fill(row, item);
      return row;
    }),
  );
  $(`${id}-empty`).hidden = items.length > 0;
}

function renderDevices() {
  const rows = [...devices.entries()].sort(([a], [b]) => a.localeCompare(b));
  const online = rows.filter(([, d]) => d.online === true).length;
  $("device-count").textContent = `${rows.length} device${rows.length === 1 ? "" : "s"}, ${online} online`;
  renderRows("devices", rows, (row, [sn, d]) => {
    row.dataset.sn = sn;
    cell(row, sn);
    const state = d.online === undefined ? "unknown" : d.online ? "online" : "offline";
    cell(row, state, { class: `state ${state}`, "data-state": state });
    timeCell(row, d.since);
    cell(row, d.reason);
    timeCell(row, d.lastPunch);
  });
}

function renderPunches() {
  renderRows("punches", punches, (row, punch) => {
    row.dataset.eventId = punch.eventId;
    timeCell(row, punch.at);
    cell(row, punch.sn);
    cell(row, punch.userId);
    cell(row, String(punch.state ?? ""));
  });
}

function renderCommands() {
  const rows = [...commands.values()].sort((a, b) => (b.at ?? "").localeCompare(a.at ?? ""));
  renderRows("commands", rows, (row, command) => {
    row.dataset.commandId = command.id;
    timeCell(row, command.at);
    cell(row, command.sn);
    cell(row, command.id);
    cell(row, command.op);
    cell(row, command.status, { class: `status ${command.status}`, "data-status": command.status });
    cell(row, command.reason);
  });
}

init();
