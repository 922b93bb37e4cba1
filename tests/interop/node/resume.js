// TLS 1.3 resumption on Node.js's own tls module (OpenSSL 3.5), for
// tests/test_interop_resumption13.py.
//
//   node resume.js server '{"cert": [...], "key": PATH, "connections": 2}'
//   node resume.js client '{"port": N, "ca": PATH, "ecdhCurve": "X25519MLKEM768", "connections": 2}'
//
// The server listens on 127.0.0.1 (a port the OS picks, printed as "LISTENING <port>"), echoes
// each connection and stops after `connections` of them. The client connects `connections`
// times one after the other, each time offering the last session ticket it got ('session'
// event), writes "ping", waits for the echo and ends. Both print one line "RESULT <json>":
// `reused` (isSessionReused() per connection), the key log lines, an error if any. Every wait
// is bounded by `timeout` ms (default 10000); then it prints what it has and exits 2.
"use strict";

const fs = require("fs");
const tls = require("tls");

const [mode, raw] = process.argv.slice(2);
const opts = JSON.parse(raw || "{}");
const count = opts.connections || 2;
const result = { mode, reused: [], keylog: [], error: null };
let printed = false;

function finish(code) {
  if (!printed) {
    printed = true;
    process.stdout.write("RESULT " + JSON.stringify(result) + "\n");
  }
  setImmediate(() => process.exit(code));
}
setTimeout(() => { result.error = result.error || "timed out"; finish(2); }, opts.timeout || 10000);

const many = (v) => [].concat(v).map((p) => fs.readFileSync(p));

if (mode === "server") {
  let served = 0;
  const server = tls.createServer({ cert: Buffer.concat(many(opts.cert)), key: many(opts.key),
                                    minVersion: "TLSv1.3" });
  server.on("keylog", (line) => result.keylog.push(line.toString("latin1").trimEnd()));
  server.on("tlsClientError", (err) => { result.error = err.message; finish(1); });
  server.on("secureConnection", (socket) => {
    result.reused.push(socket.isSessionReused());
    socket.on("data", (d) => socket.write(d));
    socket.on("end", () => socket.end());
    socket.on("error", (err) => { result.error = err.message; });
    socket.on("close", () => { if (++served >= count) { server.close(); finish(result.error ? 1 : 0); } });
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`LISTENING ${server.address().port}\n`));
} else if (mode === "client") {
  let session;
  const once = (n) => {
    const o = { host: "127.0.0.1", port: opts.port, servername: "localhost",
                ca: many(opts.ca), minVersion: "TLSv1.3", rejectUnauthorized: true };
    if (opts.ecdhCurve) o.ecdhCurve = opts.ecdhCurve;
    if (session) o.session = session;
    const socket = tls.connect(o);
    socket.on("keylog", (line) => result.keylog.push(line.toString("latin1").trimEnd()));
    socket.on("session", (s) => { session = s; });
    socket.on("secureConnect", () => { result.reused.push(socket.isSessionReused()); socket.write("ping"); });
    let got = "";
    socket.on("data", (d) => { got += d.toString("latin1"); if (got.length >= 4) socket.end(); });
    socket.on("error", (err) => { result.error = err.message; });
    socket.on("close", () => {
      if (result.error) return finish(1);
      if (n + 1 < count) once(n + 1); else finish(0);
    });
  };
  once(0);
} else {
  process.stderr.write("usage: node resume.js server|client JSON\n");
  process.exit(64);
}
