package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/collector"
)

// Control actions a credential can be limited to.
const (
	ActionReset    = "reset"
	ActionSetpoint = "setpoint"
	ActionCooling  = "cooling"
)

// ControlAction is one /control action: its name (the path
// /control/<name> and a credential's actions: entry), whether it needs
// --control.enable-dangerous-actions, and the container types that have it.
type ControlAction struct {
	Name string
	// Dangerous actions can destroy equipment when misused (switching
	// cooling off under load) and need --control.enable-dangerous-actions.
	Dangerous bool
	Types     []collector.Type
}

// Supports reports whether containers of type t have the action.
func (a ControlAction) Supports(t collector.Type) bool { return slices.Contains(a.Types, t) }

// ControlActionTable is the one list of /control actions: the handler, the
// credential validation and the docs take them from here. Both container
// types have every write of the protocol today.
var ControlActionTable = []ControlAction{
	{Name: ActionReset, Types: collector.Types},
	{Name: ActionSetpoint, Types: collector.Types},
	{Name: ActionCooling, Dangerous: true, Types: collector.Types},
}

// ControlActions lists every action name, in the table's order.
var ControlActions = func() []string {
	names := make([]string, len(ControlActionTable))
	for i, a := range ControlActionTable {
		names[i] = a.Name
	}
	return names
}()

// Defaults of the control section.
const (
	DefaultSetpointMin         = 20.0
	DefaultSetpointMax         = 45.0
	DefaultControlTimeout      = 10 * time.Second
	DefaultVerifyTimeout       = 5 * time.Second
	DefaultBatchConcurrency    = 8
	DefaultAuthFailuresPerMin  = 5
	MaxControlCredentialsBytes = 1 << 20
	// MinRecommendedBcryptCost is the lowest bcrypt cost loaded without a
	// warning: a cheaper hash is quick to guess once it leaks, and makes
	// authentication timing differ from the other credentials'.
	MinRecommendedBcryptCost = 10
)

// Control is the `control:` section: who may write to containers through
// /control and within which limits. Without any credential, /control refuses
// every request (fail-closed).
type Control struct {
	// CredentialsFile names a YAML file with more `tokens:` and `users:`
	// (same format as here), so the secrets' hashes can live apart from the
	// inventory. A relative path is relative to the directory of the config
	// file (as Prometheus resolves its *_file settings). Parse does not read
	// it; Load does, on every config reload.
	CredentialsFile    string `yaml:"credentials_file,omitempty"`
	ControlCredentials `yaml:",inline"`

	// SetpointMin and SetpointMax bound /control/setpoint (°C, inclusive).
	SetpointMin *float64 `yaml:"setpoint_min,omitempty"`
	SetpointMax *float64 `yaml:"setpoint_max,omitempty"`
	// Timeout bounds one write to one controller.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// VerifyTimeout bounds reading the change back after a write.
	VerifyTimeout model.Duration `yaml:"verify_timeout,omitempty"`
	// BatchConcurrency is how many containers a selector request writes to at once.
	BatchConcurrency int `yaml:"batch_concurrency,omitempty"`
	// AuthFailuresPerMinute is how many failed authentications one client
	// address may make per minute (also the burst) before it gets 429.
	AuthFailuresPerMinute int `yaml:"auth_failures_per_minute,omitempty"`
	// Site settings (control_site.go): approvals, batch and pending bounds.
	ControlSite `yaml:",inline"`

	all ControlCredentials // inline ones plus the credentials file's
}

// ControlCredentials are bcrypt-hashed bearer tokens and basic-auth users.
type ControlCredentials struct {
	Tokens []*ControlCredential `yaml:"tokens,omitempty"`
	Users  []*ControlCredential `yaml:"users,omitempty"`
}

// ControlCredential is one bearer token (Name is only a label for the audit
// log) or one basic-auth user (Name is the user name). Hash is the bcrypt hash
// of the token or password; as a Secret it is written out as <secret>
// wherever the config is marshalled (/config). Actions limits it to some
// actions; empty means all.
type ControlCredential struct {
	Name    string            `yaml:"name"`
	Hash    promconfig.Secret `yaml:"hash"`
	Actions []string          `yaml:"actions,omitempty"`
	// Selector scopes the credential to the inventory containers it matches
	// (see scope.go); empty means every container.
	Selector string `yaml:"selector,omitempty"`
}

// Allows reports whether the credential may perform action.
func (c *ControlCredential) Allows(action string) bool {
	if len(c.Actions) == 0 {
		return true
	}
	return slices.Contains(c.Actions, action)
}

// Credentials returns every configured token and user (inline and from the
// credentials file). Nil-safe.
func (ctl *Control) Credentials() ControlCredentials {
	if ctl == nil {
		return ControlCredentials{}
	}
	return ctl.all
}

