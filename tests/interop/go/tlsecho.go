// A crypto/tls echo peer for tests/test_interop_go.py, on 127.0.0.1 only (Go 1.19, stdlib only).
//
//	tlsecho -mode server -cert A.crt[,B.crt] -key A.key[,B.key] [-ca ca.crt -client-auth]
//	        [-version 1.2|1.3] [-suite IANA_NAME] [-curves X25519,P256] [-keylog FILE]
//	    listens on 127.0.0.1:0, prints "LISTENING <port>", takes one connection, prints what
//	    was negotiated, echoes until the client's close_notify, then closes (close_notify).
//	tlsecho -mode client -port P -ca ca.crt [-cert C.crt -key C.key] [-version ...]
//	        [-suite ...] [-curves ...] [-keylog FILE] -message HEX
//	    connects to 127.0.0.1:P (SNI and the name checked: localhost), sends the message, reads
//	    the echo, prints it as hex, then closes (close_notify).
//
// Output lines: PROTOCOL, SUITE, PEER <subject>|none, LOCAL <subject> <key type>|none,
// ECHO <hex> (client), ECHOED <bytes> (server), ERROR <text>. TLS 1.3 suites cannot be chosen
// in crypto/tls (-suite applies to TLS 1.2). Every socket wait is bounded by -timeout seconds.
package main

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

var (
	mode       = flag.String("mode", "", "server or client")
	certFiles  = flag.String("cert", "", "PEM certificate chain files, comma-separated")
	keyFiles   = flag.String("key", "", "PEM key files, comma-separated, matching -cert")
	caFile     = flag.String("ca", "", "PEM trust anchor (server: for client certificates)")
	clientAuth = flag.Bool("client-auth", false, "server: require and verify a client certificate")
	version    = flag.String("version", "", "1.2 or 1.3 (default: both)")
	suite      = flag.String("suite", "", "TLS 1.2 suite, IANA name")
	curves     = flag.String("curves", "", "X25519,P256 (in preference order)")
	keylog     = flag.String("keylog", "", "append NSS key log lines to this file")
	port       = flag.Int("port", 0, "client: the 127.0.0.1 port to connect to")
	message    = flag.String("message", "", "client: the data to send, hex")
	timeout    = flag.Int("timeout", 10, "seconds for every socket wait")
)

// local is what this side presented: "<subject> <key type>", or "none".
var local = "none"

func fail(err error) {
	fmt.Printf("ERROR %v\n", err)
	os.Exit(1)
}

func keyType(cert *tls.Certificate) string {
	switch cert.PrivateKey.(type) {
	case *rsa.PrivateKey:
		return "RSA"
	case *ecdsa.PrivateKey:
		return "ECDSA"
	}
	return "other"
}

func describe(cert *tls.Certificate) string {
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return "unparsable"
	}
	return leaf.Subject.String() + " " + keyType(cert)
}

func config() *tls.Config {
	cfg := &tls.Config{ServerName: "localhost"}
	if *certFiles != "" {
		keys := strings.Split(*keyFiles, ",")
		for i, name := range strings.Split(*certFiles, ",") {
			cert, err := tls.LoadX509KeyPair(name, keys[i])
			if err != nil {
				fail(err)
			}
			cfg.Certificates = append(cfg.Certificates, cert)
		}
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail(errors.New("no certificate in " + *caFile))
		}
		cfg.RootCAs, cfg.ClientCAs = pool, pool
	}
	switch *version {
	case "1.2":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case "1.3":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	default:
		cfg.MinVersion = tls.VersionTLS12
	}
	if *suite != "" {
		found := false
		for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
			if s.Name == *suite {
				cfg.CipherSuites, found = []uint16{s.ID}, true
			}
		}
		if !found {
			fail(errors.New("crypto/tls has no suite " + *suite))
		}
	}
	if *curves != "" {
		names := map[string]tls.CurveID{"X25519": tls.X25519, "P256": tls.CurveP256,
			"P384": tls.CurveP384, "P521": tls.CurveP521}
		for _, name := range strings.Split(*curves, ",") {
			id, ok := names[name]
			if !ok {
				fail(errors.New("unknown curve " + name))
			}
			cfg.CurvePreferences = append(cfg.CurvePreferences, id)
		}
	}
	if *keylog != "" {
		f, err := os.OpenFile(*keylog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fail(err)
		}
		cfg.KeyLogWriter = f
	}
	return cfg
}

