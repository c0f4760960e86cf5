// Package control serves the exporter's authenticated write endpoint,
// /control/{reset,setpoint,cooling}: it checks credentials and limits, sends
// the write to inventory containers only, reads the change back to verify
// it, and writes one audit log line per request.
//
// See docs/control.md for the configuration and the HTTP contract.
package control

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

// DangerousFlag is the command-line flag that enables cooling on/off.
const DangerousFlag = "--control.enable-dangerous-actions"

// Prefix is where the handler is mounted.
const Prefix = "/control/"

const (
	opReset   = payload.OpReset
	opSetTemp = payload.OpSetTemp
	opOpen    = payload.OpOpen
	opClose   = payload.OpClose
)

// ConfigSource gives the current configuration (config.SafeConfig).
type ConfigSource interface{ Get() *config.Config }

// Options configure a Handler.
type Options struct {
	Config ConfigSource
	// Client sends writes and read-backs; the exporter shares its probe client.
	Client *device.Client
	Logger log.Logger
	// Registerer gets antspace_exporter_control_requests_total; nil = none.
	Registerer prometheus.Registerer
	// EnableDangerous allows cooling on/off (DangerousFlag).
	EnableDangerous bool
	// Now is the clock of approval expiry; nil = time.Now.
	Now func() time.Time
}

// Handler serves /control/.
type Handler struct {
	config    ConfigSource
	client    *device.Client
	logger    log.Logger
	dangerous bool
	requests  *prometheus.CounterVec
	gate      *authGate
	authSlots chan struct{}
	// authShare is how many authentications one client may have in
	// progress at once: a small share of authSlots.
	authShare   int
	crossOrigin *http.CrossOriginProtection
	// compare is bcrypt.CompareHashAndPassword; tests count and hold
	// comparisons through it.
	compare func(hash, secret []byte) error
	// actions is config.ControlActionTable; tests change it.
	actions []config.ControlAction

	dummyMu sync.Mutex
	dummies map[int][]byte

	approvals *approvalStore
	now       func() time.Time

	// verifyDeadline bounds a write's read-back: nil is context.WithTimeout.
	// Tests set it to decide when verify_timeout passes.
	verifyDeadline func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// New returns the /control handler.
func New(o Options) *Handler {
	info := collector.ExporterMetric("antspace_exporter_control_requests_total")
	h := &Handler{
		config:      o.Config,
		client:      o.Client,
		logger:      o.Logger,
		dangerous:   o.EnableDangerous,
		requests:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: info.Name, Help: info.Help}, info.Labels),
		gate:        newAuthGate(),
		crossOrigin: http.NewCrossOriginProtection(),
		compare:     bcrypt.CompareHashAndPassword,
		actions:     config.ControlActionTable,
		dummies:     map[int][]byte{},
		approvals:   newApprovalStore(),
		now:         o.Now,
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.setAuthCapacity(max(2, runtime.GOMAXPROCS(0)))
	if h.logger == nil {
		h.logger = log.NewNopLogger()
	}
	// Every known action and result starts at 0, so rate() and dashboards
	// see a series before the first request of its kind.
	for _, a := range h.actions {
		for _, r := range countedResults {
			h.requests.WithLabelValues(a.Name, r)
		}
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(h.requests)
	}
	return h
}

// countedResults are the result label values of
// antspace_exporter_control_requests_total (docs/control.md lists them; a
// test keeps the three in step).
var countedResults = []string{
	"already_approved", "approval_stale", "approved", "bad_request", "canceled",
	"cross_origin", "dangerous_disabled", "device_error", "disabled", "dry_run",
	"expired", "forbidden", "method_not_allowed", "not_found", "partial",
	"pending_approval", "pending_full", "rate_limited", "success", "too_large",
	"unauthorized", "unverified",
}

// Summary is the landing page's line about control. It never shows secrets.
func Summary(c *config.Config, dangerousEnabled bool) string {
	ctl := c.Control
	if !ctl.Enabled() {
		return "Control is off: no credentials configured (see docs/control.md). Every /control request is refused."
	}
	creds := ctl.Credentials()
	d := "disabled (" + DangerousFlag + " not set)"
	if dangerousEnabled {
		d = "enabled"
	}
	paths := make([]string, len(config.ControlActions))
	for i, a := range config.ControlActions {
		paths[i] = Prefix + a
	}
	return fmt.Sprintf("Control is on: POST %s with %d bearer token(s) and %d basic-auth user(s); cooling on/off %s.",
		strings.Join(paths, ", "), len(creds.Tokens), len(creds.Users), d)
}

