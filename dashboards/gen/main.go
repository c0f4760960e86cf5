// Command gen writes the Grafana dashboard JSON files of package dashboards.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/antspace-exporter/antspace_exporter/dashboards"
)

func main() {
	out := flag.String("out", ".", "directory to write the dashboard JSON files to")
	flag.Parse()
	files, err := dashboards.Build()
	if err != nil {
		log.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
