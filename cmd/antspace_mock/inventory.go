package main

import (
	"bytes"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/mock"
)

type inventory struct {
	Containers []inventoryContainer `yaml:"containers"`
}

type inventoryContainer struct {
	Name    string            `yaml:"name"`
	Address string            `yaml:"address"`
	Type    string            `yaml:"type"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

// writeInventory writes an exporter inventory for the served containers, atomically.
func writeInventory(path string, servers []*mock.Server, site string) error {
	inv := inventory{Containers: make([]inventoryContainer, 0, len(servers))}
	for _, s := range servers {
		c := inventoryContainer{Name: s.Name(), Address: s.Addr(), Type: string(s.Type())}
		if site != "" {
			c.Labels = map[string]string{"site": site}
		}
		inv.Containers = append(inv.Containers, c)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(inv); err != nil {
		return err
	}
	b := buf.Bytes()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".inventory-*.yml")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // fails once renamed: nothing left to remove
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close() // the write error is the one to report
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
