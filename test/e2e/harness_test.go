// Package e2e runs the real reghub binary against real PostgreSQL and the
// upstream simulators over HTTP: actions in, deliveries out, acknowledgements
// back. Nothing is faked in memory. The harness is test/hubtest.
package e2e

import (
	"testing"

	"github.com/reghub/reghub/test/hubtest"
)

func TestMain(m *testing.M) { hubtest.Main(m) }
