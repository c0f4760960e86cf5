package harness

import (
	"net"
	"net/http"
	"time"
)

// Exporter is a running exporter binary.
type Exporter struct {
	*Process
	URL string // http://host:port
}

// ExporterOptions says how to start the exporter.
type ExporterOptions struct {
	Bin     string   // path of antspace_exporter
	Args    []string // flags besides --web.listen-address
	Env     []string // extra KEY=VALUE
	LogFile string
	// Ready bounds the wait for /-/ready (default 30 s).
	Ready time.Duration
}

// StartExporter starts the exporter on a free loopback port and waits until
// /-/ready answers 200. On error nothing is left running.
func StartExporter(o ExporterOptions) (*Exporter, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--web.listen-address=" + addr}, o.Args...)
	p, err := Start(o.Bin, args, o.LogFile, o.Env...)
	if err != nil {
		return nil, err
	}
	e := &Exporter{Process: p, URL: "http://" + addr}
	limit := o.Ready
	if limit <= 0 {
		limit = 30 * time.Second
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if err := p.WaitUntil(limit, "the exporter's /-/ready", func() bool {
		resp, err := client.Get(e.URL + "/-/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close() // /-/ready's short answer; only the status matters
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		p.Stop()
		return nil, err
	}
	return e, nil
}

// Metrics scrapes the exporter's own /metrics.
func (e *Exporter) Metrics() (Metrics, error) { return Scrape(e.URL + "/metrics") }

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
