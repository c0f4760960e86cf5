// Command render writes the example Prometheus and Alertmanager configuration
// and the rule bundle with addresses, paths and intervals substituted, the way
// the end-to-end suite runs them. scripts/demo.sh uses it.
//
//	go run ./e2e/render -out /tmp/antspace-demo -exporter 127.0.0.1:9842 \
//	    -alertmanager 127.0.0.1:9093 -interval 2s -speedup 15
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/antspace-exporter/antspace_exporter/e2e"
)

func main() {
	var o e2e.RenderOptions
	flag.StringVar(&o.Root, "root", ".", "repository root (holds examples/ and rules/)")
	flag.StringVar(&o.OutDir, "out", "", "output directory (required)")
	flag.StringVar(&o.ExporterAddr, "exporter", e2e.DefaultExporterAddr, "exporter host:port")
	flag.StringVar(&o.AlertmanagerAddr, "alertmanager", e2e.DefaultAlertmanagerAddr, "Alertmanager host:port")
	flag.StringVar(&o.WebhookAddr, "webhook", "", "host:port for Alertmanager's webhook receivers (empty: keep the example's placeholder)")
	flag.DurationVar(&o.Interval, "interval", 2*time.Second, "scrape, evaluation and SD refresh interval (also the scrape timeout)")
	flag.IntVar(&o.Speedup, "speedup", 15, "divide every rule's for/keep_firing_for by this (1 = as written)")
	flag.Parse()
	if o.OutDir == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: render -out DIR [flags]")
		flag.PrintDefaults()
		os.Exit(2)
	}
	r, err := e2e.Render(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	fmt.Println(r.Prometheus)
	fmt.Println(r.Alertmanager)
}
