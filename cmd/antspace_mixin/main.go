// Command antspace_mixin renders the Antspace rule bundle and Grafana
// dashboards for a site:
//
//	antspace_mixin --config site.yml --output-dir DIR
//
// writes DIR/antspace.rules.yml and DIR/dashboards/*.json. Without --config
// it renders the built-in defaults, which are exactly the committed
// rules/antspace.rules.yml and dashboards/*.json. docs/alerting.md documents
// the site configuration; examples/site.yml is an example.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/antspace-exporter/antspace_exporter/mixin"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the command: 0 on success, 1 when writing fails, 2 on bad flags or
// a bad site configuration.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("antspace_mixin", "Render the Antspace alerting/recording rules and Grafana dashboards for a site.")
	app.Terminate(nil)
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	configFile := app.Flag("config", "Site configuration (YAML; see docs/alerting.md). Without it the built-in defaults are rendered.").String()
	outDir := app.Flag("output-dir", "Directory to write antspace.rules.yml and dashboards/*.json to (created if missing).").Required().String()
	if _, err := app.Parse(args); err != nil {
		_, _ = fmt.Fprintln(stderr, "antspace_mixin:", err)
		return 2
	}
	site, err := mixin.LoadSite(*configFile)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "antspace_mixin:", err)
		return 2
	}
	files, err := mixin.Write(site, *outDir)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "antspace_mixin:", err)
		return 1
	}
	for _, f := range files {
		_, _ = fmt.Fprintln(stdout, f)
	}
	return 0
}
