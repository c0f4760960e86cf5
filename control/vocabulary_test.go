package control

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// The action vocabulary lives in config.ControlActionTable only. Every action
// there must be parsed into a device operation here, verified by check, and
// documented in docs/control.md (dangerous ones as such).
func TestEveryTableActionIsHandledAndDocumented(t *testing.T) {
	sample := map[string]map[string]string{ // minimal valid parameters per action
		config.ActionReset:    {"target": "x"},
		config.ActionSetpoint: {"target": "x", "celsius": "30"},
		config.ActionCooling:  {"target": "x", "state": "on"},
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "control.md"))
	if err != nil {
		t.Fatal(err)
	}
	lim := (*config.Control)(nil).Limits()
	for _, a := range config.ControlActionTable {
		p, ok := sample[a.Name]
		if !ok {
			t.Errorf("action %q of config.ControlActionTable has no sample here: add one, and its parsing and verification", a.Name)
			continue
		}
		q, herr := parseRequest(a.Name, p, lim)
		if herr != nil || q.operation == "" {
			t.Errorf("%s: parseRequest gives no device operation: %v", a.Name, herr)
			continue
		}
		for _, typ := range a.Types {
			if _, _, err := check(typ, q, nil); err != nil && strings.Contains(err.Error(), "no verification") {
				t.Errorf("%s on %s: %v", a.Name, typ, err)
			}
		}
		if !strings.Contains(string(doc), "`"+Prefix+a.Name+"`") {
			t.Errorf("docs/control.md does not document %s%s", Prefix, a.Name)
		}
		if a.Dangerous && !strings.Contains(string(doc), "### `"+a.Name+"` is dangerous") {
			t.Errorf("docs/control.md does not say that %s is dangerous", a.Name)
		}
	}
	if len(config.ControlActions) != len(config.ControlActionTable) {
		t.Errorf("ControlActions %v does not follow the table", config.ControlActions)
	}
}
