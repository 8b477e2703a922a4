// Command kubectl builds the upstream kubectl from its published module, for the review
// environment jobs (docs/review.md) and the test that runs their commands against a real API
// server. k8s.io/kubectl publishes the command's packages but no main package; this is the
// entry point kubectl's own main package has.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
