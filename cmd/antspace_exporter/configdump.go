package main

import (
	"fmt"
	"net/http"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// configYAML renders the loaded config. Secrets (the credentials' hashes)
// are of type config.Secret from prometheus/common and marshal as <secret>,
// so redaction follows the type, not the key's name (config.TestSecretsTyped
// keeps secret-looking fields typed).
func configYAML(c *config.Config) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, err
	}
	if err := addCredentialScopes(&doc, c); err != nil {
		return nil, err
	}
	return yaml.Marshal(&doc)
}

// configHandler serves /config: the loaded inventory (modules with their
// effective settings, containers, control limits and credential names),
// never a secret.
type configHandler struct{ config *config.SafeConfig }

func (h *configHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	out, err := configYAML(h.config.Get())
	if err != nil {
		http.Error(w, fmt.Sprintf("rendering the config: %s", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(out)
}
