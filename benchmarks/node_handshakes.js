// Full TLS 1.3 handshakes between a Node.js server and client in one process, on 127.0.0.1:
// the OpenSSL 3.5 inside Node 26 doing what benchmarks/bench.py times our package doing.
//
//   node node_handshakes.js '{"cert": PEM, "key": PEM, "ca": PEM, "group": "X25519MLKEM768",
//                             "runs": 200, "warmup": 10, "resume": false}'
//
// With "resume": true every handshake after the first offers the ticket the first one got
// (the 'session' event), so the timed ones are resumed (psk_dhe_ke) handshakes: what
// bench.py's resumed row times our package doing.
//
// One group on both sides (ecdhCurve), TLS_AES_128_GCM_SHA256, the client verifying the
// server's chain and name (localhost). A handshake is timed from tls.connect until both the
// client's secureConnect and the server's secureConnection have fired, one at a time. Prints one
// line of JSON: {"median_ms": ..., "runs": N, "openssl": "3.5.x", "group": ...}. Bounded: every
// connection has a timeout, and the whole run gives up after 120 s.
"use strict";

const tls = require("tls");
const opts = JSON.parse(process.argv[2] || "{}");
const runs = opts.runs || 200;
const warmup = opts.warmup === undefined ? 10 : opts.warmup;
setTimeout(() => { process.stderr.write("timed out\n"); process.exit(2); }, 120000).unref();

const common = { ecdhCurve: opts.group, minVersion: "TLSv1.3", maxVersion: "TLSv1.3",
                 ciphersuites: "TLS_AES_128_GCM_SHA256" };
let serverDone = null;
const server = tls.createServer({ ...common, cert: opts.cert, key: opts.key }, (socket) => {
  socket.on("error", () => {});
  socket.on("end", () => socket.end());
  if (serverDone) serverDone();
});
server.on("tlsClientError", (err) => { process.stderr.write(`server: ${err.message}\n`); process.exit(1); });

let session = null;                       // "resume": the last ticket the client got
let reused = 0;

function once(port) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let handshakes = 2;                  // the client's secureConnect, the server's secureConnection
    // resuming: the first connection waits (untimed) for its ticket; the resumed ones offer it
    // again (OpenSSL's tickets are not single-use, and a resumed handshake brings no new one)
    let ticket = !opts.resume || session !== null;
    let socket = null;
    let ms = null;
    const finish = () => {
      if (handshakes > 0 || !ticket) return;
      if (socket.isSessionReused()) reused++;
      socket.end();
      resolve(ms);
    };
    const done = () => {                 // both sides finished: stop the clock, then close
      if (--handshakes === 0) ms = Number(process.hrtime.bigint() - started) / 1e6;
      finish();
    };
    serverDone = done;
    socket = tls.connect({ ...common, host: "127.0.0.1", port, servername: "localhost",
                           ca: opts.ca, rejectUnauthorized: true,
                           ...(opts.resume && session ? { session } : {}) });
    if (opts.resume) {                   // tickets are read only from a flowing socket
      socket.once("session", (s) => { session = s; ticket = true; finish(); });
      socket.resume();
    }
    socket.setTimeout(10000, () => reject(new Error("handshake timed out")));
    socket.on("secureConnect", done);
    socket.on("error", reject);
  });
}

server.listen(0, "127.0.0.1", async () => {
  const port = server.address().port;
  const times = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const ms = await once(port);
      if (i >= warmup) times.push(ms);
    }
  } catch (err) {
    process.stderr.write(`client: ${err.message}\n`);
    process.exit(1);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  process.stdout.write(JSON.stringify({ median_ms: median, runs, group: opts.group, reused,
                                        openssl: process.versions.openssl }) + "\n");
  server.close();
  process.exit(0);
});
