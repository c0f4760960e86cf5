package mock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind is a way for the controller to misbehave.
type Kind string

// Misbehaviour kinds.
const (
	Slow          Kind = "slow"           // answer normally after Delay
	Hang          Kind = "hang"           // never answer (until the client goes away or the server closes)
	HTTP500       Kind = "http500"        // HTTP 500 with an error body
	HTTP400       Kind = "http400"        // HTTP 400 {"status":"error","error":"ERR_UNSUPPORTED"}
	InvalidJSON   Kind = "invalid_json"   // HTTP 200 with a body that is not JSON
	TruncatedJSON Kind = "truncated_json" // HTTP 200 with the first half of the normal body
	WrongTypes    Kind = "wrong_types"    // strings for numbers, objects for booleans
	Nulls         Kind = "nulls"          // every params value (nested ones too) null
	HugeBody      Kind = "huge_body"      // the normal answer padded to Size bytes, streamed
	NotOK         Kind = "not_ok"         // {"ok":false,"method":op,"params":null}
	NotOKParams   Kind = "not_ok_params"  // {"ok":false,"method":op,"params":<the normal params>}
	ParamsNull    Kind = "params_null"    // {"ok":true,"method":op,"params":null}
	ExtraFields   Kind = "extra_fields"   // unknown numeric, boolean and string fields added to params
)

// Kinds lists every misbehaviour kind.
// (WireKinds lists the wire-level ones, which need a real connection.)
var Kinds = []Kind{Slow, Hang, HTTP500, HTTP400, InvalidJSON, TruncatedJSON, WrongTypes, Nulls, HugeBody, NotOK, NotOKParams, ParamsNull, ExtraFields}

// DefaultHugeBodySize is the body size of HugeBody when Size is 0.
const DefaultHugeBodySize = 64 << 20

// Misbehaviour makes the container answer matching requests wrongly.
type Misbehaviour struct {
	Kind      Kind
	Operation string        // "" = both read operations; otherwise only this operation (a write is still performed)
	Count     int           // 0 = until cleared; N = the next N matching answers
	Delay     time.Duration // for Slow
	Size      int           // for HugeBody: total body bytes (at least the normal answer); 0 = DefaultHugeBodySize
}

// Validate reports whether m can be applied.
func (m Misbehaviour) Validate() error {
	known := false
	for _, k := range Kinds {
		known = known || k == m.Kind
	}
	known = known || isWireKind(m.Kind)
	switch {
	case !known:
		return fmt.Errorf("unknown misbehaviour kind %q", m.Kind)
	case m.Operation != "" && !isOperation(m.Operation):
		return fmt.Errorf("unknown operation %q", m.Operation)
	case m.Count < 0:
		return fmt.Errorf("negative count %d", m.Count)
	case m.Delay < 0:
		return fmt.Errorf("negative delay %s", m.Delay)
	case m.Size < 0:
		return fmt.Errorf("negative size %d", m.Size)
	}
	return nil
}

func (m Misbehaviour) matches(op string) bool {
	if m.Operation == "" {
		return isRead(op)
	}
	return m.Operation == op
}

type pending struct {
	m    Misbehaviour
	left int // remaining uses; 0 = unlimited
}

// Misbehave queues m. Each request uses the first queued misbehaviour that matches its
// operation; one with Count N is dropped after N uses, one with Count 0 stays until
// ClearMisbehaviour (and so shadows later entries that match the same requests).
func (c *Container) Misbehave(m Misbehaviour) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.misbehaves = append(c.misbehaves, &pending{m: m, left: m.Count})
}

// ClearMisbehaviour drops every queued misbehaviour.
func (c *Container) ClearMisbehaviour() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.misbehaves = nil
}

// Misbehaviours returns the queued misbehaviours with their remaining counts in Count.
func (c *Container) Misbehaviours() []Misbehaviour {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Misbehaviour, 0, len(c.misbehaves))
	for _, p := range c.misbehaves {
		m := p.m
		m.Count = p.left
		out = append(out, m)
	}
	return out
}

