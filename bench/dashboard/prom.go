//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
)

// promConfig is Prometheus' configuration: the exporter's fleet through
// /sd with the multi-target relabelling of the README, the rule file.
func promConfig(exporterAddr, rulesFile string, interval time.Duration) string {
	return fmt.Sprintf(`global:
  scrape_interval: %[3]s
  scrape_timeout: 10s
  evaluation_interval: %[3]s
rule_files: [%[2]q]
scrape_configs:
  - job_name: antspace
    metrics_path: /probe
    http_sd_configs:
      - url: http://%[1]s/sd
        refresh_interval: 1m
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__address__]
        target_label: instance
      - target_label: __address__
        replacement: %[1]s
`, exporterAddr, rulesFile, promDuration(interval))
}

// prometheus is a running Prometheus (internal/harness) and its HTTP API.
type prometheus struct {
	*harness.Prometheus
	url    string
	client *http.Client
}

func startPrometheus(bin, dir, config, dataDir string) (*prometheus, error) {
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	// Replaying a large head and loading the backfilled blocks takes a while.
	p, err := harness.StartPrometheus(harness.PrometheusOptions{
		Bin: bin, Config: cfg, DataDir: dataDir, Args: []string{"--storage.tsdb.retention.time=2d"},
		LogFile: filepath.Join(dir, "prometheus.log"), Ready: 5 * time.Minute,
	})
	if err != nil {
		return nil, err
	}
	return &prometheus{Prometheus: p, url: p.URL, client: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// apiResult is the part of a Prometheus API answer the harness reads.
type apiResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

// post sends a form to an API endpoint as Grafana does (POST) and returns
// the time until the whole answer was read, and the number of results.
func (p *prometheus) post(ctx context.Context, path string, form url.Values) (time.Duration, int, error) {
	var req *http.Request
	var err error
	if strings.HasPrefix(path, "/api/v1/label/") {
		// Label values take GET only (Grafana sends GET).
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, p.url+path+"?"+form.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.url+path, strings.NewReader(form.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	_ = resp.Body.Close() // read to the end already
	if err != nil {
		return elapsed, 0, err
	}
	// Label values answer a list of strings; queries a list of results.
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return elapsed, 0, fmt.Errorf("%s: %w", path, err)
	}
	if r.Status != "success" {
		return elapsed, 0, fmt.Errorf("%s: %s", path, r.Error)
	}
	var list []json.RawMessage
	if json.Unmarshal(r.Data, &list) == nil {
		return elapsed, len(list), nil
	}
	var res apiResult
	if err := json.Unmarshal(body, &res); err != nil {
		return elapsed, 0, err
	}
	return elapsed, len(res.Data.Result), nil
}

// scalar evaluates an instant query that returns one value (0 when empty).
func (p *prometheus) scalar(q string, at time.Time) (float64, error) {
	form := url.Values{"query": {q}}
	if !at.IsZero() {
		form.Set("time", formatTime(at))
	}
	resp, err := p.client.PostForm(p.url+"/api/v1/query", form)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }() // read below; nothing to do on a close error
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s: %s", q, r.Error)
	}
	if len(r.Data.Result) == 0 {
		return 0, nil
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// self reads one of Prometheus' own metrics from its /metrics (it does
// not scrape itself here).
func (p *prometheus) self(name string) (float64, error) {
	m, err := p.Metrics()
	if err != nil {
		return 0, err
	}
	return m.Get(name)
}

// seriesCount is the number of series an instant query returns.
func (p *prometheus) seriesCount(q string, at time.Time) (int, error) {
	_, n, err := p.post(context.Background(), "/api/v1/query", url.Values{"query": {q}, "time": {formatTime(at)}})
	return n, err
}

func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}