// audit collects what the request's log line says.
type audit struct {
	start     time.Time
	who       string
	attempted string
	client    string
	action    string
	target    string
	selector  string
	params    map[string]any
	dryRun    bool
	status    int
	result    string
	message   string
	detail    string // for the audit log only, never the client
	results   []result
	approval  *auditApproval
	// containers a pending request is for (results name them otherwise)
	containers []string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := &audit{start: time.Now(), client: clientAddr(r), action: "unknown"}
	defer h.finish(a)

	action, hasPrefix := strings.CutPrefix(r.URL.Path, Prefix)
	if !hasPrefix || action == "" {
		h.refuse(w, a, &httpError{status: http.StatusNotFound, result: "not_found",
			msg: fmt.Sprintf("no control action in the path; use POST %s{%s}", Prefix, strings.Join(config.ControlActions, ","))})
		return
	}
	act, known := h.lookup(action)
	known = known || action == endpointApprove || action == endpointPending
	if !known {
		h.refuse(w, a, &httpError{status: http.StatusNotFound, result: "not_found",
			msg: fmt.Sprintf("unknown control action %q; use POST %s{%s}", truncate(action, 40), Prefix, strings.Join(config.ControlActions, ","))})
		return
	}
	a.action = action
	if want := methodFor(action); r.Method != want {
		w.Header().Set("Allow", want)
		h.refuse(w, a, &httpError{status: http.StatusMethodNotAllowed, result: "method_not_allowed",
			msg: fmt.Sprintf("use %s %s%s", want, Prefix, action)})
		return
	}
	// A web page must not drive a browser that holds basic-auth credentials
	// (or a cached token) into a write: refuse what the browser marks as
	// cross-origin (Sec-Fetch-Site, or an Origin other than the Host).
	// Scripts and curl send neither header and pass.
	if err := h.crossOrigin.Check(r); err != nil {
		h.refuse(w, a, &httpError{status: http.StatusForbidden, result: "cross_origin",
			msg: "cross-origin request refused: a browser marked it as coming from another site's page (Sec-Fetch-Site or Origin); send /control requests from a script or curl"})
		return
	}

	cfg := h.config.Get()
	ctl := cfg.Control
	if !ctl.Enabled() {
		h.refuse(w, a, &httpError{status: http.StatusForbidden, result: "disabled",
			msg: "control is disabled: no credentials are configured. Add bcrypt-hashed tokens or users to the control: section of the config file " +
				"(or to the file named by control.credentials_file) and reload; see docs/control.md"})
		return
	}
	lim := ctl.Limits()

	// The attempt is admitted (and counted as a failure until it succeeds)
	// before any bcrypt work, so concurrent guesses cannot exceed the limit
	// and one address cannot hold the comparison capacity.
	key := limitKey(a.client)
	ticket, refusal := h.gate.admit(key, lim.AuthFailuresPerMinute, h.authShare)
	if refusal != nil {
		secs := int(math.Ceil(refusal.wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		msg := fmt.Sprintf("too many failed authentications from %s; retry in %d s", key, secs)
		if refusal.busy {
			msg = fmt.Sprintf("%s already has %d authentication(s) in progress, the most one client may have at once; retry in %d s", key, h.authShare, secs)
		}
		h.refuse(w, a, &httpError{status: http.StatusTooManyRequests, result: "rate_limited", msg: msg})
		return
	}
	release, err := h.acquireAuth(r.Context())
	if err != nil {
		ticket.done(false)
		h.refuse(w, a, &httpError{status: http.StatusServiceUnavailable, result: "canceled", msg: "request canceled"})
		return
	}
	p, attempted, authErr := h.authenticate(r, ctl.Credentials())
	release()
	ticket.done(authErr == nil)
	if authErr != nil {
		a.attempted = attempted
		w.Header().Add("WWW-Authenticate", `Bearer realm="antspace_exporter control"`)
		w.Header().Add("WWW-Authenticate", `Basic realm="antspace_exporter control", charset="UTF-8"`)
		h.refuse(w, a, &httpError{status: http.StatusUnauthorized, result: "unauthorized", msg: authErr.Error()})
		return
	}
	a.who = p.who()
	h.expire()
	switch action {
	case endpointApprove:
		h.serveApprove(w, r, a, p, cfg)
		return
	case endpointPending:
		h.servePending(w, r, a, p, cfg)
		return
	}
	if !p.cred.Allows(action) {
		h.refuse(w, a, &httpError{status: http.StatusForbidden, result: "forbidden",
			msg: fmt.Sprintf("%s may not %s (allowed actions: %s)", a.who, action, strings.Join(p.cred.Actions, ", "))})
		return
	}
	if act.Dangerous && !h.dangerous {
		h.refuse(w, a, &httpError{status: http.StatusForbidden, result: "dangerous_disabled",
			msg: fmt.Sprintf("%s is a dangerous action (switching cooling off under load destroys miners) and is disabled; start the exporter with %s to allow it", action, DangerousFlag)})
		return
	}

	raw, herr := readParams(r)
	if herr != nil {
		h.refuse(w, a, herr)
		return
	}
	a.target, a.selector = raw["target"], raw["selector"]
	q, herr := parseRequest(action, raw, lim)
	if herr != nil {
		h.refuse(w, a, herr)
		return
	}
	a.params, a.dryRun = q.parameters(), q.dryRun

	targets, herr := resolveTargets(cfg, q, act, p.cred, lim)
	if herr != nil {
		h.refuse(w, a, herr)
		return
	}
	if h.holdForApproval(w, a, p, cfg, q, raw, targets) {
		return
	}
	h.execute(w, r, a, q, targets, lim)
}

// lookup finds an action of the table by name.
func (h *Handler) lookup(name string) (config.ControlAction, bool) {
	for _, a := range h.actions {
		if a.Name == name {
			return a, true
		}
	}
	return config.ControlAction{}, false
}

type errorAnswer struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
	Action string `json:"action,omitempty"`
}

func (h *Handler) refuse(w http.ResponseWriter, a *audit, e *httpError) {
	a.status, a.result, a.message, a.detail = e.status, e.result, e.msg, e.detail
	act := a.action
	if act == "unknown" {
		act = ""
	}
	writeJSON(w, e.status, errorAnswer{Error: e.msg, Status: e.status, Action: act})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorAnswer{Error: "encoding the answer: " + err.Error(), Status: status})
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// finish writes the audit line and counts the request.
func (h *Handler) finish(a *audit) {
	if a.result == "" {
		a.result = "internal_error"
	}
	h.requests.WithLabelValues(a.action, a.result).Inc()
	kv := []any{
		"msg", "control request",
		"who", a.who,
		"client", a.client,
		"action", a.action,
		"result", a.result,
		"status", a.status,
	}
	if a.attempted != "" {
		kv = append(kv, "attempted", a.attempted)
	}
	if a.target != "" {
		kv = append(kv, "target", a.target)
	}
	if a.selector != "" {
		kv = append(kv, "selector", a.selector)
	}
	if len(a.params) > 0 {
		kv = append(kv, "params", formatParams(a.params))
	}
	if a.params != nil {
		kv = append(kv, "dry_run", a.dryRun)
	}
	if len(a.results) > 0 {
		names := make([]string, 0, len(a.results))
		device := make([]string, 0, len(a.results))
		for _, r := range a.results {
			names = append(names, r.Container)
			device = append(device, r.Container+"="+r.summary())
		}
		kv = append(kv, "containers", strings.Join(names, ","), "device", strings.Join(device, "; "))
	} else if len(a.containers) > 0 {
		kv = append(kv, "containers", strings.Join(a.containers, ","))
	}
	if a.message != "" && a.status >= 400 {
		kv = append(kv, "err", a.message)
	}
	if a.detail != "" {
		kv = append(kv, "detail", a.detail)
	}
	kv = a.approval.logFields(kv)
	kv = append(kv, "duration_seconds", time.Since(a.start).Seconds())
	lg := level.Info(h.logger)
	if a.status >= 400 {
		lg = level.Warn(h.logger)
	}
	_ = lg.Log(kv...)
}

func formatParams(p map[string]any) string {
	keys := slices.Sorted(maps.Keys(p))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, p[k]))
	}
	return strings.Join(parts, ",")
}
