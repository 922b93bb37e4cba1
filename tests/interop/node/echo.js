// A TLS echo peer on Node.js's own tls module (OpenSSL 3.5), for tests/test_interop_node.py.
//
//   node echo.js server '{"cert": [...], "key": [...], "ca": PATH, "ecdhCurve": ..., ...}'
//   node echo.js client '{"port": N, "ca": PATH, "message": TEXT, ...}'
//
// Options (all optional but port / cert / key): ecdhCurve, ciphers, minVersion, maxVersion,
// secureOptions (a number: 1 is SSL_OP_NO_EXTENDED_MASTER_SECRET), requestCert (server),
// cert/key (client: its certificate), ALPNProtocols (a list, preferred first), exportLabel /
// exportLength / exportContext (hex, absent: no context) for exportKeyingMaterial, timeout
// (ms, default 10000).
//
// The server listens on 127.0.0.1 only, on a port the OS picks, and prints "LISTENING <port>";
// it takes one connection, echoes what it reads until the client ends, then closes. The client
// dials 127.0.0.1 (SNI localhost), writes the message, reads until the echo is complete, then
// ends (close_notify). Each side prints one line "RESULT <json>" at the end: the negotiated
// protocol (getProtocol(), not getCipher().version, which is a suite's minimum version), the
// suite, the key exchange (client only: getEphemeralKeyInfo), the peer certificate's subject,
// the data, the key log lines (the 'keylog' event), an error if any. Every wait is bounded by
// the timeout: then it prints what it has and exits 2.
"use strict";

const fs = require("fs");
const tls = require("tls");

const [mode, raw] = process.argv.slice(2);
const opts = JSON.parse(raw || "{}");
const timeoutMs = opts.timeout || 10000;
const result = { mode, keylog: [], data: "", error: null };
let printed = false;

function finish(code) {
  if (!printed) {
    printed = true;
    process.stdout.write("RESULT " + JSON.stringify(result) + "\n");
  }
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

const timer = setTimeout(() => {
  result.error = result.error || `timed out after ${timeoutMs} ms`;
  finish(2);
}, timeoutMs);

function read(path) { return fs.readFileSync(path); }
function many(value) { return value === undefined ? undefined : [].concat(value).map(read); }

// What both roles share: group list, suites (TLS 1.2 and TLS_* 1.3 names in one string),
// versions, options.
function common() {
  const o = {};
  for (const k of ["ecdhCurve", "ciphers", "minVersion", "maxVersion", "secureOptions",
                   "ALPNProtocols"]) {
    if (opts[k] !== undefined) o[k] = opts[k];
  }
  if (opts.ca) o.ca = many(opts.ca);
  return o;
}

function describe(socket) {
  const cipher = socket.getCipher() || {};
  result.protocol = socket.getProtocol();
  result.cipher = cipher.name;
  result.standardName = cipher.standardName;
  result.authorized = socket.authorized;
  result.authorizationError = socket.authorizationError ? String(socket.authorizationError) : null;
  const peer = socket.getPeerCertificate();
  result.peerSubject = peer && peer.subject ? peer.subject.CN || null : null;
  result.alpnProtocol = socket.alpnProtocol || null;     // false when none was agreed
  if (opts.exportLabel) {
    const context = opts.exportContext === undefined ? undefined
      : Buffer.from(opts.exportContext, "hex");
    result.exported = socket.exportKeyingMaterial(opts.exportLength, opts.exportLabel, context)
      .toString("hex");
  }
}

if (mode === "server") {
  const server = tls.createServer({
    ...common(),
    cert: many(opts.cert),
    key: many(opts.key),
    dhparam: "auto",                  // DHE-RSA: OpenSSL picks a 2048-bit group for the key
    requestCert: !!opts.requestCert,
    rejectUnauthorized: !!opts.requestCert,
  });
  server.on("keylog", (line) => result.keylog.push(line.toString("latin1").trimEnd()));
  server.on("tlsClientError", (err) => {
    result.error = `${err.code || ""} ${err.message}`.trim();
    server.close();
    finish(1);
  });
  server.on("secureConnection", (socket) => {
    server.close();                   // one connection only
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error("idle timeout")));
    describe(socket);
    const chunks = [];
    socket.on("data", (d) => { chunks.push(d); socket.write(d); });
    socket.on("end", () => socket.end());
    socket.on("error", (err) => { result.error = `${err.code || ""} ${err.message}`.trim(); });
    socket.on("close", () => {
      result.data = Buffer.concat(chunks).toString("latin1");
      clearTimeout(timer);
      finish(result.error ? 1 : 0);
    });
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`LISTENING ${server.address().port}\n`);
  });
} else if (mode === "client") {
  const message = Buffer.from(opts.message || "", "latin1");
  const o = {
    ...common(),
    host: "127.0.0.1",
    port: opts.port,
    servername: "localhost",
    rejectUnauthorized: true,
  };
  if (opts.cert) o.cert = many(opts.cert);
  if (opts.key) o.key = many(opts.key);
  const chunks = [];
  let got = 0;
  const socket = tls.connect(o);
  socket.on("keylog", (line) => result.keylog.push(line.toString("latin1").trimEnd()));
  socket.on("secureConnect", () => {
    describe(socket);
    result.ephemeral = socket.getEphemeralKeyInfo();
    if (message.length === 0) socket.end();
    else socket.write(message);
  });
  socket.on("data", (d) => {
    chunks.push(d);
    got += d.length;
    if (got >= message.length) socket.end();     // the echo is complete: close_notify
  });
  socket.on("error", (err) => { result.error = `${err.code || ""} ${err.message}`.trim(); });
  socket.on("close", () => {
    result.data = Buffer.concat(chunks).toString("latin1");
    clearTimeout(timer);
    finish(result.error ? 1 : 0);
  });
} else {
  process.stderr.write("usage: node echo.js server|client JSON\n");
  process.exit(64);
}
