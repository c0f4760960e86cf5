//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
)

// generator sends the probes (or, for the floor, the device reads) that a
// phase schedules.
type generator struct {
	o      options
	client *http.Client // to the exporter
	floor  *http.Client // to the devices, the same connection cap as the exporter's
	slots  chan struct{}
}

func newGenerator(o options) *generator {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     5 * time.Minute,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}
	floor := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: o.conns,
		MaxConnsPerHost:     o.conns,
		IdleConnTimeout:     5 * time.Minute,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}
	return &generator{o: o, client: &http.Client{Transport: tr}, floor: &http.Client{Transport: floor}, slots: make(chan struct{}, o.maxInFlight)}
}

const promAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// probe returns a function that scrapes base/probe like Prometheus:
// scrape-timeout header, the Accept header of Prometheus 2.x and gzip (Go's
// transport asks for it).
func (g *generator) probe(base string) func(context.Context, harness.Target) error {
	timeout := strconv.FormatFloat(g.o.scrapeTO.Seconds(), 'f', -1, 64)
	return func(ctx context.Context, t harness.Target) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/probe?target="+url.QueryEscape(t.Name), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", promAccept)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
		req.Header.Set("User-Agent", "Prometheus/2.42.0")
		resp, err := g.client.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }() // read to its end below
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if !bytes.Contains(body, []byte("\nantspace_up 1\n")) || !bytes.Contains(body, []byte("\nantspace_miner_info_success 1\n")) {
			return errors.New("antspace_up or antspace_miner_info_success not 1")
		}
		return nil
	}
}

// fetchDirect is the floor: the two reads a probe needs, concurrently, each
// decoded into map[string]any.
func (g *generator) fetchDirect(ctx context.Context, t harness.Target) error {
	errc := make(chan error, 1)
	go func() { errc <- g.getJSON(ctx, t.Address, "minerInfo") }()
	err := g.getJSON(ctx, t.Address, "coolerState")
	return errors.Join(err, <-errc)
}

func (g *generator) getJSON(ctx context.Context, address, op string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+address+"/cooler?operation="+op, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := g.floor.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // read to its end below
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", op, resp.StatusCode)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if v["ok"] != true {
		return fmt.Errorf("%s: ok is not true", op)
	}
	return nil
}
