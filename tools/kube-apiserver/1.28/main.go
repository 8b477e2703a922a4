// Command kube-apiserver builds the upstream Kubernetes API server from published modules, so
// CI can dry-run every rendered object against a real API server. The k8s.io/kubernetes module
// points its staging modules at local folders that its module zip does not contain; this
// wrapper's go.mod replaces them with their published versions instead.
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
