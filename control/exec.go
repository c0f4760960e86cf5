package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

// result is the outcome for one container.
type result struct {
	Container string `json:"container"`
	Type      string `json:"type"`
	// OK: the controller accepted the write (or, in a dry run, would be sent it).
	OK bool `json:"ok"`
	// Verified: coolerState read back shows the change within verify_timeout.
	Verified bool `json:"verified"`
	// Device is the controller's answer to the write.
	Device *deviceAnswer `json:"device,omitempty"`
	// Observed are the read-back values the verification looked at.
	Observed    map[string]any `json:"observed,omitempty"`
	VerifyError string         `json:"verify_error,omitempty"`
	Error       string         `json:"error,omitempty"`
	// Outcome is one of the outcome* constants (batch.go).
	Outcome string  `json:"outcome"`
	Seconds float64 `json:"duration_seconds"`
}

type deviceAnswer struct {
	OK     bool   `json:"ok"`
	Method string `json:"method"`
}

func (r *result) summary() string {
	switch {
	case r.Outcome == outcomeNotSent:
		return "not sent: " + r.Error
	case r.Error != "":
		return "error: " + r.Error
	case r.Device == nil:
		return "dry_run"
	case r.Verified:
		return "ok verified"
	default:
		return "ok unverified: " + r.VerifyError
	}
}

// answer is the JSON body of an executed (or dry-run) request.
type answer struct {
	Action     string         `json:"action"`
	Target     string         `json:"target,omitempty"`
	Selector   string         `json:"selector,omitempty"`
	Parameters map[string]any `json:"parameters"`
	DryRun     bool           `json:"dry_run"`
	// OK: every container accepted the write.
	OK bool `json:"ok"`
	// Verified: every container showed the change.
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
	// Outcomes counts the results by outcome.
	Outcomes map[string]int `json:"outcomes"`
	// Approval says who asked and approved (approval-gated actions only).
	Approval *approvalAnswer `json:"approval,omitempty"`
	Results  []result        `json:"results"`
}

func (h *Handler) execute(w http.ResponseWriter, r *http.Request, a *audit, q *request, targets []*config.Container, lim config.ControlLimits) {
	ans := answer{Action: q.action, Target: q.target, Selector: q.selector, Parameters: q.parameters(), DryRun: q.dryRun, Approval: a.approval.answer()}
	results := make([]result, len(targets))
	if q.dryRun {
		for i, ct := range targets {
			results[i] = result{Container: ct.Name, Type: ct.Type, OK: true, Outcome: outcomeDryRun}
		}
		ans.OK, ans.Results, ans.Outcomes = true, results, countOutcomes(results)
		a.status, a.result, a.results = http.StatusOK, "dry_run", results
		writeJSON(w, http.StatusOK, ans)
		return
	}

	// A started write is seen through even if the client goes away, so the
	// answer and the audit line always say what was sent; each device call is
	// bounded by the control timeouts and the whole batch by batch_timeout
	// instead.
	results = h.runBatch(context.WithoutCancel(r.Context()), targets, q, lim)

	failed, verified := 0, 0
	for _, res := range results {
		if !res.OK {
			failed++
		}
		if res.Verified {
			verified++
		}
	}
	ans.Results, ans.Outcomes = results, countOutcomes(results)
	ans.OK = failed == 0
	ans.Verified = verified == len(results)
	status := http.StatusOK
	switch {
	case failed == len(results):
		status = http.StatusBadGateway
		a.result = "device_error"
		if len(results) == 1 {
			ans.Error = fmt.Sprintf("%s: %s", results[0].Container, results[0].Error)
		} else {
			ans.Error = fmt.Sprintf("all %d containers failed", failed)
		}
	case failed > 0:
		status = http.StatusMultiStatus
		a.result = "partial"
		ans.Error = fmt.Sprintf("%d of %d containers failed", failed, len(results))
	case !ans.Verified:
		a.result = "unverified"
	default:
		a.result = "success"
	}
	if n := ans.Outcomes[outcomeNotSent]; n > 0 {
		ans.Error += fmt.Sprintf(" (%d not sent: control.batch_timeout ran out before their turn)", n)
	}
	a.status, a.results, a.message = status, results, ans.Error
	writeJSON(w, status, ans)
}

