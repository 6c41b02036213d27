// Package evaldata locates the evaluation data (shared/data beside the
// checkout; OPSGATE_DATA_DIR overrides) for the evaluation tests.
package evaldata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is the data directory.
func Dir() string {
	if d := os.Getenv("OPSGATE_DATA_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	// test/evaldata/evaldata.go → <checkout>/../shared/data
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
}

// Need returns Dir()/sub, or skips the test with a clear message when the
// data is absent.
func Need(t testing.TB, sub string) string {
	t.Helper()
	p := filepath.Join(Dir(), sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("evaluation data %s is absent (it lives beside the checkout in shared/data): %v", p, err)
	}
	return p
}
