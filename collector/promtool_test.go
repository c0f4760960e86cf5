package collector_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

// TestPromtoolCheckMetrics runs `promtool check metrics` (Prometheus's
// exposition linter: naming, units, HELP text, counter suffixes) over every
// golden exposition, as node_exporter does over its fixtures. It skips when
// promtool is not installed, and fails in CI (CI=true, see .ci/run).
func TestPromtoolCheckMetrics(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.prom"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden expositions in testdata/*.prom (err %v)", err)
	}
	promtool := testutil.RequireBinary(t, "promtool")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
			cmd.Stdin = bytes.NewReader(in)
			// promtool exits 0 with problems printed for some lint
			// levels, so any output is a failure too.
			out, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("promtool check metrics < %s: %v\n%s", f, err, out)
			}
		})
	}
}