// writeOne sends the write to one container and verifies it.
func (h *Handler) writeOne(ctx context.Context, ct *config.Container, q *request, lim config.ControlLimits) result {
	start := time.Now()
	res := result{Container: ct.Name, Type: ct.Type}

	wctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	env, err := h.client.Call(wctx, ct.Address, q.operation, q.extra)
	cancel()
	if env != nil {
		res.Device = &deviceAnswer{OK: env.OK, Method: env.Method}
	}
	if err != nil {
		res.Error = err.Error()
		res.Outcome = outcomeError
		if errors.Is(err, context.DeadlineExceeded) {
			res.Outcome = outcomeTimeout
		}
		res.Seconds = time.Since(start).Seconds()
		return res
	}
	res.OK = true

	withTimeout := context.WithTimeout
	if h.verifyDeadline != nil {
		withTimeout = h.verifyDeadline
	}
	vctx, cancel := withTimeout(ctx, lim.VerifyTimeout)
	defer cancel()
	res.Verified, res.Observed, err = h.verify(vctx, ct, q)
	res.Outcome = outcomeVerified
	if err != nil {
		res.VerifyError = err.Error()
	}
	if !res.Verified {
		res.Outcome = outcomeUnverified
	}
	res.Seconds = time.Since(start).Seconds()
	return res
}

// verify reads coolerState until it shows the change or ctx ends; between
// reads it backs off from 50 ms up to 1 s. It uses Client.Call, never the
// coalescing Client.Read: a read shared with a probe could predate the write.
func (h *Handler) verify(ctx context.Context, ct *config.Container, q *request) (bool, map[string]any, error) {
	backoff := 50 * time.Millisecond
	var lastErr error
	var observed map[string]any
	for {
		env, err := h.client.Call(ctx, ct.Address, payload.OpCoolerState, nil)
		if err == nil {
			var params map[string]json.RawMessage
			if params, err = payload.DecodeParams(env.Params); err != nil {
				err = fmt.Errorf("coolerState: %w", err)
			} else {
				var done bool
				done, observed, err = check(collector.Type(ct.Type), q, params)
				if done {
					return true, observed, nil
				}
			}
		}
		lastErr = err
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			if lastErr == nil {
				return false, observed, errors.New("the change did not show in coolerState within control.verify_timeout")
			}
			return false, observed, fmt.Errorf("not verified within control.verify_timeout: %w", lastErr)
		case <-timer.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

// pumpField is the pump that runs exactly when cooling is on.
var pumpField = map[collector.Type]string{
	collector.TypeHK3:       "circulating_pump",
	collector.TypeImmersion: "one_pump",
}

// check reports whether coolerState params show the requested change:
//   - setpoint N: supply_liquid_set_temp equals N (±0.05, the device's 0.1 °C resolution);
//   - mode=pid: pid_mode is on;
//   - cooling on/off: the main pump (HK3 circulating_pump, immersion one_pump) runs / stops;
//   - reset: no fault flag of the type (collector.FaultFields, the collector's
//     fault table) is set (a fault whose cause persists latches again, which is
//     exactly what the operator needs to know).
//
// A done=false with a nil error means "not (yet) showing the change".
func check(t collector.Type, q *request, p map[string]json.RawMessage) (done bool, observed map[string]any, err error) {
	observed = map[string]any{}
	switch q.action {
	case config.ActionSetpoint:
		if q.pid {
			on, err := flagValue(p, "pid_mode")
			if err != nil {
				return false, observed, err
			}
			observed["pid_mode"] = on
			return on, observed, nil
		}
		v, err := numberValue(p, "supply_liquid_set_temp")
		if err != nil {
			return false, observed, err
		}
		observed["supply_liquid_set_temp"] = v
		if math.Abs(v-q.celsius) > 0.05+1e-9 {
			return false, observed, fmt.Errorf("supply_liquid_set_temp is %g, requested %g", v, q.celsius)
		}
		return true, observed, nil
	case config.ActionCooling:
		f := pumpField[t]
		on, err := flagValue(p, f)
		if err != nil {
			return false, observed, err
		}
		observed[f] = on
		if on != q.on {
			return false, observed, fmt.Errorf("%s is %v, want %v", f, on, q.on)
		}
		return true, observed, nil
	case config.ActionReset:
		active := []string{}
		for _, f := range collector.FaultFields(t) {
			if _, ok := p[f]; !ok {
				continue
			}
			on, err := flagValue(p, f)
			if err != nil || on {
				active = append(active, f)
			}
		}
		observed["faults_active"] = active
		if len(active) > 0 {
			return false, observed, fmt.Errorf("fault flags still set: %s", strings.Join(active, ", "))
		}
		return true, observed, nil
	}
	return false, observed, fmt.Errorf("no verification for %s", q.action)
}

// numberValue reads a numeric field with the collector's parser.
func numberValue(p map[string]json.RawMessage, field string) (float64, error) {
	raw, ok := p[field]
	if !ok {
		return 0, fmt.Errorf("coolerState has no %s", field)
	}
	v, err := payload.ParseNumber(raw)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return v, nil
}

// flagValue reads a boolean field with the collector's parser.
func flagValue(p map[string]json.RawMessage, field string) (bool, error) {
	raw, ok := p[field]
	if !ok {
		return false, fmt.Errorf("coolerState has no %s", field)
	}
	v, err := payload.ParseBool(raw)
	if err != nil {
		return false, fmt.Errorf("%s: %w", field, err)
	}
	return v == 1, nil
}
