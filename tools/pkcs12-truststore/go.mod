module github.com/ml-platform/tools/pkcs12-truststore

go 1.24

require software.sslmate.com/src/go-pkcs12 v0.6.0

require golang.org/x/crypto v0.11.0 // indirect
