package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// MaxBodyBytes bounds a /control request body.
const MaxBodyBytes = 4 << 10

// knownParams are the parameters /control accepts, from the query string,
// a form body or a JSON object body.
var knownParams = map[string]bool{
	"target": true, "selector": true, "celsius": true, "mode": true, "state": true, "dry_run": true,
}

// httpError is a refusal with its status code; the message goes to the client.
type httpError struct {
	status int
	result string // metric/audit result
	msg    string
	detail string // audit log only: what the client must not learn (e.g. out of scope)
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, result: "bad_request", msg: fmt.Sprintf(format, a...)}
}

// readParams merges the query string and the body into one flat map. Every
// parameter may be given once: repeated (in the query string, in a form body,
// as a JSON key given twice, or in both query and body) is an error even with
// equal values, as are an unknown parameter and a query string or body that
// does not parse cleanly. A typo or a malformed piece never turns into a
// default.
func readParams(r *http.Request) (map[string]string, *httpError) {
	params := map[string]string{}
	from := map[string]string{}
	add := func(where, k, v string) *httpError {
		if !knownParams[k] {
			return badRequest("unknown parameter %q in %s (known: %s)", truncate(k, 40), where, strings.Join(slices.Sorted(maps.Keys(knownParams)), ", "))
		}
		if prev, ok := from[k]; ok {
			if prev == where {
				return badRequest("parameter %q given more than once in %s; give each parameter once", k, where)
			}
			return badRequest("parameter %q given in both %s and %s; give each parameter once", k, prev, where)
		}
		params[k], from[k] = v, where
		return nil
	}
	addValues := func(where string, vals url.Values) *httpError {
		for _, k := range slices.Sorted(maps.Keys(vals)) {
			for _, v := range vals[k] {
				if err := add(where, k, v); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// r.URL.Query() would silently drop malformed pieces ("dry_run=%zz",
	// "dry_run=true;"), turning them into defaults.
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: %v; nothing was written", err)
	}
	if herr := addValues("the query string", query); herr != nil {
		return nil, herr
	}

	tooLarge := &httpError{status: http.StatusRequestEntityTooLarge, result: "too_large",
		msg: fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes)}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		return nil, badRequest("reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return params, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/json":
		pairs, herr := jsonObjectParams(body)
		if herr != nil {
			return nil, herr
		}
		for _, kv := range pairs {
			if err := add("the JSON body", kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest("malformed form body: %v; nothing was written", err)
		}
		if herr := addValues("the form body", form); herr != nil {
			return nil, herr
		}
	default:
		return nil, &httpError{status: http.StatusUnsupportedMediaType, result: "bad_request",
			msg: fmt.Sprintf("unsupported body content type %q: send parameters in the query string, as application/x-www-form-urlencoded or as application/json", truncate(ct, 60))}
	}
	return params, nil
}

// jsonObjectParams reads a JSON object of string, number or boolean values
// as key/value pairs in document order. Unlike decoding into a map, a key
// given twice is an error instead of the last one winning.
func jsonObjectParams(body []byte) ([][2]string, *httpError) {
	const want = `want an object such as {"target":"hk3-001","celsius":30}`
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	bad := func(format string, a ...any) *httpError {
		return badRequest("JSON body: "+format, a...)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad("%v (%s)", err, want)
	}
	if tok != json.Delim('{') {
		return nil, bad("not an object (%s)", want)
	}
	var pairs [][2]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("%v", err)
		}
		k, _ := tok.(string) // inside an object, Token returns keys as strings
		if seen[k] {
			return nil, bad("key %q given twice; give each parameter once", truncate(k, 40))
		}
		seen[k] = true
		tok, err = dec.Token()
		if err != nil {
			return nil, bad("%v", err)
		}
		var s string
		switch v := tok.(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		case bool:
			s = strconv.FormatBool(v)
		default: // null, an object or an array
			return nil, bad("%q must be a string, number or boolean", truncate(k, 40))
		}
		pairs = append(pairs, [2]string{k, s})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, bad("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("more than one value")
	}
	return pairs, nil
}

// request is a validated /control request.
type request struct {
	action   string
	target   string
	selector string
	dryRun   bool

	// setpoint
	celsius float64
	pid     bool
	// cooling
	on bool

	operation string     // device operation
	extra     url.Values // device parameters
}

// parameters is what the audit log and the answer show of the request.
func (q *request) parameters() map[string]any {
	p := map[string]any{}
	switch q.action {
	case config.ActionSetpoint:
		if q.pid {
			p["mode"] = "pid"
		} else {
			p["celsius"] = q.celsius
		}
	case config.ActionCooling:
		p["state"] = map[bool]string{true: "on", false: "off"}[q.on]
	}
	return p
}

// parseBoolParam reads a boolean parameter that is present. An empty value
// ("?dry_run", "?dry_run=", "dry_run":"") is a refusal, never false: for
// dry_run, false means "write to the device".
func parseBoolParam(name, v string) (bool, *httpError) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	case "":
		return false, badRequest("%s is empty: give %s=true or %s=false (leaving it out means false)", name, name, name)
	}
	return false, badRequest("%s must be true or false, not %q", name, truncate(v, 20))
}

