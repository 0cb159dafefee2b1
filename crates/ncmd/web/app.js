// The ncmd status page: polls /api/status, draws one card per interface, and sends
// reconnects and settings with the change token (header X-Ncmd-Token). The token comes
// from the field at the top or from the URL fragment (#token=...), which browsers never
// send to the server; it is kept in sessionStorage for this tab only.
"use strict";

const POLL_MS = 2000;
const cards = new Map();
const tokenInput = document.getElementById("token");

(function initToken() {
  const m = /(?:^#|&)token=([0-9a-fA-F]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("ncmd-token", m[1]);
    history.replaceState(null, "", location.pathname);
  }
  tokenInput.value = sessionStorage.getItem("ncmd-token") || "";
  tokenInput.addEventListener("change", () => sessionStorage.setItem("ncmd-token", tokenInput.value.trim()));
})();

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Ncmd-Token": tokenInput.value.trim() },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await r.json(); } catch (_) { data = { error: "the daemon answered " + r.status }; }
  if (!r.ok || data.ok === false) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}

function say(el, text, ok) {
  el.textContent = text;
  el.className = el.className.replace(/\b(ok|error)\b/g, "").trim() + (ok ? " ok" : " error");
}

const fmt = (v, unit) => (v === null || v === undefined ? "–" : v + " " + unit);

const known = (v) => v !== null && v !== undefined;

// One leg's (or the top level's) measures as text; null when it has none.
function legText(l) {
  if (known(l.rsrp_dbm)) {
    return `RSRP ${fmt(l.rsrp_dbm, "dBm")}, RSRQ ${fmt(l.rsrq_db, "dB")}, SINR ${fmt(l.sinr_db, "dB")}` + (known(l.rssi_dbm) ? `, RSSI ${fmt(l.rssi_dbm, "dBm")}` : "");
  }
  if (known(l.rscp_dbm)) return `RSCP ${fmt(l.rscp_dbm, "dBm")}, Ec/Io ${fmt(l.ecio_db, "dB")}`;
  return known(l.rssi_dbm) ? `RSSI ${fmt(l.rssi_dbm, "dBm")}` : null;
}

// Per radio leg when the status names them (5G NSA shows "LTE …; NR …").
function signalText(s) {
  const legs = [["gsm", "GSM"], ["umts", "UMTS"], ["lte", "LTE"], ["nr", "NR"]]
    .filter(([k]) => s[k])
    .map(([k, name]) => { const t = legText(s[k]); return t ? `${name}: ${t}` : null; })
    .filter((t) => t);
  if (legs.length) return legs.join("; ");
  return legText(s) || "–";
}

function card(name) {
  if (cards.has(name)) return cards.get(name);
  const el = document.getElementById("iface-template").content.firstElementChild.cloneNode(true);
  el.dataset.iface = name;
  el.querySelector(".name").textContent = name;
  const msg = el.querySelector(".action-msg");
  el.querySelector(".reconnect").addEventListener("click", async () => {
    say(msg, "asking…", true);
    try { say(msg, (await post("/api/reconnect", { interface: name })).message, true); }
    catch (e) { say(msg, e.message, false); }
  });
  const form = el.querySelector("form.settings");
  const formMsg = form.querySelector(".form-msg");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const body = { interface: name, apn: f.apn.value, pin: f.pin.value, clear_pin: f.clear_pin.checked, mode: f.mode.value, pdptype: f.pdptype.value };
    try {
      say(formMsg, (await post("/api/settings", body)).message, true);
      f.pin.value = "";
      await loadSettings(name, el);
    } catch (e) { say(formMsg, e.message, false); }
  });
  document.getElementById("interfaces").appendChild(el);
  cards.set(name, el);
  loadSettings(name, el);
  return el;
}

async function loadSettings(name, el) {
  const form = el.querySelector("form.settings");
  try {
    const r = await fetch("/api/settings?interface=" + encodeURIComponent(name));
    const v = await r.json();
    if (!r.ok) throw new Error(v.error);
    form.elements.apn.value = v.apn;
    form.elements.mode.value = v.mode;
    form.elements.pdptype.value = v.pdptype.toUpperCase();
    form.elements.clear_pin.checked = false;
    form.querySelector(".pin-state").textContent = v.pin_set ? "a PIN is set" : "no PIN set";
  } catch (e) {
    say(form.querySelector(".form-msg"), "settings unavailable: " + e.message, false);
    form.querySelector("button").disabled = true;
  }
}

function chart(el, points) {
  const key = points.some((p) => p.rsrp !== null) ? "rsrp" : "rssi";
  const pts = points.filter((p) => p[key] !== null);
  const line = el.querySelector(".chart .line");
  const legend = el.querySelector(".chart-legend");
  if (pts.length === 0) { line.setAttribute("points", ""); legend.textContent = "no signal samples yet"; return; }
  const [lo, hi] = key === "rsrp" ? [-140, -44] : [-113, -51];
  const t0 = pts[0].t, t1 = Math.max(pts[pts.length - 1].t, t0 + 1);
  const xy = pts.map((p) => {
    const x = pts.length === 1 ? 600 : ((p.t - t0) / (t1 - t0)) * 600;
    const y = 120 - ((Math.min(hi, Math.max(lo, p[key])) - lo) / (hi - lo)) * 120;
    return x.toFixed(1) + "," + y.toFixed(1);
  });
  if (xy.length === 1) xy.unshift("0," + xy[0].split(",")[1]);
  line.setAttribute("points", xy.join(" "));
  legend.textContent = `${key.toUpperCase()} (dBm), ${pts.length} samples since ${new Date(t0 * 1000).toLocaleTimeString()}`;
}

function render(st, history) {
  const el = card(st.interface);
  const badge = el.querySelector(".state");
  badge.textContent = st.state;
  badge.className = "state badge " + st.state;
  el.querySelector(".signal").textContent = signalText(st.signal);
  const op = st.operator.name || st.operator.mcc_mnc;
  el.querySelector(".operator").textContent = op ? `${op} (${st.registration.technology || "?"}, ${st.registration.state || "?"})` : "–";
  const ip = st.connection.ipv4;
  el.querySelector(".ip").textContent = ip ? `${ip.address}/${ip.prefix_len} via ${ip.gateway || "–"}` : "–";
  el.querySelector(".since").textContent = st.connection.since || "–";
  el.querySelector(".model").textContent = [st.modem.manufacturer, st.modem.model].filter(Boolean).join(" ") || "–";
  el.querySelector(".last-error").textContent = st.connection.last_error ? `${st.connection.last_error} (${st.last_error_code})` : "none";
  const causes = Object.entries(st.counters.reconnects_by_cause).map(([c, n]) => `${c}: ${n}`);
  el.querySelector(".causes").textContent = `${st.connection.reconnects} reconnects` + (causes.length ? " — " + causes.join(", ") : "");
  const list = el.querySelector(".history");
  list.replaceChildren(...st.events.filter((e) => ["loss", "up", "recover", "error", "down"].includes(e.kind)).reverse().map((e) => {
    const li = document.createElement("li");
    li.className = "event " + e.kind;
    li.textContent = `${e.time} ${e.kind}: ${e.message}`;
    return li;
  }));
  chart(el, history || []);
}

async function poll() {
  const conn = document.getElementById("conn");
  try {
    const r = await fetch("/api/status");
    const data = await r.json();
    for (const st of data.interfaces) render(st, data.history[st.interface]);
    conn.textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "1";
  } catch (e) {
    conn.textContent = "the daemon does not answer: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}
poll();
