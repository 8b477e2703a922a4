// Command pkcs12-truststore writes a PEM CA bundle as a PKCS#12 truststore the way cert-manager
// does for a Certificate's keystores.pkcs12 (truststore.p12): the same encoder, at the version
// cert-manager v1.19.2 pins, and the same profiles. The JVM trust test reads what it writes.
//
// Usage: pkcs12-truststore <profile> <password> <ca.pem> <truststore.p12>
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"software.sslmate.com/src/go-pkcs12"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: pkcs12-truststore <Modern2023|LegacyDES|LegacyRC2> <password> <ca.pem> <truststore.p12>")
		os.Exit(2)
	}
	profile, password, in, out := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	encoders := map[string]*pkcs12.Encoder{"Modern2023": pkcs12.Modern2023, "LegacyDES": pkcs12.LegacyDES, "LegacyRC2": pkcs12.LegacyRC2}
	encoder, ok := encoders[profile]
	if !ok {
		fail(fmt.Errorf("unknown profile %q", profile))
	}
	data, err := os.ReadFile(in)
	if err != nil {
		fail(err)
	}
	var cas []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			fail(err)
		}
		cas = append(cas, cert)
	}
	if len(cas) == 0 {
		fail(fmt.Errorf("%s holds no PEM certificate", in))
	}
	store, err := encoder.EncodeTrustStore(cas, password)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(out, store, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pkcs12-truststore:", err)
	os.Exit(1)
}