// Enabled reports whether any credential is configured. Nil-safe.
func (ctl *Control) Enabled() bool {
	return ctl != nil && len(ctl.all.Tokens)+len(ctl.all.Users) > 0
}

// Warnings are what the loader should log loudly about the section (weak
// hashes). They name credentials, never secrets or hashes. Nil-safe.
func (ctl *Control) Warnings() []string {
	if ctl == nil {
		return nil
	}
	return weakHashWarnings(ctl.all)
}

// Limits returns the effective bounds and timeouts, defaults filled in. Nil-safe.
func (ctl *Control) Limits() ControlLimits {
	l := ControlLimits{
		SetpointMin:           DefaultSetpointMin,
		SetpointMax:           DefaultSetpointMax,
		Timeout:               DefaultControlTimeout,
		VerifyTimeout:         DefaultVerifyTimeout,
		BatchConcurrency:      DefaultBatchConcurrency,
		AuthFailuresPerMinute: DefaultAuthFailuresPerMin,
	}
	defaultSiteLimits(&l)
	if ctl == nil {
		return l
	}
	if ctl.SetpointMin != nil {
		l.SetpointMin = *ctl.SetpointMin
	}
	if ctl.SetpointMax != nil {
		l.SetpointMax = *ctl.SetpointMax
	}
	if ctl.Timeout > 0 {
		l.Timeout = time.Duration(ctl.Timeout)
	}
	if ctl.VerifyTimeout > 0 {
		l.VerifyTimeout = time.Duration(ctl.VerifyTimeout)
	}
	if ctl.BatchConcurrency > 0 {
		l.BatchConcurrency = ctl.BatchConcurrency
	}
	if ctl.AuthFailuresPerMinute > 0 {
		l.AuthFailuresPerMinute = ctl.AuthFailuresPerMinute
	}
	ctl.siteLimits(&l)
	return l
}

// ControlLimits are the control section's effective settings.
type ControlLimits struct {
	SetpointMin, SetpointMax float64
	Timeout, VerifyTimeout   time.Duration
	BatchConcurrency         int
	AuthFailuresPerMinute    int
	SiteLimits
}

// validate checks the section as written, without reading the credentials
// file (see loadFiles). Nil-safe.
func (ctl *Control) validate() error {
	if ctl == nil {
		return nil
	}
	all := ControlCredentials{
		Tokens: append([]*ControlCredential(nil), ctl.Tokens...),
		Users:  append([]*ControlCredential(nil), ctl.Users...),
	}
	if err := validateAllCredentials(all); err != nil {
		return err
	}
	l := ctl.Limits()
	for _, v := range []struct {
		name string
		val  *float64
	}{{"setpoint_min", ctl.SetpointMin}, {"setpoint_max", ctl.SetpointMax}} {
		if v.val != nil && (math.IsNaN(*v.val) || math.IsInf(*v.val, 0)) {
			return fmt.Errorf("control.%s: must be a finite number", v.name)
		}
	}
	if l.SetpointMin >= l.SetpointMax {
		return fmt.Errorf("control: setpoint_min (%g) must be below setpoint_max (%g)", l.SetpointMin, l.SetpointMax)
	}
	switch {
	case ctl.Timeout < 0:
		return errors.New("control.timeout must not be negative")
	case ctl.VerifyTimeout < 0:
		return errors.New("control.verify_timeout must not be negative")
	case ctl.BatchConcurrency < 0:
		return errors.New("control.batch_concurrency must not be negative")
	case ctl.AuthFailuresPerMinute < 0:
		return errors.New("control.auth_failures_per_minute must not be negative")
	}
	if err := ctl.validateSite(); err != nil {
		return err
	}
	if ctl.CredentialsFile == "" { // otherwise loadFiles checks with the file's credentials
		if err := ctl.validateApprovalHolders(all); err != nil {
			return err
		}
	}
	ctl.all = all
	return nil
}

func weakHashWarnings(all ControlCredentials) []string {
	var out []string
	for _, set := range []struct {
		kind  string
		creds []*ControlCredential
	}{{"token", all.Tokens}, {"user", all.Users}} {
		for _, c := range set.creds {
			if cost, err := bcrypt.Cost([]byte(c.Hash)); err == nil && cost < MinRecommendedBcryptCost {
				out = append(out, fmt.Sprintf("control: %s %q has a bcrypt hash of cost %d, below %d: it is quick to guess if it leaks; "+
					"hash the secret again with `antspace_exporter --control.hash-secret` (cost %d)", set.kind, c.Name, cost, MinRecommendedBcryptCost, bcrypt.DefaultCost))
			}
		}
	}
	return out
}

