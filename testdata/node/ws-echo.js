// An independent WebSocket echo server for volley's tests, on npm ws.
// Usage: node ws-echo.js [--stall-at MS --stall-for MS]
// Listens on 127.0.0.1, an ephemeral port, and prints "listening PORT".
// Every data message is echoed unchanged, in its frame type. Messages that
// arrive while the server is stalled (from stall-at for stall-for
// milliseconds after the first connection) are held and echoed when the
// stall ends, as a server that freezes would. GET /stats answers
// {"connections":C,"received":R,"echoed":E}.
'use strict';
const http = require('http');
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, 'node_modules', 'ws'));

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const stallAt = arg('--stall-at', -1);
const stallFor = arg('--stall-for', 0);

let connections = 0, received = 0, echoed = 0, t0 = 0;
let held = [];
let releaseTimer = null;

function stalled(now) {
  if (stallAt < 0 || t0 === 0) return false;
  const t = now - t0;
  return t >= stallAt && t < stallAt + stallFor;
}

function release() {
  const q = held;
  held = [];
  for (const [ws, data, binary] of q) send(ws, data, binary);
}

function send(ws, data, binary) {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(data, { binary }, (err) => { if (!err) echoed++; });
}

const server = http.createServer((req, res) => {
  if (req.url === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ connections, received, echoed }));
    return;
  }
  res.writeHead(404);
  res.end();
});

const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on('connection', (ws) => {
  connections++;
  if (t0 === 0) t0 = Date.now();
  ws.on('message', (data, binary) => {
    received++;
    const now = Date.now();
    if (stalled(now)) {
      held.push([ws, data, binary]);
      if (!releaseTimer) {
        releaseTimer = setTimeout(() => { releaseTimer = null; release(); }, t0 + stallAt + stallFor - now);
      }
      return;
    }
    send(ws, data, binary);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
