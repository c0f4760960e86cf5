// Command metricsdoc prints docs/metrics.md from the exporter's metric table.
package main

import (
	"fmt"
	"os"

	"github.com/antspace-exporter/antspace_exporter/collector"
)

func main() {
	if err := collector.WriteMarkdown(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
