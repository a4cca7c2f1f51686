/** What the page's script needs to know, handed over as a JSON data block (not a script: CSP allows it). */
export interface LivePageConfig {
  /** The broker this page connects to; its Content-Security-Policy allows exactly this one. */
  brokerWsUrl: string | null;
  /** The broker the API is configured with (`LIVE_BROKER_WS_URL`); the page warns when it is another. */
  configuredBrokerWsUrl: string | null;
  /** The feed's topic filter, every device and every type. */
  feedTopics: string;
  /** Where an app's requests and answers live: `{appRoot}/{key name}/…`. */
  appRoot: string;
  /** Punches kept on screen, newest first. */
  maxPunches: number;
}

/** The page's only style sheet; the CSP allows it by its hash. */
export const LIVE_STYLE = `
body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:1.5rem auto;padding:0 1rem;color:#1d1d1d}
h1{margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.75rem 0 .5rem;border-bottom:1px solid #ddd}
form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}label{display:flex;flex-direction:column;font-weight:600;font-size:.85rem}
input,textarea,button{font:inherit}input,textarea{font-weight:400;padding:.3rem .4rem;border:1px solid #888;border-radius:4px}
#broker{width:22rem}button{padding:.35rem .9rem;border-radius:4px;border:1px solid #1d4f91;background:#1d4f91;color:#fff;cursor:pointer}
button[type=button]{background:#fff;color:#1d4f91}button:disabled{opacity:.5;cursor:default}
:focus-visible{outline:3px solid #f0a500;outline-offset:1px}.hint{color:#555;font-size:.85rem;margin:.4rem 0 0}
[data-kind=error]{color:#a4161a}[data-kind=ok]{color:#146c2e}#status{font-weight:600;min-height:1.4em}
.warning{background:#fff4ce;border:1px solid #c99a00;padding:.4rem .6rem;border-radius:4px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{font-size:.85rem;color:#444}.state,.status{font-weight:700}.online,.acked{color:#146c2e}.offline,.failed,.expired{color:#a4161a}
.unknown{color:#666}.columns{display:grid;grid-template-columns:1fr 1fr;gap:0 2rem}@media (max-width:800px){.columns{display:block}}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** JSON inside `<script type="application/json">`: `<` escaped so no `</script>` can end it early. */
const jsonBlock = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

/** The live fleet page: accessible markup, no inline script, everything it loads served by the API itself. */
export function livePageHtml(config: LivePageConfig, clientPath: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Live fleet · emqx-serverless-bridge</title><link rel="icon" href="data:,">
<style>${LIVE_STYLE}</style>
<script type="application/json" id="live-config">${jsonBlock(config)}</script>
<script type="module" src="${clientPath}"></script>
</head><body>
<header><h1>Live fleet</h1>
<p id="status" role="status" aria-live="polite">Not connected.</p></header>
<main>
${connectSection(config)}${tablesSection(config.maxPunches)}${commandSection(config.appRoot)}</main></body></html>`;
}

/** Where the operator pastes the key; the warning shows when the broker is not the configured one. */
function connectSection(config: LivePageConfig): string {
  const trusted = config.brokerWsUrl === null || config.brokerWsUrl === config.configuredBrokerWsUrl;
  const warning = config.configuredBrokerWsUrl
    ? `This is not the broker the bridge is configured with (${escapeHtml(config.configuredBrokerWsUrl)}). Paste a key only if you trust it.`
    : "The bridge has no broker configured for this page (LIVE_BROKER_WS_URL). Paste a key only if you trust this broker.";
  return `<section aria-labelledby="connect-title"><h2 id="connect-title">Connect</h2>
<form id="connect-form">
<label for="broker">Broker (MQTT over WebSocket)<input id="broker" name="broker" type="url" required value="${escapeHtml(config.brokerWsUrl ?? "")}" placeholder="wss://emqx.example.com:8084/mqtt"></label>
<label for="key-name">Key name<input id="key-name" name="key-name" required autocomplete="username" spellcheck="false"></label>
<label for="key">API key<input id="key" name="key" type="password" required autocomplete="current-password" spellcheck="false"></label>
<button id="connect" type="submit">Connect</button>
<button id="disconnect" type="button" disabled>Disconnect</button>
<button id="forget" type="button">Forget the key</button>
</form>
<p id="broker-warning" class="warning" role="alert"${trusted ? " hidden" : ""}>${warning}</p>
<p class="hint">An app key with the <code>read</code> scope (<code>npm run api-key -- create --name NAME --scopes read,commands</code>) logs in as its name.
The key is sent only to the broker and kept only in this tab (sessionStorage) until you close it or forget it.</p>
</section>
`;
}

/** Devices, punches and commands: the script fills the table bodies. */
function tablesSection(maxPunches: number): string {
  return `<section aria-labelledby="devices-title"><h2 id="devices-title">Devices <small id="device-count"></small></h2>
<table id="devices"><caption class="sr-only">Every device's presence</caption>
<thead><tr><th scope="col">Device</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Reason</th><th scope="col">Last punch</th></tr></thead><tbody></tbody></table>
<p id="devices-empty">No device seen yet.</p>
</section>
<div class="columns">
<section aria-labelledby="punches-title"><h2 id="punches-title">Punches <small>newest first, last ${maxPunches}</small></h2>
<table id="punches"><caption class="sr-only">Punches as they arrive</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Device</th><th scope="col">User</th><th scope="col">State</th></tr></thead><tbody></tbody></table>
<p id="punches-empty">No punch yet.</p>
</section>
<section aria-labelledby="commands-title"><h2 id="commands-title">Commands</h2>
<table id="commands"><caption class="sr-only">Command statuses as they change</caption>
<thead><tr><th scope="col">Updated</th><th scope="col">Device</th><th scope="col">Id</th><th scope="col">Op</th><th scope="col">Status</th><th scope="col">Reason</th></tr></thead><tbody></tbody></table>
<p id="commands-empty">No command yet.</p>
</section>
</div>
`;
}

/** The command form: a request over MQTT, its answer in the output. */
function commandSection(appRoot: string): string {
  return `<section aria-labelledby="send-title"><h2 id="send-title">Send a command</h2>
<form id="command-form">
<label for="command-sn">Device<input id="command-sn" name="sn" required spellcheck="false"></label>
<label for="command-op">Op<input id="command-op" name="op" required value="ping" list="known-ops" spellcheck="false"></label>
<datalist id="known-ops"><option value="ping"><option value="sync_user"><option value="delete_user"><option value="reboot"><option value="set_time"></datalist>
<label for="command-data">Data (JSON)<textarea id="command-data" name="data" rows="1" cols="30" spellcheck="false">{}</textarea></label>
<label for="command-ttl">TTL (s)<input id="command-ttl" name="ttl" type="number" min="1" step="1" value="300"></label>
<button type="submit">Send</button>
</form>
<p class="hint">Sent through the API over MQTT (<code>${escapeHtml(appRoot)}/{key name}/requests</code>): the key needs the <code>commands</code> scope.</p>
<p><output id="command-answer" for="command-form" aria-live="polite"></output></p>
</section>
`;
}
