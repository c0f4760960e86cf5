package main

import (
	"fmt"
	"html"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/control"
)

// writeControlScopes adds to the landing page what each credential may do
// and to which containers, and the approval and batch limits. Credentials
// are listed by kind only: the landing page never names them.
func writeControlScopes(b *strings.Builder, c *config.Config) {
	if !c.Control.Enabled() {
		return
	}
	fmt.Fprintf(b, "<p>%s</p><ul>", html.EscapeString(control.SiteSummary(c)))
	n := map[string]int{}
	for _, s := range control.Scopes(c, false) {
		n[s.Kind]++
		fmt.Fprintf(b, "<li>%s %d: %s on %s</li>", html.EscapeString(s.Kind), n[s.Kind],
			html.EscapeString(strings.Join(s.Actions, ", ")), html.EscapeString(s.Containers))
	}
	b.WriteString("</ul>")
}

// addCredentialScopes adds control.scopes to a /config dump: every
// credential (inline and from credentials_file) by name, with its actions
// and the containers it may touch. Never a hash.
func addCredentialScopes(doc *yaml.Node, c *config.Config) error {
	if !c.Control.Enabled() {
		return nil
	}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "control" || root.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		var v yaml.Node
		if err := v.Encode(control.Scopes(c, true)); err != nil {
			return err
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "scopes",
			HeadComment: "every credential (inline and credentials_file): its actions and the containers it may touch"}
		ctl := root.Content[i+1]
		ctl.Content = append(ctl.Content, key, &v)
	}
	return nil
}
