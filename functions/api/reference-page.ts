/**
 * A self-contained API reference: it fetches the OpenAPI document and lists every operation with its
 * parameters, body and answers. No CDN script, so it works offline and behind strict CSPs.
 */
export function referencePage(specPath: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>emqx-serverless-bridge API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}.op{margin:1rem 0;padding:.75rem 1rem;border:1px solid #e3e3e3;border-radius:6px}
.m{display:inline-block;min-width:4.5rem;font-weight:700}.get{color:#0a6}.post{color:#06c}code,pre{background:#f6f6f6;border-radius:4px}
pre{padding:.5rem;overflow:auto;font-size:13px}table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #eee}
</style></head><body>
<h1>emqx-serverless-bridge API</h1>
<p>Every route but this page and the document below needs <code>Authorization: Bearer &lt;api key&gt;</code>. Errors are <code>application/problem+json</code>.
Machine-readable: <a href="${specPath}">${specPath}</a> (OpenAPI 3.1).</p>
<div id="ops">Loading…</div>
<script>
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
fetch(${JSON.stringify(specPath)}).then((r) => r.json()).then((spec) => {
  const byTag = {};
  for (const [path, ops] of Object.entries(spec.paths ?? {}))
    for (const [method, op] of Object.entries(ops))
      (byTag[(op.tags ?? ["other"])[0]] ??= []).push({ path, method, op });
  document.getElementById("ops").innerHTML = Object.entries(byTag).map(([tag, ops]) =>
    "<h2>" + esc(tag) + "</h2>" + ops.map(({ path, method, op }) =>
      '<div class="op"><span class="m ' + method + '">' + method.toUpperCase() + "</span><code>" + esc(path) + "</code>" +
      "<p>" + esc(op.summary) + (op.description ? "<br>" + esc(op.description) : "") + "</p>" +
      (op.parameters?.length ? "<table>" + op.parameters.map((p) => "<tr><td><code>" + esc(p.name) + "</code></td><td>" + esc(p.in) +
        "</td><td>" + esc(p.description) + "</td></tr>").join("") + "</table>" : "") +
      (op.requestBody ? "<p>Body:</p><pre>" + esc(JSON.stringify(op.requestBody.content?.["application/json"]?.schema, null, 1)) + "</pre>" : "") +
      "<p>Answers: " + Object.entries(op.responses ?? {}).map(([s, r]) => "<b>" + esc(s) + "</b> " + esc(r.description)).join(" · ") + "</p></div>"
    ).join("")).join("");
});
</script></body></html>`;
}