func report(conn *tls.Conn) {
	state := conn.ConnectionState()
	names := map[uint16]string{tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}
	fmt.Printf("PROTOCOL %s\n", names[state.Version])
	fmt.Printf("SUITE %s\n", tls.CipherSuiteName(state.CipherSuite))
	if len(state.PeerCertificates) > 0 {
		fmt.Printf("PEER %s\n", state.PeerCertificates[0].Subject.String())
	} else {
		fmt.Println("PEER none")
	}
	fmt.Printf("LOCAL %s\n", local)
}

func serve(cfg *tls.Config, wait time.Duration) {
	if *clientAuth {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	certs := cfg.Certificates
	cfg.Certificates = nil
	// crypto/tls's own choice (the first certificate the ClientHello supports), recorded
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		for i := range certs {
			if hello.SupportsCertificate(&certs[i]) == nil {
				local = describe(&certs[i])
				return &certs[i], nil
			}
		}
		local = describe(&certs[0])
		return &certs[0], nil
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer listener.Close()
	listener.(*net.TCPListener).SetDeadline(time.Now().Add(wait))
	fmt.Printf("LISTENING %d\n", listener.Addr().(*net.TCPAddr).Port)
	raw, err := listener.Accept()
	if err != nil {
		fail(err)
	}
	raw.SetDeadline(time.Now().Add(wait))
	conn := tls.Server(raw, cfg)
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		fail(err)
	}
	report(conn)
	buffer := make([]byte, 65536)
	echoed := 0
	for {
		n, err := conn.Read(buffer) // TLS 1.2: data can come with io.EOF
		if n > 0 {
			if _, werr := conn.Write(buffer[:n]); werr != nil {
				fail(werr)
			}
			echoed += n
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(err)
		}
	}
	fmt.Printf("ECHOED %d\n", echoed)
}

func connect(cfg *tls.Config, wait time.Duration) {
	data, err := hex.DecodeString(*message)
	if err != nil {
		fail(err)
	}
	certs := cfg.Certificates
	cfg.Certificates = nil
	// crypto/tls's own rule (send the certificate if the CertificateRequest allows it), recorded
	cfg.GetClientCertificate = func(request *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		for i := range certs {
			if request.SupportsCertificate(&certs[i]) == nil {
				local = describe(&certs[i])
				return &certs[i], nil
			}
		}
		return &tls.Certificate{}, nil
	}
	dialer := net.Dialer{Timeout: wait}
	raw, err := dialer.Dial("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		fail(err)
	}
	raw.SetDeadline(time.Now().Add(wait))
	conn := tls.Client(raw, cfg)
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		fail(err)
	}
	report(conn)
	if _, err := conn.Write(data); err != nil {
		fail(err)
	}
	echo := make([]byte, 0, len(data))
	buffer := make([]byte, 65536)
	for len(echo) < len(data) {
		n, err := conn.Read(buffer)
		echo = append(echo, buffer[:n]...)
		if err != nil {
			if err != io.EOF {
				fail(err)
			}
			break
		}
	}
	fmt.Printf("ECHO %s\n", hex.EncodeToString(echo))
}

func main() {
	flag.Parse()
	wait := time.Duration(*timeout) * time.Second
	// a watchdog: no run outlives twice its timeout, whatever blocks
	go func() {
		time.Sleep(2 * wait)
		fmt.Println("ERROR watchdog: gave up")
		os.Exit(3)
	}()
	cfg := config()
	switch *mode {
	case "server":
		serve(cfg, wait)
	case "client":
		connect(cfg, wait)
	default:
		fail(errors.New("-mode server or client"))
	}
}