// takeMisbehaviour returns the misbehaviour for a request of op, if any, and uses it up.
// Caller holds c.mu.
func (c *Container) takeMisbehaviour(op string) *Misbehaviour {
	for i, p := range c.misbehaves {
		if !p.m.matches(op) {
			continue
		}
		m := p.m
		if p.left > 0 {
			p.left--
			if p.left == 0 {
				c.misbehaves = append(c.misbehaves[:i:i], c.misbehaves[i+1:]...)
			}
		}
		return &m
	}
	return nil
}

// misbehave answers a request according to m; env is the normal answer.
func (c *Container) misbehave(w http.ResponseWriter, r *http.Request, m Misbehaviour, env envelope) {
	ctx := r.Context()
	if isWireKind(m.Kind) {
		c.misbehaveWire(w, m, env)
		return
	}
	switch m.Kind {
	case Slow:
		t := time.NewTimer(m.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			writeJSON(w, http.StatusOK, env)
		case <-ctx.Done():
		case <-c.done:
			panic(http.ErrAbortHandler)
		}
	case Hang:
		select {
		case <-ctx.Done():
		case <-c.done:
			panic(http.ErrAbortHandler)
		}
	case HTTP500:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "error": "ERR_INTERNAL"})
	case HTTP400:
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "error": "ERR_UNSUPPORTED"})
	case InvalidJSON:
		writeBody(w, http.StatusOK, []byte(`{"ok":true,"method":"`+env.Method+`","params":{supply_liquid_temp: 35.0,,}`))
	case TruncatedJSON:
		b, _ := json.Marshal(env)
		writeBody(w, http.StatusOK, b[:len(b)/2])
	case WrongTypes:
		env.Params = walk(env.Params, wrongType)
		writeJSON(w, http.StatusOK, env)
	case Nulls:
		env.Params = walk(env.Params, func(any) any { return nil })
		writeJSON(w, http.StatusOK, env)
	case HugeBody:
		c.hugeBody(ctx, w, env, m.Size)
	case NotOK:
		writeJSON(w, http.StatusOK, envelope{OK: false, Method: env.Method})
	case NotOKParams:
		env.OK = false
		writeJSON(w, http.StatusOK, env)
	case ParamsNull:
		writeJSON(w, http.StatusOK, envelope{OK: true, Method: env.Method})
	case ExtraFields:
		if p, ok := env.Params.(map[string]any); ok {
			p[ExtraNumberField] = 42.5
			p[ExtraBoolField] = true
			p[ExtraStringField] = "extra"
		}
		writeJSON(w, http.StatusOK, env)
	default:
		writeJSON(w, http.StatusOK, env)
	}
}

// walk replaces every leaf value below v (maps are descended) with f(leaf).
func walk(v any, f func(any) any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		if sub, ok := x.(map[string]any); ok {
			out[k] = walk(sub, f)
		} else {
			out[k] = f(x)
		}
	}
	return out
}

// wrongType turns numbers into strings and booleans into objects.
func wrongType(v any) any {
	if b, ok := v.(bool); ok {
		return map[string]any{"value": b}
	}
	if f, ok := toFloat(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return v
}

// hugeBody streams the normal answer with a padding string field so the body is size bytes
// long, without holding it in memory.
func (c *Container) hugeBody(ctx context.Context, w http.ResponseWriter, env envelope, size int) {
	if size == 0 {
		size = DefaultHugeBodySize
	}
	b, _ := json.Marshal(env)
	var head []byte
	if strings.HasSuffix(string(b), "}}") {
		head = append(b[:len(b)-2:len(b)-2], `,"mock_padding":"`...)
	} else { // params null
		head = append(b[:len(b)-1:len(b)-1], `,"mock_padding":"`...)
	}
	tail := []byte(`"}}`)
	if !strings.HasSuffix(string(b), "}}") {
		tail = []byte(`"}`)
	}
	pad := max(0, size-len(head)-len(tail))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(head)+pad+len(tail)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(head); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("x", 32<<10))
	for pad > 0 {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			panic(http.ErrAbortHandler)
		default:
		}
		n := min(pad, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		pad -= n
	}
	_, _ = w.Write(tail)
}
