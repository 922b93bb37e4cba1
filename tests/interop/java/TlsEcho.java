// A JSSE echo peer for tests/test_interop_java.py, on 127.0.0.1 only.
//
//   java TlsEcho server --keystore S.p12 [--truststore T.p12 --need-client-auth]
//                       [--protocol TLSv1.3] [--suite NAME]
//       listens on 127.0.0.1:0, prints "LISTENING <port>", takes one connection, prints what was
//       negotiated, echoes until the client's close_notify, then closes.
//   java TlsEcho client --port P --truststore T.p12 [--keystore C.p12] [--protocol ...]
//                       [--suite ...] --message HEX
//       connects to 127.0.0.1:P (SNI and the name checked: localhost), prints what was
//       negotiated, sends the message, reads the echo and prints it as hex, then closes.
//
// Output lines: PROTOCOL <name>, SUITE <name>, PEER <subject>|none, LOCAL <subject>|none,
// ECHO <hex> (client), ECHOED <bytes> (server), ERROR <text>. Groups and EMS are chosen on the
// java command line (-Djdk.tls.namedGroups, -Djdk.tls.useExtendedMasterSecret). Every socket
// wait is bounded by --timeout seconds, and a watchdog ends the process after twice that.
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public final class TlsEcho {
    private static final char[] PASSWORD = "lesson".toCharArray();

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = parse(args);
        int timeout = Integer.parseInt(opt.getOrDefault("timeout", "10")) * 1000;
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(2L * timeout);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("ERROR watchdog: gave up after " + (2 * timeout) + " ms");
            System.out.flush();
            Runtime.getRuntime().halt(3);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        try {
            SSLContext context = context(opt);
            if ("server".equals(opt.get("mode"))) {
                server(context, opt, timeout);
            } else {
                client(context, opt, timeout);
            }
        } catch (Exception e) {
            System.out.println("ERROR " + e);
            System.out.flush();
            System.exit(1);
        }
        System.out.flush();
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opt = new HashMap<>();
        opt.put("mode", args[0]);
        for (int i = 1; i < args.length; i++) {
            String name = args[i].substring(2);
            if (name.equals("need-client-auth")) {
                opt.put(name, "true");
            } else {
                opt.put(name, args[++i]);
            }
        }
        return opt;
    }

    private static KeyStore load(String path) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(path)) {
            store.load(in, PASSWORD);
        }
        return store;
    }

    private static SSLContext context(Map<String, String> opt) throws Exception {
        KeyManagerFactory kmf = null;
        if (opt.containsKey("keystore")) {
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(load(opt.get("keystore")), PASSWORD);
        }
        TrustManagerFactory tmf = null;
        if (opt.containsKey("truststore")) {
            tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(load(opt.get("truststore")));
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf == null ? null : kmf.getKeyManagers(),
                     tmf == null ? null : tmf.getTrustManagers(), null);
        return context;
    }

    private static void restrict(SSLParameters params, Map<String, String> opt) {
        if (opt.containsKey("protocol")) {
            params.setProtocols(opt.get("protocol").split(","));
        }
        if (opt.containsKey("suite")) {
            params.setCipherSuites(opt.get("suite").split(","));
        }
    }

    private static String subject(Certificate[] chain) {
        if (chain == null || chain.length == 0) {
            return "none";
        }
        return ((X509Certificate) chain[0]).getSubjectX500Principal().getName();
    }

    private static void report(SSLSocket socket) {
        SSLSession session = socket.getSession();
        System.out.println("PROTOCOL " + session.getProtocol());
        System.out.println("SUITE " + session.getCipherSuite());
        String peer;
        try {
            peer = subject(session.getPeerCertificates());
        } catch (SSLPeerUnverifiedException e) {
            peer = "none";
        }
        System.out.println("PEER " + peer);
        System.out.println("LOCAL " + subject(session.getLocalCertificates()));
        System.out.flush();
    }

    private static void server(SSLContext context, Map<String, String> opt, int timeout)
            throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        try (SSLServerSocket listener = (SSLServerSocket) context.getServerSocketFactory()
                .createServerSocket(0, 1, loopback)) {
            SSLParameters params = listener.getSSLParameters();
            restrict(params, opt);
            params.setNeedClientAuth(opt.containsKey("need-client-auth"));
            listener.setSSLParameters(params);
            listener.setSoTimeout(timeout);
            System.out.println("LISTENING " + listener.getLocalPort());
            System.out.flush();
            try (SSLSocket socket = (SSLSocket) listener.accept()) {
                socket.setSoTimeout(timeout);
                socket.startHandshake();
                report(socket);
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                byte[] buffer = new byte[65536];
                long echoed = 0;
                int n;
                while ((n = in.read(buffer)) > 0) {      // -1 at the client's close_notify
                    out.write(buffer, 0, n);
                    out.flush();
                    echoed += n;
                }
                System.out.println("ECHOED " + echoed);
            }
        }
    }

    private static void client(SSLContext context, Map<String, String> opt, int timeout)
            throws Exception {
        int port = Integer.parseInt(opt.get("port"));
        byte[] message = hexToBytes(opt.getOrDefault("message", ""));
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), timeout);
            raw.setSoTimeout(timeout);
            try (SSLSocket socket = (SSLSocket) context.getSocketFactory()
                    .createSocket(raw, "localhost", port, true)) {
                SSLParameters params = socket.getSSLParameters();
                restrict(params, opt);
                params.setEndpointIdentificationAlgorithm("HTTPS");   // the name: localhost
                socket.setSSLParameters(params);
                socket.startHandshake();
                report(socket);
                socket.getOutputStream().write(message);
                socket.getOutputStream().flush();
                InputStream in = socket.getInputStream();
                ByteArrayOutputStream echo = new ByteArrayOutputStream();
                byte[] buffer = new byte[65536];
                while (echo.size() < message.length) {
                    int n = in.read(buffer);
                    if (n < 0) {
                        break;
                    }
                    echo.write(buffer, 0, n);
                }
                System.out.println("ECHO " + bytesToHex(echo.toByteArray()));
                System.out.flush();
            }
        }
    }

    private static byte[] hexToBytes(String hex) {
        byte[] out = new byte[hex.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    private static String bytesToHex(byte[] data) {
        StringBuilder sb = new StringBuilder(2 * data.length);
        for (byte b : data) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }
}
