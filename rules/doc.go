// Package rules generates the Prometheus rules of the Antspace exporter
// (antspace.rules.yml: alerting and recording rules) from one Go source and a
// site configuration (Site), and holds their promtool unit tests (tests/*.yml)
// and the Go tests that check the rule set against the documented alert
// table, the exporter's metric table, the runbooks and the example
// Alertmanager config.
//
// Edit the Go sources, then regenerate the committed file:
//
//	go generate ./rules
package rules

//go:generate go run ./gen
