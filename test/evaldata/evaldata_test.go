package evaldata_test

import (
	"path/filepath"
	"testing"

	"github.com/opsgate/opsgate/test/evaldata"
)

func TestDirIsBesideTheCheckoutOrOverridden(t *testing.T) {
	if d := evaldata.Dir(); filepath.Base(d) != "data" || filepath.Base(filepath.Dir(d)) != "shared" {
		t.Fatalf("default %s", d)
	}
	t.Setenv("OPSGATE_DATA_DIR", t.TempDir())
	if got := evaldata.Need(t, "."); got == "" {
		t.Fatal("an existing directory was not found")
	}
}
