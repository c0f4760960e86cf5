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
func resolveTargets(cfg *config.Config, q *request, cred *config.ControlCredential, lim config.ControlLimits) ([]*config.Container, *httpError) {
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
		if !supported[collector.Type(ct.Type)][q.action] {
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