// parseRequest validates the parameters of action against the limits.
func parseRequest(action string, p map[string]string, lim config.ControlLimits) (*request, *httpError) {
	q := &request{action: action, target: p["target"], selector: p["selector"]}
	if v, ok := p["dry_run"]; ok {
		var err *httpError
		if q.dryRun, err = parseBoolParam("dry_run", v); err != nil {
			return nil, err
		}
	}
	_, hasTarget := p["target"]
	_, hasSelector := p["selector"]
	switch {
	case hasTarget && hasSelector:
		return nil, badRequest("give either target or selector, not both")
	case !hasTarget && !hasSelector:
		return nil, badRequest("missing target=<container name> (or selector=<label>=<value>,... for several containers)")
	case hasTarget && q.target == "":
		return nil, badRequest("target is empty")
	case hasSelector && q.selector == "":
		return nil, badRequest("selector is empty")
	}
	allowed := map[string]bool{"target": true, "selector": true, "dry_run": true}
	switch action {
	case config.ActionReset:
		q.operation = opReset
	case config.ActionSetpoint:
		allowed["celsius"], allowed["mode"] = true, true
		c, hasC := p["celsius"]
		m, hasM := p["mode"]
		switch {
		case hasC && hasM:
			return nil, badRequest("give either celsius=<number> or mode=pid, not both")
		case hasM:
			if !strings.EqualFold(m, "pid") {
				return nil, badRequest("mode must be pid (to hand the setpoint to the PID loop), not %q", truncate(m, 20))
			}
			q.pid = true
			q.extra = url.Values{"temp": {"pid"}}
		case hasC:
			v, perr := strconv.ParseFloat(strings.TrimSpace(c), 64)
			if perr != nil {
				return nil, badRequest("celsius must be a number, not %q", truncate(c, 20))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, badRequest("celsius must be a finite number, not %q", truncate(c, 20))
			}
			if v < lim.SetpointMin || v > lim.SetpointMax {
				return nil, badRequest("celsius %g is outside the allowed range %g to %g °C (control.setpoint_min/setpoint_max)", v, lim.SetpointMin, lim.SetpointMax)
			}
			q.celsius = v
			q.extra = url.Values{"temp": {strconv.FormatFloat(v, 'f', -1, 64)}}
		default:
			return nil, badRequest("missing celsius=<number> (or mode=pid)")
		}
		q.operation = opSetTemp
	case config.ActionCooling:
		allowed["state"] = true
		switch s := strings.ToLower(p["state"]); s {
		case "on":
			q.on, q.operation = true, opOpen
		case "off":
			q.on, q.operation = false, opClose
		case "":
			return nil, badRequest("missing state=on|off")
		default:
			return nil, badRequest("state must be on or off, not %q", truncate(p["state"], 20))
		}
	}
	for k := range p {
		if !allowed[k] {
			return nil, badRequest("parameter %q does not apply to %s", k, action)
		}
	}
	return q, nil
}

// parseSelector parses the request's selector (syntax: config.Selector).
func parseSelector(s string) (config.Selector, *httpError) {
	sel, err := config.ParseSelector(s)
	if err != nil {
		return nil, badRequest("selector %q: %v", truncate(s, 80), err)
	}
	return sel, nil
}
