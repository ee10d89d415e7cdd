package hubtest

import (
	"bytes"
	"errors"
	"os/exec"
	"testing"
)

// Run runs the reghub binary with args (a CLI command such as `audit
// verify`) to completion and returns its output and exit code.
func Run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(hubBinary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run reghub %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}
