/**
 * The relay's bridge page: Stately's inspector UI in an iframe, fed over `postMessage`
 * with what the relay's WebSocket sends — as `@statelyai/inspect/server`'s page does,
 * except that it connects back to the host and port the page was loaded from (so an SSH
 * `-L` forward on another port works), bounds what it holds before the UI says
 * `@statelyai.connected`, and is served with a CSP naming its one script.
 */
import { createHash } from 'node:crypto';

/** Messages held for the UI before it is ready; the oldest go first past this. */
const MAX_BUFFERED = 10_000;

export function bridgePage(inspectorUrl: string): { html: string; csp: string } {
  const frameOrigin = new URL(inspectorUrl).origin;
  const script = `
const iframe = document.getElementById('inspector');
const buffer = [];
let connected = false;
window.addEventListener('message', (e) => {
  if (e.source === iframe.contentWindow && e.data && e.data.type === '@statelyai.connected') {
    connected = true;
    for (const event of buffer) iframe.contentWindow.postMessage(event, ${JSON.stringify(frameOrigin)});
    buffer.length = 0;
  }
});
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host);
  ws.onmessage = (m) => {
    let data;
    try { data = JSON.parse(m.data); } catch { return; }
    if (connected) iframe.contentWindow.postMessage(data, ${JSON.stringify(frameOrigin)});
    else { buffer.push(data); if (buffer.length > ${MAX_BUFFERED}) buffer.shift(); }
  };
  ws.onclose = () => setTimeout(connect, 2000);
}
connect();
`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Stately Inspector (wirewarden relay)</title>
<link rel="icon" href="data:,">
<style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body>
<iframe id="inspector" src="${escapeAttribute(inspectorUrl)}"></iframe>
<script>${script}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    `frame-src ${frameOrigin}`,
    "base-uri 'none'",
  ].join('; ');
  return { html, csp };
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
