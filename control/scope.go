package control

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
)

// notInInventory is the answer for a target that is not in the inventory,
// and, byte for byte, for one outside the credential's scope: a scoped
// credential cannot tell the two apart.
func notInInventory(target string) *httpError {
	return &httpError{status: http.StatusNotFound, result: "not_found",
		msg: fmt.Sprintf("target %q is not in the inventory; only inventory containers can be controlled (names are listed at /sd)", truncate(target, 80))}
}

func selectorMatchesNothing(sel string) *httpError {
	return &httpError{status: http.StatusNotFound, result: "not_found",
		msg: fmt.Sprintf("selector %q matches no inventory container", truncate(sel, 80))}
}

// resolveTargets maps target or selector to the inventory containers within
// cred's scope; nothing else can be written to. A batch larger than
// control.max_batch is refused.
func resolveTargets(cfg *config.Config, q *request, act config.ControlAction, cred *config.ControlCredential, lim config.ControlLimits) ([]*config.Container, *httpError) {
	var targets []*config.Container
	if q.target != "" {
		ct, ok := cfg.Lookup(q.target)
		if !ok {
			return nil, notInInventory(q.target)
		}
		if !cred.InScope(ct) {
			e := notInInventory(q.target)
			e.detail = fmt.Sprintf("%s is outside the credential's scope (%s)", ct.Name, cred.ScopeString())
			return nil, e
		}
		targets = []*config.Container{ct}
	} else {
		sel, herr := parseSelector(q.selector)
		if herr != nil {
			return nil, herr
		}
		hidden := 0
		for _, ct := range cfg.Containers {
			if !sel.Matches(ct) {
				continue
			}
			if !cred.InScope(ct) {
				hidden++
				continue
			}
			targets = append(targets, ct)
		}
		if len(targets) == 0 {
			e := selectorMatchesNothing(q.selector)
			if hidden > 0 {
				e.detail = fmt.Sprintf("%d matching container(s) outside the credential's scope (%s)", hidden, cred.ScopeString())
			}
			return nil, e
		}
		if len(targets) > lim.MaxBatch {
			return nil, badRequest("selector %q matches %d containers, more than control.max_batch (%d); nothing was written: narrow the selector or raise control.max_batch",
				truncate(q.selector, 80), len(targets), lim.MaxBatch)
		}
	}
	var lacking []string
	for _, ct := range targets {
		if !act.Supports(collector.Type(ct.Type)) {
			lacking = append(lacking, fmt.Sprintf("%s (%s)", ct.Name, ct.Type))
		}
	}
	if len(lacking) > 0 {
		return nil, badRequest("%s is not available on: %s; nothing was written", q.action, strings.Join(lacking, ", "))
	}
	return targets, nil
}

// covers reports whether every container is within cred's scope.
func covers(cred *config.ControlCredential, cts []*config.Container) bool {
	for _, ct := range cts {
		if !cred.InScope(ct) {
			return false
		}
	}
	return true
}

// CredentialScope describes one credential for the landing page and /config:
// its kind, actions and the containers it may touch. Name is left empty
// when the caller must not show names.
type CredentialScope struct {
	Who        string   `yaml:"who,omitempty"`
	Kind       string   `yaml:"kind"`
	Actions    []string `yaml:"actions"`
	Containers string   `yaml:"containers"`
}

// Scopes lists every configured credential (inline and from
// control.credentials_file) with its actions and scope, tokens first.
// withNames adds "token:<name>"/"user:<name>"; never a secret.
func Scopes(c *config.Config, withNames bool) []CredentialScope {
	creds := c.Control.Credentials()
	var out []CredentialScope
	for _, l := range []struct {
		kind  string
		creds []*config.ControlCredential
	}{{"token", creds.Tokens}, {"user", creds.Users}} {
		for _, cr := range l.creds {
			s := CredentialScope{Kind: l.kind, Actions: cr.Actions, Containers: cr.ScopeString()}
			if len(s.Actions) == 0 {
				s.Actions = config.ControlActions
			}
			if withNames {
				s.Who = l.kind + ":" + cr.Name
			}
			out = append(out, s)
		}
	}
	return out
}

// SiteSummary is the landing page's line about approvals and batch limits.
func SiteSummary(c *config.Config) string {
	ctl := c.Control
	lim := ctl.Limits()
	var gated []string
	for _, a := range config.ControlActions {
		if n := ctl.ApprovalsRequired(a); n > 1 {
			gated = append(gated, fmt.Sprintf("%s needs %d approvals", a, n))
		}
	}
	appr := "No action needs approval."
	if len(gated) > 0 {
		appr = fmt.Sprintf("Approvals: %s (from distinct credentials, the requester included; POST %s%s?id=..., GET %s%s; pending requests expire after %s and are lost on restart).",
			strings.Join(gated, ", "), Prefix, endpointApprove, Prefix, endpointPending, lim.ApprovalTimeout)
	}
	return fmt.Sprintf("%s Batches: at most %d containers, %d at a time, within %s.", appr, lim.MaxBatch, lim.BatchConcurrency, lim.BatchTimeout)
}
