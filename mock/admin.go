package mock

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"time"
)

const maxAdminBody = 1 << 20

// serveAdmin serves the admin API under /mock/ (see the package documentation).
func (c *Container) serveAdmin(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /mock/state":
		c.mu.Lock()
		now := c.now()
		st := map[string]any{
			"name": c.name, "type": c.typ, "cooling_on": c.sim.on, "time": now,
			"params": c.coolerParams(now), "misbehaviours": nil,
		}
		c.mu.Unlock()
		st["misbehaviours"] = misbehavioursJSON(c.Misbehaviours())
		writeJSON(w, http.StatusOK, st)
	case "POST /mock/fault":
		on, err := boolParam(r, "on")
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := c.SetFault(r.URL.Query().Get("name"), on); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		adminOK(w)
	case "POST /mock/faults":
		on, err := boolParam(r, "on")
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		c.SetAllFaults(on)
		adminOK(w)
	case "POST /mock/set":
		var fields map[string]any
		if err := decodeBody(r, &fields); err != nil {
			adminError(w, http.StatusBadRequest, "body must be a JSON object of field -> value: "+err.Error())
			return
		}
		for k, v := range fields {
			if err := c.Set(k, v); err != nil {
				adminError(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		adminOK(w)
	case "POST /mock/misbehave":
		m, err := decodeMisbehaviour(r)
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		c.Misbehave(m)
		adminOK(w)
	case "DELETE /mock/misbehave":
		c.ClearMisbehaviour()
		adminOK(w)
	case "GET /mock/writes":
		type write struct {
			Operation string    `json:"operation"`
			Temp      string    `json:"temp,omitempty"`
			At        time.Time `json:"at"`
		}
		out := []write{}
		for _, x := range c.Writes() {
			out = append(out, write(x))
		}
		writeJSON(w, http.StatusOK, out)
	case "GET /mock/reads":
		c.mu.Lock()
		out := map[string]int{OpCoolerState: 0, OpMinerInfo: 0}
		maps.Copy(out, c.reads)
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case "POST /mock/clock/advance":
		mc, ok := c.clock.(*ManualClock)
		if !ok {
			adminError(w, http.StatusConflict, "the container runs on real time; clock/advance needs a manual clock")
			return
		}
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 {
			adminError(w, http.StatusBadRequest, fmt.Sprintf("d must be a non-negative duration such as 5m, got %q", r.URL.Query().Get("d")))
			return
		}
		mc.Advance(d)
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "time": mc.Now()})
	default:
		if adminPaths[r.URL.Path] {
			adminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
			return
		}
		adminError(w, http.StatusNotFound, "unknown admin endpoint "+r.URL.Path)
	}
}

var adminPaths = map[string]bool{
	"/mock/state": true, "/mock/fault": true, "/mock/faults": true, "/mock/set": true,
	"/mock/misbehave": true, "/mock/writes": true, "/mock/reads": true, "/mock/clock/advance": true,
}

func adminOK(w http.ResponseWriter) { writeJSON(w, http.StatusOK, map[string]string{"status": "ok"}) }

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"status": "error", "error": msg})
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("query parameter %s must be true or false, got %q", name, v)
	}
	return b, nil
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

type misbehaviourJSON struct {
	Kind      Kind   `json:"kind"`
	Operation string `json:"operation,omitempty"`
	Count     int    `json:"count"`
	Delay     string `json:"delay,omitempty"`
	Size      int    `json:"size,omitempty"`
}

func misbehavioursJSON(ms []Misbehaviour) []misbehaviourJSON {
	out := []misbehaviourJSON{}
	for _, m := range ms {
		j := misbehaviourJSON{Kind: m.Kind, Operation: m.Operation, Count: m.Count, Size: m.Size}
		if m.Delay > 0 {
			j.Delay = m.Delay.String()
		}
		out = append(out, j)
	}
	return out
}

func decodeMisbehaviour(r *http.Request) (Misbehaviour, error) {
	var j misbehaviourJSON
	if err := decodeBody(r, &j); err != nil {
		return Misbehaviour{}, fmt.Errorf(`body must be JSON {"kind","operation","count","delay","size"}: %w`, err)
	}
	m := Misbehaviour{Kind: j.Kind, Operation: j.Operation, Count: j.Count, Size: j.Size}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return m, fmt.Errorf("delay must be a duration such as 2s: %w", err)
		}
		m.Delay = d
	}
	return m, m.Validate()
}
