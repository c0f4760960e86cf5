package main

import (
	"fmt"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// redacted replaces every secret in a config dump, as Prometheus' own
// config.Secret does.
const redacted = "<secret>"

// secretKey reports whether a YAML key holds a secret (a bcrypt hash counts:
// it can be attacked offline). Keys are matched by name so that a secret
// added to the config later is hidden without touching this code, as long
// as it is named like one.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"hash", "password", "secret", "token", "api_key", "apikey", "private_key", "credential"} {
		if k == s || strings.HasSuffix(k, "_"+s) || strings.HasPrefix(k, s+"_") {
			return !strings.HasSuffix(k, "_file") // a file name is not the secret
		}
	}
	return false
}

// redact walks a YAML document and replaces the scalar values of secret keys.
func redact(n *yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			redact(c)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if secretKey(k.Value) && v.Kind == yaml.ScalarNode {
				v.Value, v.Tag, v.Style = redacted, "!!str", 0
				continue
			}
			redact(v)
		}
	case yaml.AliasNode:
		// The config was decoded and re-encoded: no aliases are left.
	}
}

// configYAML renders the loaded config with every secret as <secret>.
func configYAML(c *config.Config) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, err
	}
	redact(&doc)
	if err := addCredentialScopes(&doc, c); err != nil {
		return nil, err
	}
	return yaml.Marshal(&doc)
}

// configHandler serves /config: the loaded inventory (modules with their
// effective settings, containers, control limits and credential names),
// never a secret.
type configHandler struct{ config *config.SafeConfig }

func (h *configHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := configYAML(h.config.Get())
	if err != nil {
		http.Error(w, fmt.Sprintf("rendering the config: %s", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(out)
}
