// An independent WebRTC data-channel echo peer for volley's tests, on npm
// werift (ICE, DTLS, SCTP and data channels written in TypeScript).
// Usage: node rtc-echo.js [--port N] [--stall-at MS --stall-for MS]
// Listens on 127.0.0.1 (an ephemeral port unless --port) and prints
// "listening PORT" once ready.
//
// Signalling is WHIP-shaped (RFC 9725) without trickle ICE:
//   POST /rtc, Content-Type: application/sdp, a complete offer with a data
//     channel (m=application): once ICE gathering is complete, 201 with
//     Content-Type: application/sdp, Location: /rtc/<id> and the complete
//     answer. Another content type is 415; an offer that does not apply
//     (not SDP, no data channel, no candidate on loopback) is 400.
//   DELETE /rtc/<id>: 200 and that peer connection closes; 404 if unknown.
//   GET /stats: {"offered","answered","connected","deleted","open",
//     "channels","received","echoed"}: offers posted as application/sdp,
//     201s, peer connections that reached "connected", 200s to DELETE,
//     sessions answered and not yet deleted or failed, channels the clients
//     opened, messages received and echoed.
// ICE stays on loopback: the peer's sockets bind 127.0.0.1, it pairs only
// loopback candidates, and the answer lists only those (werift gathers the
// other interfaces' addresses too) and the offer's others are ignored.
//
// Every message on every data channel the client opens is echoed on that
// channel unchanged, text as text and binary as binary, in order. Messages
// that arrive while the peer is stalled (from stall-at for stall-for
// milliseconds after the first session's channel opens) are held and echoed
// in order when the stall ends, as a peer that freezes would.
'use strict';
const http = require('http');
const path = require('path');
const { RTCPeerConnection } = require(path.join(__dirname, 'node_modules', 'werift'));

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const port = arg('--port', 0);
const stallAt = arg('--stall-at', -1);
const stallFor = arg('--stall-for', 0);

// How long an offer may take to gather, and the largest offer read.
const gatherTimeout = 10000;
const maxOffer = 1 << 20;

const stats = { offered: 0, answered: 0, connected: 0, deleted: 0, open: 0, channels: 0, received: 0, echoed: 0 };
const sessions = new Map(); // id -> RTCPeerConnection, answered and open
const pending = new Set(); // peer connections not yet answered
let nextId = 1;
let t0 = 0;
let held = [];
let releaseTimer = null;

function isLoopback(addr) {
  return addr === '::1' || /^127\./.test(addr || '');
}

function stalled(now) {
  if (stallAt < 0 || t0 === 0) return false;
  const t = now - t0;
  return t >= stallAt && t < stallAt + stallFor;
}

function release() {
  releaseTimer = null;
  const q = held;
  held = [];
  for (const [dc, data] of q) send(dc, data);
}

// WebRTC sends an empty message as one byte with the "empty" payload
// protocol identifier (RFC 8831, section 6.6). werift's send gives an empty
// message no SCTP chunk at all yet spends its stream sequence number, which
// stalls the ordered channel for good; the peer queues such a message with
// the right identifier itself.
const PPID_STRING_EMPTY = 56;
const PPID_BINARY_EMPTY = 57;

function sendEmpty(dc, binary) {
  const sctp = dc.sctp;
  if (!sctp || !Array.isArray(sctp.dataChannelQueue) || typeof sctp.dataChannelFlush !== 'function') {
    throw new Error('cannot send an empty message with this werift');
  }
  dc.addBufferedAmount(1);
  sctp.dataChannelQueue.push([dc, binary ? PPID_BINARY_EMPTY : PPID_STRING_EMPTY, Buffer.alloc(1)]);
  sctp.dataChannelFlush();
}

function send(dc, data) {
  if (dc.readyState !== 'open') return;
  try {
    if (data.length === 0) sendEmpty(dc, typeof data !== 'string');
    else dc.send(data);
    stats.echoed++;
  } catch (err) {
    process.stderr.write('rtc-echo: echo failed: ' + err.message + '\n');
  }
}

function echo(dc, data) {
  stats.received++;
  const now = Date.now();
  // While held messages wait, later ones wait behind them to keep order.
  if (stalled(now) || held.length > 0) {
    held.push([dc, data]);
    if (!releaseTimer) releaseTimer = setTimeout(release, Math.max(0, t0 + stallAt + stallFor - now));
    return;
  }
  send(dc, data);
}

function onChannel(dc) {
  stats.channels++;
  const opened = () => { if (t0 === 0) t0 = Date.now(); };
  if (dc.readyState === 'open') opened();
  else dc.stateChanged.subscribe((s) => { if (s === 'open') opened(); });
  dc.onMessage.subscribe((data) => echo(dc, data));
}

function closePeer(pc) {
  return pc.close().catch(() => {});
}

// closeSession ends an answered session once, whichever way it ends.
function closeSession(id) {
  const pc = sessions.get(id);
  if (!pc) return null;
  sessions.delete(id);
  stats.open--;
  return closePeer(pc);
}

