package config

import (
	"errors"
	"fmt"
	"strings"
)

// Selector is a conjunction of label equalities over the inventory, written
// `label=value[,label=value...]`: a container matches when every term does.
// Besides the container's `labels:`, `name` (alias `container`) and `type`
// can be used. It is the syntax of /control's `selector=` parameter and of a
// credential's `selector:` scope; an empty Selector matches every container.
type Selector []SelectorTerm

// SelectorTerm is one `label=value` of a Selector.
type SelectorTerm struct{ Key, Value string }

// ErrSelectorSyntax is wrapped by every ParseSelector error.
var ErrSelectorSyntax = errors.New("want label=value pairs separated by commas, e.g. site=dc1,type=hk3 (only equality is supported)")

// ParseSelector parses `label=value[,label=value...]`. The empty string is an
// error: callers decide what "no selector" means.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" || strings.ContainsAny(k, "!~") {
			return nil, ErrSelectorSyntax
		}
		if k == "container" {
			k = "name"
		}
		sel = append(sel, SelectorTerm{k, v})
	}
	return sel, nil
}

// Matches reports whether ct matches every term.
func (sel Selector) Matches(ct *Container) bool {
	if ct == nil {
		return false
	}
	for _, m := range sel {
		var got string
		switch m.Key {
		case "name":
			got = ct.Name
		case "type":
			got = ct.Type
		default:
			got = ct.Labels[m.Key]
		}
		if got != m.Value {
			return false
		}
	}
	return true
}

// String is the canonical `label=value,...` form.
func (sel Selector) String() string {
	parts := make([]string, len(sel))
	for i, m := range sel {
		parts[i] = m.Key + "=" + m.Value
	}
	return strings.Join(parts, ",")
}

// validateScope checks the credential's selector.
func (c *ControlCredential) validateScope(where string) error {
	if c.Selector == "" {
		return nil
	}
	if _, err := ParseSelector(c.Selector); err != nil {
		return fmt.Errorf("%s %q: selector %q: %w", where, c.Name, c.Selector, err)
	}
	return nil
}

// Scoped reports whether the credential is limited to some containers.
func (c *ControlCredential) Scoped() bool { return c != nil && c.Selector != "" }

// InScope reports whether the credential may see and touch ct. A credential
// without a selector may touch every inventory container. A selector that
// does not parse (a credential that was never validated) matches nothing:
// scoping fails closed.
func (c *ControlCredential) InScope(ct *Container) bool {
	if c == nil || ct == nil {
		return false
	}
	if c.Selector == "" {
		return true
	}
	sel, err := ParseSelector(c.Selector)
	if err != nil {
		return false
	}
	return sel.Matches(ct)
}

// ScopeString describes the scope for the landing page and messages.
func (c *ControlCredential) ScopeString() string {
	if c.Selector == "" {
		return "every container"
	}
	if sel, err := ParseSelector(c.Selector); err == nil {
		return sel.String()
	}
	return c.Selector
}
