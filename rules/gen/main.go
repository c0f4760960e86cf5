// Command gen writes rules/antspace.rules.yml for the default site
// (go generate ./rules). Sites render their own with cmd/antspace_mixin.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/antspace-exporter/antspace_exporter/rules"
)

func main() {
	out := flag.String("out", rules.FileName, "file to write")
	flag.Parse()
	b, err := rules.Build(rules.DefaultSite())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
