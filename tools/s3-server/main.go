// An S3 server for the integration tests, in memory, over HTTPS: gofakes3 behind Go's TLS server.
// It checks no signature, which the tests do not need; the clients still sign and verify the
// server's certificate as they would against MinIO.
// Usage: s3-server -listen 127.0.0.1:9000 -cert server.crt -key server.key -bucket name...
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to serve on")
	cert := flag.String("cert", "", "PEM certificate the server presents")
	key := flag.String("key", "", "PEM key of the certificate")
	buckets := flag.String("buckets", "", "comma-separated buckets to create at start")
	flag.Parse()
	if *cert == "" || *key == "" {
		log.Fatal("s3-server: -cert and -key are required (the tests speak TLS only)")
	}
	backend := s3mem.New()
	for _, b := range strings.Split(*buckets, ",") {
		if b == "" {
			continue
		}
		if err := backend.CreateBucket(b); err != nil {
			log.Fatalf("s3-server: bucket %s: %v", b, err)
		}
	}
	faker := gofakes3.New(backend)
	log.Printf("s3-server: serving https://%s", *listen)
	log.Fatal(http.ListenAndServeTLS(*listen, *cert, *key, faker.Server()))
}
