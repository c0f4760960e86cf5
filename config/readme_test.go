package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// The README's inventory example is a valid inventory.
func TestReadmeInventoryExampleIsValid(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Inventory")
	if !ok {
		t.Fatal("README has no Inventory section")
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatal("README's Inventory section has no YAML example")
	}
	block, _, _ = strings.Cut(block, "```")
	c, err := config.Parse(strings.NewReader(block))
	if err != nil {
		t.Fatalf("README's inventory example: %v\n%s", err, block)
	}
	if len(c.Containers) == 0 {
		t.Errorf("README's inventory example lists no container:\n%s", block)
	}
}
