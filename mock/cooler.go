package mock

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-kit/log/level"
)

// Device operations.
const (
	OpCoolerState = "coolerState"
	OpMinerInfo   = "minerInfo"
	OpReset       = "reset"
	OpSetTemp     = "setTemp"
	OpOpen        = "open"
	OpClose       = "close"
)

func isRead(op string) bool { return op == OpCoolerState || op == OpMinerInfo }

func isOperation(op string) bool {
	switch op {
	case OpCoolerState, OpMinerInfo, OpReset, OpSetTemp, OpOpen, OpClose:
		return true
	}
	return false
}

// envelope is the device's answer to every operation.
type envelope struct {
	OK     bool   `json:"ok"`
	Method string `json:"method"`
	Params any    `json:"params"`
}

// ServeHTTP serves GET /cooler?operation=... like the device, and the admin API under /mock/.
func (c *Container) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/cooler":
		c.serveCooler(w, r)
	case strings.HasPrefix(r.URL.Path, "/mock/"):
		c.serveAdmin(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (c *Container) serveCooler(w http.ResponseWriter, r *http.Request) {
	op := r.URL.Query().Get("operation")
	c.mu.Lock()
	c.reads[op]++
	var mb *Misbehaviour
	if isOperation(op) && r.Method == http.MethodGet {
		mb = c.takeMisbehaviour(op)
	}
	c.mu.Unlock()
	kind := ""
	if mb != nil {
		kind = string(mb.Kind)
	}
	level.Debug(c.logger).Log("msg", "request", "container", c.name, "operation", op, "misbehaviour", kind, "remote", r.RemoteAddr)

	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"status": "error", "error": "ERR_METHOD_NOT_ALLOWED"})
		return
	}
	if !isOperation(op) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "error": "ERR_UNSUPPORTED"})
		return
	}
	env := c.operate(op, r.URL.Query())
	if mb != nil {
		c.misbehave(w, r, *mb, env)
		return
	}
	writeJSON(w, http.StatusOK, env)
}

// operate performs op and returns its answer. Writes are recorded and applied.
func (c *Container) operate(op string, q map[string][]string) envelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	env := envelope{OK: true, Method: op}
	switch op {
	case OpCoolerState:
		env.Params = c.coolerParams(now)
		return env
	case OpMinerInfo:
		env.Params = c.minerParams(now)
		return env
	}
	temp := ""
	if v, ok := q["temp"]; ok && len(v) > 0 {
		temp = v[0]
	}
	w := Write{Operation: op, At: now}
	switch op {
	case OpReset:
		for f := range c.sim.faults {
			c.sim.faults[f] = false
		}
	case OpOpen:
		c.sim.on = true
	case OpClose:
		c.sim.on = false
	case OpSetTemp:
		w.Temp = temp
		env.OK = c.setTemp(temp)
	}
	c.writes = append(c.writes, w)
	return env
}

// setTemp applies a setTemp write: a finite number sets the setpoint and leaves PID mode,
// "pid" enters PID mode. Anything else is refused (ok:false) and changes nothing.
func (c *Container) setTemp(temp string) bool {
	if strings.EqualFold(temp, "pid") {
		c.sim.pid = true
		return true
	}
	f, err := strconv.ParseFloat(temp, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	c.sim.setpoint = f
	c.sim.pid = false
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
