package main

import (
	"encoding/json"
	"maps"
	"net/http"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// targetGroup is one entry of Prometheus' HTTP service discovery format.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// sdHandler serves the inventory as Prometheus HTTP service discovery, so a
// scrape config follows the one inventory file.
type sdHandler struct {
	config *config.SafeConfig
}

func (h *sdHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !readMethod(w, r, "use GET /sd") {
		return
	}
	groups := sdGroups(h.config.Get())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(groups)
}

func sdGroups(c *config.Config) []targetGroup {
	groups := make([]targetGroup, 0, len(c.Containers))
	for _, ct := range c.Containers {
		labels := make(map[string]string, len(ct.Labels)+4)
		maps.Copy(labels, ct.Labels)
		labels["container"] = ct.Name
		labels["type"] = ct.Type
		labels["__param_module"] = ct.ModuleName()
		labels["__meta_antspace_address"] = ct.Address
		groups = append(groups, targetGroup{Targets: []string{ct.Name}, Labels: labels})
	}
	return groups
}