func validateAllCredentials(all ControlCredentials) error {
	if err := validateCredentials("control.tokens", all.Tokens); err != nil {
		return err
	}
	if err := validateCredentials("control.users", all.Users); err != nil {
		return err
	}
	for _, u := range all.Users {
		if strings.Contains(u.Name, ":") {
			return fmt.Errorf("control.users: user name %q must not contain ':' (basic auth separates user and password with it)", u.Name)
		}
	}
	return nil
}

// setDirectory makes a relative credentials_file relative to dir.
func (ctl *Control) setDirectory(dir string) {
	if ctl != nil {
		ctl.CredentialsFile = promconfig.JoinDir(dir, ctl.CredentialsFile)
	}
}

// loadFiles reads the credentials file and checks the inline credentials
// and the file's together. Nil-safe.
func (ctl *Control) loadFiles() error {
	if ctl == nil || ctl.CredentialsFile == "" {
		return nil
	}
	file, err := loadControlCredentials(ctl.CredentialsFile)
	if err != nil {
		return fmt.Errorf("control.credentials_file: %w", err)
	}
	all := ControlCredentials{
		Tokens: append(append([]*ControlCredential(nil), ctl.Tokens...), file.Tokens...),
		Users:  append(append([]*ControlCredential(nil), ctl.Users...), file.Users...),
	}
	if err := validateAllCredentials(all); err != nil {
		return err
	}
	if err := ctl.validateApprovalHolders(all); err != nil {
		return err
	}
	ctl.all = all
	return nil
}

func loadControlCredentials(path string) (*ControlCredentials, error) {
	f, err := os.Open(filepath.Clean(path)) // the config file names it
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	data, err := io.ReadAll(io.LimitReader(f, MaxControlCredentialsBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxControlCredentialsBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxControlCredentialsBytes)
	}
	var creds ControlCredentials
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&creds); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s", path, credentialsYAMLError(err))
	}
	return &creds, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// credentialsYAMLError describes a YAML error in a credentials file without
// quoting the file: yaml.v3 quotes values ("cannot unmarshal !!str `<the
// secret>`") and keys, and the file holds secrets (a token pasted where
// its hash belongs, say). Only line numbers and the kind of mistake remain.
func credentialsYAMLError(err error) string {
	const shape = "want `tokens:` and `users:` lists of {name, hash, actions}; the offending text is not shown because this file holds secrets"
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		where := ""
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			where = " at line " + m[1]
		}
		return fmt.Sprintf("parsing YAML: syntax error%s (%s)", where, shape)
	}
	parts := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		kind := "invalid entry"
		switch {
		case strings.Contains(e, "not found in type"):
			kind = "unknown key"
		case strings.Contains(e, "cannot unmarshal"):
			kind = "value of the wrong type"
		case strings.Contains(e, "already defined"):
			kind = "key given twice"
		}
		if m := yamlLine.FindStringSubmatch(e); m != nil {
			kind = "line " + m[1] + ": " + kind
		}
		parts = append(parts, kind)
	}
	return fmt.Sprintf("parsing YAML: %s (%s)", strings.Join(parts, "; "), shape)
}

func validateCredentials(where string, creds []*ControlCredential) error {
	seen := map[string]bool{}
	for i, c := range creds {
		if c == nil {
			return fmt.Errorf("%s[%d]: empty entry", where, i)
		}
		if c.Name == "" {
			return fmt.Errorf("%s[%d]: name is required", where, i)
		}
		if seen[c.Name] {
			return fmt.Errorf("%s: duplicate name %q", where, c.Name)
		}
		seen[c.Name] = true
		if len(c.Hash) == 0 {
			return fmt.Errorf("%s %q: hash is required (a bcrypt hash, e.g. from `antspace_exporter --control.hash-secret`)", where, c.Name)
		}
		// Never quote the hash back, nor bcrypt's error, which quotes its
		// first character: the "hash" may be a secret pasted in its place,
		// and an error message ends up in a log.
		if _, err := bcrypt.Cost([]byte(c.Hash)); err != nil {
			return fmt.Errorf("%s %q: hash is not a bcrypt hash (want $2a$/$2b$/$2y$, the cost and 53 characters, e.g. from `antspace_exporter --control.hash-secret`; the value is not shown)", where, c.Name)
		}
		if err := c.validateScope(where); err != nil {
			return err
		}
		for _, a := range c.Actions {
			known := false
			for _, k := range ControlActions {
				known = known || a == k
			}
			if !known {
				return fmt.Errorf("%s %q: unknown action %q (known: %s)", where, c.Name, a, strings.Join(ControlActions, ", "))
			}
		}
	}
	return nil
}
