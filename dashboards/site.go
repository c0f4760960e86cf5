package dashboards

import (
	"sync"
)

// Options adapt the dashboards to a site (cmd/antspace_mixin): zero fields
// keep the defaults of the committed files.
type Options struct {
	// ProbeSelector: label matchers (without braces) on every series of
	// the container jobs, e.g. job="antspace".
	ProbeSelector string
	// SeverityNames maps the bundle's severities critical, high, medium to
	// the site's names.
	SeverityNames map[string]string
}

// DefaultProbeSelector matches the container jobs of examples/prometheus.yml.
const DefaultProbeSelector = `job="antspace"`

var (
	buildMu sync.Mutex
	site    = defaults(Options{}) // the options the dashboard functions read; set under buildMu
)

func defaults(o Options) Options {
	if o.ProbeSelector == "" {
		o.ProbeSelector = DefaultProbeSelector
	}
	names := map[string]string{"critical": "critical", "high": "high", "medium": "medium"}
	for k, v := range o.SeverityNames {
		if _, ok := names[k]; ok && v != "" {
			names[k] = v
		}
	}
	o.SeverityNames = names
	return o
}

// BuildFor renders the dashboards for a site, as Build does for the defaults.
func BuildFor(o Options) (map[string][]byte, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	prev := site
	site = defaults(o)
	defer func() { site = prev }()
	return build()
}

// severityIs matches alerts of one of the bundle's severities by the site's
// name for it.
func severityIs(sev string) string { return `severity="` + site.SeverityNames[sev] + `"` }
