package harness

import (
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"time"
)

// Prometheus is a running Prometheus server or agent.
type Prometheus struct {
	*Process
	URL string // http://host:port
}

// PrometheusOptions says how to start Prometheus.
type PrometheusOptions struct {
	Bin     string // path of prometheus
	Config  string // path of its configuration file
	DataDir string // --storage.tsdb.path, or --storage.agent.path for an agent
	// Agent runs it in agent mode, with the flag this binary takes
	// (AgentFlag).
	Agent   bool
	Args    []string // further flags, e.g. --web.enable-remote-write-receiver
	LogFile string
	// Ready bounds the wait for /-/ready (default 60 s).
	Ready time.Duration
}

// StartPrometheus starts Prometheus on a free loopback port with
// --log.level=warn and waits until /-/ready answers 200. On error nothing is
// left running.
func StartPrometheus(o PrometheusOptions) (*Prometheus, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--config.file=" + o.Config, "--web.listen-address=" + addr, "--log.level=warn"}
	if o.Agent {
		flag, err := AgentFlag(o.Bin)
		if err != nil {
			return nil, err
		}
		args = append(args, flag, "--storage.agent.path="+o.DataDir)
	} else {
		args = append(args, "--storage.tsdb.path="+o.DataDir)
	}
	p, err := Start(o.Bin, append(args, o.Args...), o.LogFile)
	if err != nil {
		return nil, err
	}
	pr := &Prometheus{Process: p, URL: "http://" + addr}
	limit := o.Ready
	if limit <= 0 {
		limit = time.Minute
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if err := p.WaitUntil(limit, "Prometheus' /-/ready", func() bool {
		resp, err := client.Get(pr.URL + "/-/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close() // only the status matters
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		p.Stop()
		return nil, err
	}
	return pr, nil
}

// Metrics scrapes Prometheus' own /metrics.
func (p *Prometheus) Metrics() (Metrics, error) { return Scrape(p.URL + "/metrics") }

var agentOption = regexp.MustCompile(`(?m)^\s+--(\[no-\])?agent\s`)

// AgentFlag is the flag that runs bin in agent mode: --agent from
// Prometheus 3 on (which no longer knows the feature flag), else
// --enable-feature=agent (2.x). It reads bin's --help: Prometheus 3 built
// from the module proxy reports no version number.
func AgentFlag(bin string) (string, error) {
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil && len(out) == 0 {
		return "", fmt.Errorf("%s --help: %w", bin, err)
	}
	if agentOption.Match(out) {
		return "--agent", nil
	}
	return "--enable-feature=agent", nil
}
