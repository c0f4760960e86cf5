package main

import (
	"path/filepath"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// The inventory the mock writes must load in the exporter as it is.
func TestInventoryLoadsInExporterConfig(t *testing.T) {
	var servers []*mock.Server
	for i, typ := range []mock.Type{mock.HK3, mock.Immersion} {
		s, err := mock.Start(mock.Options{Name: "c" + string(rune('1'+i)), Type: typ}, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		servers = append(servers, s)
	}
	path := filepath.Join(t.TempDir(), "inventory.yml")
	if err := writeInventory(path, servers, "demo"); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("exporter rejects the mock's inventory: %v", err)
	}
	if len(cfg.Containers) != 2 || cfg.Containers[0].Address != servers[0].Addr() || cfg.Containers[1].Type != "immersion" ||
		cfg.Containers[0].Labels["site"] != "demo" {
		t.Errorf("loaded %+v %+v", cfg.Containers[0], cfg.Containers[1])
	}
}
