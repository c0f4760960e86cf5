package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSelector(t *testing.T) {
	ct := &Container{Name: "hk3-a", Type: "hk3", Labels: map[string]string{"site": "dc1", "row": "2"}}
	for _, tc := range []struct {
		sel   string
		match bool
		err   bool
	}{
		{"site=dc1", true, false},
		{" site = dc1 , type=hk3", true, false},
		{"container=hk3-a", true, false},
		{"name=hk3-a,row=2", true, false},
		{"site=dc2", false, false},
		{"site=dc1,row=1", false, false},
		{"zone=x", false, false},
		{"", false, true},
		{"site", false, true},
		{"site=", false, true},
		{"=dc1", false, true},
		{"site!=dc1", false, true},
		{"site=~dc", true, false}, // "~dc" is a literal value; only the key may not hold ! or ~
		{"site=dc1,", false, true},
	} {
		sel, err := ParseSelector(tc.sel)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v, want error %v", tc.sel, err, tc.err)
			continue
		}
		if err == nil && tc.sel != "site=~dc" && sel.Matches(ct) != tc.match {
			t.Errorf("%q: Matches = %v", tc.sel, !tc.match)
		}
	}
	if (Selector{}).Matches(nil) {
		t.Error("a nil container matches")
	}
}

func TestCredentialScope(t *testing.T) {
	dc1 := &Container{Name: "a", Type: "hk3", Labels: map[string]string{"site": "dc1"}}
	dc2 := &Container{Name: "b", Type: "immersion", Labels: map[string]string{"site": "dc2"}}
	for _, tc := range []struct {
		name     string
		cred     *ControlCredential
		dc1, dc2 bool
		scope    string
	}{
		{"unscoped", &ControlCredential{Name: "x"}, true, true, "every container"},
		{"site", &ControlCredential{Name: "x", Selector: "site=dc1"}, true, false, "site=dc1"},
		{"type", &ControlCredential{Name: "x", Selector: "type=immersion"}, false, true, "type=immersion"},
		// Never validated and unparsable: fails closed.
		{"broken", &ControlCredential{Name: "x", Selector: "site"}, false, false, "site"},
		{"nil", nil, false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cred.InScope(dc1); got != tc.dc1 {
				t.Errorf("dc1: %v", got)
			}
			if got := tc.cred.InScope(dc2); got != tc.dc2 {
				t.Errorf("dc2: %v", got)
			}
			if tc.cred != nil && tc.cred.ScopeString() != tc.scope {
				t.Errorf("scope %q, want %q", tc.cred.ScopeString(), tc.scope)
			}
		})
	}
}

func TestControlSiteSettings(t *testing.T) {
	h := testHash(t, "s")
	y := fmt.Sprintf(`control:
  tokens:
    - {name: a, hash: %q, selector: "site=dc1"}
    - {name: b, hash: %q, actions: [cooling, reset]}
  approvals: {cooling: 2, reset: 1}
  approval_timeout: 5m
  max_pending_approvals: 3
  max_batch: 200
  batch_timeout: 90s
`, h, h)
	c, err := Parse(strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	want := SiteLimits{MaxBatch: 200, BatchTimeout: 90 * time.Second, ApprovalTimeout: 5 * time.Minute, MaxPendingApprovals: 3}
	if got := c.Control.Limits().SiteLimits; got != want {
		t.Errorf("limits %+v, want %+v", got, want)
	}
	for action, n := range map[string]int{ActionCooling: 2, ActionReset: 1, ActionSetpoint: 1} {
		if got := c.Control.ApprovalsRequired(action); got != n {
			t.Errorf("%s: %d approvals, want %d", action, got, n)
		}
	}
	if (*Control)(nil).ApprovalsRequired(ActionCooling) != 1 {
		t.Error("nil control requires approvals")
	}
	if c.Control.Credentials().Tokens[0].Selector != "site=dc1" {
		t.Error("selector not loaded")
	}
}

func TestControlSiteInvalid(t *testing.T) {
	h := testHash(t, "s")
	two := fmt.Sprintf("  tokens:\n    - {name: a, hash: %q}\n    - {name: b, hash: %q, actions: [reset]}\n", h, h)
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad credential selector", fmt.Sprintf("control:\n  tokens:\n    - {name: a, hash: %q, selector: \"site\"}\n", h), `"a": selector "site": want label=value`},
		{"unknown approval action", "control:\n  approvals: {shutdown: 2}\n", `unknown action "shutdown"`},
		{"zero approvals", "control:\n  approvals: {cooling: 0}\n", "between 1 and 10"},
		{"too many approvals", "control:\n  approvals: {cooling: 11}\n", "between 1 and 10"},
		{"not enough holders", "control:\n" + two + "  approvals: {cooling: 2}\n", "needs 2 distinct credentials holding cooling, but only 1 do"},
		{"max_batch too large", "control:\n  max_batch: 1001\n", "max_batch must be between 1 and 1000"},
		{"negative max_batch", "control:\n  max_batch: -1\n", "max_batch must be between"},
		{"batch_timeout over the write timeout", "control:\n  batch_timeout: 3m\n", "batch_timeout must be at most 2m30s"},
		{"approval_timeout too long", "control:\n  approval_timeout: 25h\n", "approval_timeout must be at most 1d"},
		{"too many pending", "control:\n  max_pending_approvals: 5000\n", "max_pending_approvals must be between"},
		{"unknown key", "control:\n  max_batches: 5\n", `unknown key "max_batches" in the control section; valid keys: approval_timeout, approvals, auth_failures_per_minute, batch_concurrency, batch_timeout, credentials_file, max_batch, max_pending_approvals,`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), h) {
				t.Errorf("error quotes a hash")
			}
		})
	}
	// Two holders are enough for 2.
	if _, err := Parse(strings.NewReader("control:\n" + two + "  approvals: {reset: 2}\n")); err != nil {
		t.Errorf("reset held by two credentials: %v", err)
	}
}

// The approval holders are counted over the inline credentials and the
// credentials file's together.
func TestApprovalHoldersIncludeCredentialsFile(t *testing.T) {
	h := testHash(t, "s")
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("two.yml", fmt.Sprintf("tokens:\n  - {name: night, hash: %q, actions: [cooling], selector: \"site=dc1\"}\n", h))
	write("none.yml", fmt.Sprintf("tokens:\n  - {name: night, hash: %q, actions: [reset]}\n", h))
	inline := fmt.Sprintf("control:\n  tokens:\n    - {name: day, hash: %q, actions: [cooling]}\n  approvals: {cooling: 2}\n", h)

	c, err := Load(write("ok.yml", inline+"  credentials_file: two.yml\n"))
	if err != nil {
		t.Fatalf("a second holder in the file: %v", err)
	}
	if tok := c.Control.Credentials().Tokens; len(tok) != 2 || tok[1].Selector != "site=dc1" {
		t.Errorf("file credential or its selector not loaded: %+v", tok)
	}
	if _, err := Load(write("bad.yml", inline+"  credentials_file: none.yml\n")); err == nil || !strings.Contains(err.Error(), "only 1 do") {
		t.Errorf("one holder: %v", err)
	}
	if _, err := Load(write("bad2.yml", inline)); err == nil || !strings.Contains(err.Error(), "only 1 do") {
		t.Errorf("one holder, no file: %v", err)
	}
}
