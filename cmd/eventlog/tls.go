package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"github.com/eventlog/eventlog/client"
	"os"
)

// serverTLS builds the TLS configuration of the server's listeners from
// --tls-cert, --tls-key and --tls-client-ca, or returns nil when none is
// given (plaintext). With a client CA, clients must present a certificate
// it signed (mutual TLS).
func serverTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		if clientCAFile != "" {
			return nil, usagef("--tls-client-ca needs --tls-cert and --tls-key: client certificates are checked over TLS")
		}
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, usagef("--tls-cert and --tls-key go together: the server's certificate chain and its private key, PEM")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert, --tls-key: %w", err)
	}
	c := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if clientCAFile != "" {
		pool, err := loadPool("--tls-client-ca", clientCAFile)
		if err != nil {
			return nil, err
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// clientTLS builds the TLS configuration of a client command with
// client.LoadTLS: the server is checked against caFile (the system's roots
// when empty), and certFile and keyFile, when given, are the client's
// certificate for mutual TLS.
func clientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, usagef("--tls-cert and --tls-key go together: the client's certificate and its private key, PEM")
	}
	c, err := client.LoadTLS(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca, --tls-cert, --tls-key: %w", err)
	}
	return c, nil
}

// loadPool reads PEM certificates into a pool; flag names the file in
// errors.
func loadPool(flag, file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: no PEM certificate in the file", flag, file)
	}
	return pool, nil
}