// loopbackOnly drops the SDP's candidates that are not on loopback.
function loopbackOnly(sdp) {
  return sdp.split(/\r?\n/).filter((line) => {
    if (!line.startsWith('a=candidate:')) return true;
    return isLoopback(line.split(' ')[4]);
  }).join('\r\n');
}

// offerProblem says why an offer cannot apply, or '' if it may.
function offerProblem(sdp) {
  if (!sdp.startsWith('v=0')) return 'not SDP';
  if (!/^m=application \d+ [A-Z/]*SCTP/m.test(sdp)) return 'no data channel (m=application over SCTP)';
  for (const a of ['ice-ufrag', 'ice-pwd', 'fingerprint']) {
    if (!new RegExp('^a=' + a + ':', 'm').test(sdp)) return 'no a=' + a;
  }
  if (!/^a=candidate:/m.test(sdp)) return 'no candidate on loopback';
  return '';
}

function gathered(pc) {
  return new Promise((resolve, reject) => {
    let sub = null;
    const timer = setTimeout(() => {
      if (sub) sub.unSubscribe();
      reject(new Error('ICE gathering did not complete'));
    }, gatherTimeout);
    const check = () => {
      if (pc.iceGatheringState !== 'complete') return false;
      clearTimeout(timer);
      if (sub) sub.unSubscribe();
      resolve();
      return true;
    };
    if (!check()) sub = pc.iceGatheringStateChange.subscribe(check);
  });
}

function reply(res, code, headers, body) {
  res.writeHead(code, headers);
  res.end(body);
}

function text(res, code, msg) {
  reply(res, code, { 'Content-Type': 'text/plain' }, msg + '\n');
}

async function answer(body, res) {
  stats.offered++;
  const offer = loopbackOnly(body);
  const problem = offerProblem(offer);
  if (problem) {
    text(res, 400, 'offer does not apply: ' + problem);
    return;
  }
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceFilterCandidatePair: (pair) => isLoopback(pair.localCandidate.host) && isLoopback(pair.remoteCandidate.host),
  });
  pending.add(pc);
  let connected = false;
  let id = 0;
  pc.onDataChannel.subscribe(onChannel);
  pc.connectionStateChange.subscribe((s) => {
    if (s === 'connected' && !connected) {
      connected = true;
      stats.connected++;
    }
    if ((s === 'failed' || s === 'closed') && id) closeSession(id);
  });
  try {
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  } catch (err) {
    pending.delete(pc);
    closePeer(pc);
    text(res, 400, 'offer does not apply: ' + err.message);
    return;
  }
  try {
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
  } catch (err) {
    pending.delete(pc);
    closePeer(pc);
    text(res, 500, 'no answer: ' + err.message);
    return;
  }
  if (!pending.delete(pc)) {
    text(res, 503, 'shutting down'); // closed while gathering
    return;
  }
  id = nextId++;
  sessions.set(id, pc);
  stats.answered++;
  stats.open++;
  reply(res, 201, { 'Content-Type': 'application/sdp', Location: '/rtc/' + id }, loopbackOnly(pc.localDescription.sdp));
}

function postOffer(req, res) {
  const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/sdp') {
    req.resume();
    text(res, 415, 'want Content-Type: application/sdp');
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= maxOffer) chunks.push(c);
  });
  req.on('end', () => {
    if (size > maxOffer) {
      text(res, 413, 'offer too large');
      return;
    }
    answer(Buffer.concat(chunks).toString('utf8'), res).catch((err) => {
      if (!res.headersSent) text(res, 500, err.message);
    });
  });
}

const server = http.createServer((req, res) => {
  const url = req.url.split('?')[0];
  if (url === '/stats' && req.method === 'GET') {
    reply(res, 200, { 'Content-Type': 'application/json' }, JSON.stringify(stats));
    return;
  }
  if (url === '/rtc') {
    if (req.method === 'POST') return postOffer(req, res);
    req.resume();
    reply(res, 405, { Allow: 'POST' }, '');
    return;
  }
  const m = /^\/rtc\/([0-9]+)$/.exec(url);
  req.resume();
  if (!m) {
    reply(res, 404, {}, '');
  } else if (req.method !== 'DELETE') {
    reply(res, 405, { Allow: 'DELETE' }, '');
  } else if (!closeSession(Number(m[1]))) {
    reply(res, 404, {}, '');
  } else {
    stats.deleted++;
    reply(res, 200, {}, '');
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});

// On SIGTERM or SIGINT every peer connection closes (for at most 2 s), then
// the peer exits with status 0.
let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  if (releaseTimer) clearTimeout(releaseTimer);
  server.close();
  const closing = [...sessions.keys()].map(closeSession);
  for (const pc of pending) closing.push(closePeer(pc));
  pending.clear();
  const cap = new Promise((r) => setTimeout(r, 2000).unref());
  Promise.race([Promise.all(closing), cap]).then(() => process.exit(0));
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, shutdown);
