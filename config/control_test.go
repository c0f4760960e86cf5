package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func testHash(t *testing.T, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestControlDefaultsAndDisabled(t *testing.T) {
	c, err := Parse(strings.NewReader("containers: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Control.Enabled() {
		t.Error("control enabled without a control section")
	}
	l := c.Control.Limits()
	want := ControlLimits{SetpointMin: 20, SetpointMax: 45, Timeout: 10 * time.Second, VerifyTimeout: 5 * time.Second, BatchConcurrency: 8, AuthFailuresPerMinute: 5,
		SiteLimits: SiteLimits{MaxBatch: 50, BatchTimeout: time.Minute, ApprovalTimeout: 15 * time.Minute, MaxPendingApprovals: 20}}
	if l != want {
		t.Errorf("defaults %+v, want %+v", l, want)
	}
	c, err = Parse(strings.NewReader("control:\n  setpoint_max: 40\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Control.Enabled() {
		t.Error("control enabled without credentials")
	}
}

func TestControlCredentialsInlineAndFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "control.yml")
	body := "tokens:\n  - {name: ci, hash: \"" + testHash(t, "ci-token") + "\", actions: [reset]}\n" +
		"users:\n  - {name: alice, hash: \"" + testHash(t, "alice-pw") + "\"}\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// A relative credentials_file is relative to the inventory's directory,
	// not to the working directory (this package's source directory).
	y := "control:\n  credentials_file: control.yml\n" +
		"  tokens:\n    - {name: ops, hash: \"" + testHash(t, "ops-token") + "\", actions: [setpoint, reset]}\n" +
		"  setpoint_min: 25\n  setpoint_max: 38.5\n  timeout: 3s\n  verify_timeout: 1s\n  batch_concurrency: 2\n  auth_failures_per_minute: 10\n"
	inv := filepath.Join(dir, "inventory.yml")
	if err := os.WriteFile(inv, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}

	// Parse reads no file: only the inline credential is there.
	parsed, err := Parse(strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(parsed.Control.Credentials().Tokens); n != 1 || len(parsed.Control.Credentials().Users) != 0 {
		t.Errorf("Parse: %d tokens, %d users; want the inline token only", n, len(parsed.Control.Credentials().Users))
	}

	c, err := Load(inv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Control.CredentialsFile != file {
		t.Errorf("credentials_file resolved to %q, want %q", c.Control.CredentialsFile, file)
	}
	if !c.Control.Enabled() {
		t.Fatal("not enabled")
	}
	creds := c.Control.Credentials()
	if len(creds.Tokens) != 2 || creds.Tokens[0].Name != "ops" || creds.Tokens[1].Name != "ci" || len(creds.Users) != 1 {
		t.Errorf("credentials: %+v", creds)
	}
	if !creds.Tokens[1].Allows(ActionReset) || creds.Tokens[1].Allows(ActionSetpoint) || !creds.Users[0].Allows(ActionCooling) {
		t.Error("action scopes wrong")
	}
	want := ControlLimits{SetpointMin: 25, SetpointMax: 38.5, Timeout: 3 * time.Second, VerifyTimeout: time.Second, BatchConcurrency: 2, AuthFailuresPerMinute: 10,
		SiteLimits: SiteLimits{MaxBatch: 50, BatchTimeout: time.Minute, ApprovalTimeout: 15 * time.Minute, MaxPendingApprovals: 20}}
	if l := c.Control.Limits(); l != want {
		t.Errorf("limits %+v, want %+v", l, want)
	}
}

func TestControlInvalid(t *testing.T) {
	dir := t.TempDir()
	good := testHash(t, "secret-token")
	badFile := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(badFile, []byte("tokens:\n  - {name: x, hash: \""+good+"\", secret: oops}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dupFile := filepath.Join(dir, "dup.yml")
	if err := os.WriteFile(dupFile, []byte("tokens:\n  - {name: a, hash: \""+good+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "control:\n  token: x\n", `line 2: unknown key "token" in the control section; valid keys: approval_timeout, approvals, auth_failures_per_minute, batch_concurrency, batch_timeout, credentials_file,`},
		{"unknown credential key", "control:\n  tokens:\n    - {name: a, hash: \"" + good + "\", token: plain}\n", `line 3: unknown key "token" in a control token or user (control: tokens:/users:); valid keys: actions, hash, name`},
		{"plain text instead of hash", "control:\n  tokens:\n    - {name: a, hash: my-plain-token}\n", "not a bcrypt hash"},
		{"missing hash", "control:\n  users:\n    - {name: a}\n", "hash is required"},
		{"missing name", "control:\n  tokens:\n    - {hash: \"" + good + "\"}\n", "name is required"},
		{"duplicate token name", "control:\n  tokens:\n    - {name: a, hash: \"" + good + "\"}\n    - {name: a, hash: \"" + good + "\"}\n", "duplicate name"},
		{"duplicate across file", "control:\n  credentials_file: dup.yml\n  tokens:\n    - {name: a, hash: \"" + good + "\"}\n", "duplicate name"},
		{"unknown action", "control:\n  tokens:\n    - {name: a, hash: \"" + good + "\", actions: [shutdown]}\n", `unknown action "shutdown"`},
		{"user with colon", "control:\n  users:\n    - {name: \"a:b\", hash: \"" + good + "\"}\n", "must not contain ':'"},
		{"min above max", "control:\n  setpoint_min: 40\n  setpoint_max: 30\n", "must be below"},
		{"min equals default max", "control:\n  setpoint_min: 45\n", "must be below"},
		{"NaN bound", "control:\n  setpoint_max: .nan\n", "finite"},
		{"negative timeout", "control:\n  verify_timeout: -1s\n", `line 2: control.verify_timeout: "-1s" is not a duration`},
		{"negative concurrency", "control:\n  batch_concurrency: -1\n", "must not be negative"},
		{"missing credentials file", "control:\n  credentials_file: nope.yml\n", "no such file"},
		{"strict credentials file", "control:\n  credentials_file: " + badFile + "\n", "line 2: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := filepath.Join(dir, "inventory.yml")
			if err := os.WriteFile(inv, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(inv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), good) {
				t.Errorf("error quotes a hash: %v", err)
			}
		})
	}
}

// The example inventory's demo tokens are what docs/control.md and the README
// use: demo-operator-token for every action, demo-reset-token for reset only.
func TestExampleControlTokens(t *testing.T) {
	c, err := Load(filepath.Join("..", "targets.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		token   string
		actions []string
	}{
		"demo-operator": {"demo-operator-token", ControlActions},
		"demo-reset":    {"demo-reset-token", []string{ActionReset}},
		"demo-approver": {"demo-approver-token", []string{ActionCooling}},
	}
	if c.Control.ApprovalsRequired(ActionCooling) != 2 {
		t.Error("the example no longer gates cooling behind an approval (the demo shows it)")
	}
	creds := c.Control.Credentials()
	if len(creds.Tokens) != len(want) {
		t.Fatalf("%d tokens, want %d", len(creds.Tokens), len(want))
	}
	for _, tok := range creds.Tokens {
		w, ok := want[tok.Name]
		if !ok {
			t.Errorf("unexpected token %q", tok.Name)
			continue
		}
		if err := bcrypt.CompareHashAndPassword([]byte(tok.Hash), []byte(w.token)); err != nil {
			t.Errorf("%s: hash does not match %q", tok.Name, w.token)
		}
		for _, a := range ControlActions {
			allowed := false
			for _, x := range w.actions {
				allowed = allowed || x == a
			}
			if tok.Allows(a) != allowed {
				t.Errorf("%s: Allows(%s) = %v", tok.Name, a, !allowed)
			}
		}
	}
}

// Errors about a credentials file (or a credential's hash) never quote the
// file: yaml.v3 and bcrypt errors echo values, and the value may be a secret
// pasted where its hash belongs.
func TestCredentialErrorsQuoteNoValue(t *testing.T) {
	// Long enough that bcrypt reads it as a hash with a bad first character.
	secret := "Zq9-pasted-secret-token-" + strings.Repeat("k", 40)
	dir := t.TempDir()
	for _, tc := range []struct{ name, file, want string }{
		{"secret as the token list", "tokens: " + secret + "\n", "line 1: value of the wrong type"},
		{"secret as an entry", "tokens:\n  - " + secret + "\n", "line 2: value of the wrong type"},
		{"secret as a key", "tokens:\n  - {name: a, " + secret + ": x}\n", "line 2: unknown key"},
		{"secret as a list", "users:\n  - [" + secret + "]\n", "line 2: value of the wrong type"},
		{"secret in a syntax error", "tokens: [" + secret + "\n", "syntax error"},
		{"key twice", "tokens: []\ntokens: [" + secret + "]\n", "key given twice"},
		{"secret as the hash", "tokens:\n  - {name: a, hash: " + secret + "}\n", `"a": hash is not a bcrypt hash`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yml")
			if err := os.WriteFile(file, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			inv := filepath.Join(dir, "inventory.yml")
			if err := os.WriteFile(inv, []byte("control:\n  credentials_file: "+file+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(inv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret[:3]) || strings.Contains(err.Error(), "'Z'") {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
	// Inline, a pasted secret as the hash is not quoted either.
	_, err := Parse(strings.NewReader("control:\n  tokens:\n    - {name: a, hash: " + secret + "}\n"))
	if err == nil || strings.Contains(err.Error(), secret[:3]) || strings.Contains(err.Error(), "'Z'") {
		t.Errorf("inline: %v", err)
	}
}

// Hashes below cost 10 load, with a warning naming the credential (never the
// hash) for the loader to log.
func TestWeakHashWarnings(t *testing.T) {
	weak := testHash(t, "weak-secret") // cost 4
	strong, err := bcrypt.GenerateFromPassword([]byte("strong-secret"), MinRecommendedBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(strings.NewReader(fmt.Sprintf("control:\n  tokens:\n    - {name: ci, hash: %q}\n    - {name: ops, hash: %q}\n  users:\n    - {name: alice, hash: %q}\n",
		weak, strong, weak)))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Warnings()
	if len(w) != 2 || !strings.Contains(w[0], `token "ci"`) || !strings.Contains(w[0], "cost 4, below 10") || !strings.Contains(w[1], `user "alice"`) {
		t.Errorf("warnings %q", w)
	}
	for _, line := range w {
		if strings.Contains(line, weak) || strings.Contains(line, "ops") {
			t.Errorf("warning %q", line)
		}
	}
	if w := Empty().Warnings(); len(w) != 0 {
		t.Errorf("empty config warns: %q", w)
	}
}
