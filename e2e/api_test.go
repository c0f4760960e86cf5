package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var httpClient = &http.Client{Timeout: 15 * time.Second}

func getJSON(u string, v any) error {
	resp, err := httpClient.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %.300s", u, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// promAPI is a client of Prometheus' HTTP API v1.
type promAPI struct{ base string }

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s promSample) value() string {
	v, _ := s.Value[1].(string)
	return v
}

type promResponse[T any] struct {
	Status    string `json:"status"`
	Data      T      `json:"data"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Warnings  []string
}

// query runs an instant query and returns the vector.
func (p promAPI) query(q string) ([]promSample, error) {
	var r promResponse[struct {
		ResultType string       `json:"resultType"`
		Result     []promSample `json:"result"`
	}]
	if err := getJSON(p.base+"/api/v1/query?query="+url.QueryEscape(q), &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s: %s", q, r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %s, want vector", q, r.Data.ResultType)
	}
	return r.Data.Result, nil
}

// rawSamples returns the samples of the range selector q (one series):
// timestamps in milliseconds and values.
func (p promAPI) rawSamples(q string) ([]int64, []string, error) {
	var r promResponse[struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}]
	if err := getJSON(p.base+"/api/v1/query?query="+url.QueryEscape(q), &r); err != nil {
		return nil, nil, err
	}
	if r.Status != "success" || r.Data.ResultType != "matrix" || len(r.Data.Result) != 1 {
		return nil, nil, fmt.Errorf("query %s: %s %s, %s with %d series, want one series", q, r.ErrorType, r.Error, r.Data.ResultType, len(r.Data.Result))
	}
	var ts []int64
	var vs []string
	for _, v := range r.Data.Result[0].Values {
		t, _ := v[0].(float64)
		s, _ := v[1].(string)
		ts = append(ts, int64(math.Round(t*1000)))
		vs = append(vs, s)
	}
	return ts, vs, nil
}

// queryRange runs a range query over the last window and returns the number
// of series.
func (p promAPI) queryRange(q string, window, step time.Duration) (int, error) {
	end := time.Now()
	v := url.Values{
		"query": {q},
		"start": {fmt.Sprint(end.Add(-window).Unix())},
		"end":   {fmt.Sprint(end.Unix())},
		"step":  {fmt.Sprint(step.Seconds())},
	}
	var r promResponse[struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}]
	if err := getJSON(p.base+"/api/v1/query_range?"+v.Encode(), &r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("query_range %s: %s: %s", q, r.ErrorType, r.Error)
	}
	return len(r.Data.Result), nil
}

type promTarget struct {
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	Labels           map[string]string `json:"labels"`
	ScrapePool       string            `json:"scrapePool"`
	ScrapeURL        string            `json:"scrapeUrl"`
	Health           string            `json:"health"`
	LastError        string            `json:"lastError"`
}

func (p promAPI) targets() ([]promTarget, error) {
	var r promResponse[struct {
		ActiveTargets []promTarget `json:"activeTargets"`
	}]
	if err := getJSON(p.base+"/api/v1/targets?state=active", &r); err != nil {
		return nil, err
	}
	return r.Data.ActiveTargets, nil
}

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"` // pending | firing
	Value       string            `json:"value"`
}

func (p promAPI) alerts() ([]promAlert, error) {
	var r promResponse[struct {
		Alerts []promAlert `json:"alerts"`
	}]
	if err := getJSON(p.base+"/api/v1/alerts", &r); err != nil {
		return nil, err
	}
	return r.Data.Alerts, nil
}

// amAPI is a client of Alertmanager's API v2.
type amAPI struct{ base string }

type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Receivers   []struct {
		Name string `json:"name"`
	} `json:"receivers"`
	Status struct {
		State       string   `json:"state"` // active | suppressed | unprocessed
		InhibitedBy []string `json:"inhibitedBy"`
		SilencedBy  []string `json:"silencedBy"`
	} `json:"status"`
	Fingerprint string `json:"fingerprint"`
	EndsAt      string `json:"endsAt"`
}

// alerts returns the alerts Alertmanager holds that are not resolved,
// including inhibited and silenced ones.
func (a amAPI) alerts() ([]amAlert, error) {
	var r []amAlert
	err := getJSON(a.base+"/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true", &r)
	return r, err
}

// match reports whether labels contain every pair of want.
func match(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func describe(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// webhookRecorder stands in for the pager/chat/ticket bridges of
// examples/alertmanager.yml and records what Alertmanager sends.
type webhookRecorder struct {
	srv *http.Server
	ln  net.Listener

	mu       sync.Mutex
	messages []webhookMessage
}

type webhookMessage struct {
	Path     string // /pager, /chat or /ticket
	Receiver string `json:"receiver"`
	Status   string `json:"status"`
	Alerts   []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

func startWebhook(t *testing.T) *webhookRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &webhookRecorder{ln: ln}
	w.srv = &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&m); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		m.Path = r.URL.Path
		w.mu.Lock()
		w.messages = append(w.messages, m)
		w.mu.Unlock()
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
	t.Cleanup(func() { _ = w.srv.Close() })
	return w
}

func (w *webhookRecorder) addr() string { return w.ln.Addr().String() }

// received reports whether a message on path carried an alert with the
// given status and labels.
func (w *webhookRecorder) received(path, status string, labels map[string]string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.messages {
		if m.Path != path {
			continue
		}
		for _, a := range m.Alerts {
			if a.Status == status && match(a.Labels, labels) {
				return true
			}
		}
	}
	return false
}
