package config

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/antspace-exporter/antspace_exporter/collector"
)

// SafeConfig holds the current configuration and swaps it atomically on a
// reload; a failed reload keeps the last good one. Reloads (SIGHUP,
// /-/reload) run one at a time.
type SafeConfig struct {
	mu   sync.RWMutex
	c    *Config
	path string

	reloadMu sync.Mutex                    // serialises Reload
	load     func(string) (*Config, error) // Load; replaced in tests

	reloadSuccess   prometheus.Gauge
	reloadTimestamp prometheus.Gauge
	containers      prometheus.Gauge
}

// NewSafeConfig starts with the empty configuration and registers the reload
// metrics with reg (which may be nil).
func NewSafeConfig(path string, reg prometheus.Registerer) *SafeConfig {
	s := &SafeConfig{c: Empty(), path: path, load: Load}
	s.reloadSuccess = newGauge("antspace_exporter_config_last_reload_successful")
	s.reloadTimestamp = newGauge("antspace_exporter_config_last_reload_success_timestamp_seconds")
	s.containers = newGauge("antspace_exporter_config_containers")
	if reg != nil {
		reg.MustRegister(s.reloadSuccess, s.reloadTimestamp, s.containers)
	}
	return s
}

func newGauge(name string) prometheus.Gauge {
	info := collector.ExporterMetric(name)
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: info.Name, Help: info.Help})
}

// Path is the inventory file, empty when none is used.
func (s *SafeConfig) Path() string { return s.path }

// Get returns the current configuration. Callers must not modify it.
func (s *SafeConfig) Get() *Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c
}

// ErrInventoryEmptied refuses a reload whose file lists no container while
// the loaded inventory lists some: an emptied (or truncated, or half-written)
// file is far more likely a mistake than a decommissioned site, and the last
// good inventory keeps the exporter probing and /control bounded.
var ErrInventoryEmptied = errors.New("the file lists no containers but the loaded inventory does; refusing to empty it (keeping the last good config)")

// Reload re-reads the inventory file and returns the configuration now in
// use. Without a file it only resets the success metrics. Concurrent calls
// run one after the other, so the metrics and the configuration in use
// always come from the same reload. A failed reload, or one that would
// empty a non-empty inventory (ErrInventoryEmptied), keeps the last good
// config and sets antspace_exporter_config_last_reload_successful to 0.
func (s *SafeConfig) Reload() (*Config, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	c := Empty()
	if s.path != "" {
		var err error
		if c, err = s.load(s.path); err != nil {
			s.reloadSuccess.Set(0)
			return s.Get(), err
		}
	}
	s.mu.Lock()
	if old := s.c; len(old.Containers) > 0 && len(c.Containers) == 0 {
		s.mu.Unlock()
		s.reloadSuccess.Set(0)
		return old, fmt.Errorf("%s: %w (%d containers)", s.path, ErrInventoryEmptied, len(old.Containers))
	}
	s.c = c
	s.mu.Unlock()
	s.reloadSuccess.Set(1)
	s.reloadTimestamp.Set(float64(time.Now().UnixNano()) / 1e9)
	s.containers.Set(float64(len(c.Containers)))
	return c, nil
}
