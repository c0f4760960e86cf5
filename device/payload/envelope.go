// Package payload is the controller protocol without the network: its
// operations, the envelope every answer comes in, and tolerant decoding of
// the values inside (numbers as strings, flags as words, a one-pass JSON
// object scanner). Package device sends the requests; package collector and
// the /control handler read the answers with this package.
package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Operations of the controller protocol.
const (
	OpCoolerState = "coolerState"
	OpMinerInfo   = "minerInfo"
	OpReset       = "reset"
	OpSetTemp     = "setTemp"
	OpOpen        = "open"
	OpClose       = "close"
)

// IsRead reports whether operation only reads the device (a read may be
// retried and shared between probes; a write is sent at most once).
func IsRead(operation string) bool {
	return operation == OpCoolerState || operation == OpMinerInfo
}

// Envelope is the controller's answer to every operation.
type Envelope struct {
	OK     bool            `json:"ok"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`

	params Object // Params with the body's index (DecodeEnvelope)
}

// ParamsObject returns Params as an Object: with what validating the body
// learnt about it when DecodeEnvelope set Params, else without.
func (env *Envelope) ParamsObject() Object {
	p := env.params
	if len(env.Params) > 0 && p.end-p.off == len(env.Params) && &p.buf[p.off] == &env.Params[0] {
		return p
	}
	return ObjectOf(env.Params)
}

// DecodeEnvelope decodes a controller answer into env. The body must be
// valid JSON and an object with an "ok" member; keys match
// case-insensitively and the last duplicate wins, like encoding/json
// decoding into a struct. env.OK false is not an error here.
func DecodeEnvelope(body []byte, env *Envelope) error {
	ix, valid := validate(body, true) // json.Valid, and where the body's outer containers end
	if !valid {
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = errors.New("malformed")
		}
		return fmt.Errorf("invalid JSON: %w", err)
	}
	var okRaw, methodRaw, params []byte
	var paramsObj Object
	isObject := Object{buf: body, end: len(body), ix: ix}.EachMember(func(key []byte, v Object) {
		switch {
		case bytes.EqualFold(key, []byte("ok")):
			okRaw = v.Raw()
		case bytes.EqualFold(key, []byte("method")):
			methodRaw = v.Raw()
		case bytes.EqualFold(key, []byte("params")):
			params, paramsObj = v.Raw(), v
		}
	})
	if !isObject {
		return fmt.Errorf("invalid JSON: the answer is not an object: %s", Snippet(body))
	}
	if len(okRaw) == 0 {
		return errors.New("answer has no \"ok\" field")
	}
	ok, err := ParseBool(okRaw)
	if err != nil {
		return fmt.Errorf("\"ok\": %w", err)
	}
	env.OK = ok == 1
	env.Method = ""
	if len(methodRaw) > 0 && !IsNull(methodRaw) {
		if methodRaw[0] != '"' {
			return fmt.Errorf("invalid JSON: \"method\" is not a string: %s", Truncate(methodRaw))
		}
		env.Method = method(methodRaw)
	}
	if !bytes.Equal(params, []byte("null")) {
		env.Params, env.params = params, paramsObj
	}
	return nil
}

// method is the text of a "method" member, the operation's own string
// when it names one (no allocation per answer).
func method(raw []byte) string {
	b, _ := unquoteBytes(raw)
	for _, op := range [...]string{OpCoolerState, OpMinerInfo, OpReset, OpSetTemp, OpOpen, OpClose} {
		if string(b) == op {
			return op
		}
	}
	return string(b)
}

// Snippet shortens a body for an error message.
func Snippet(b []byte) string {
	const limit = 120
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// DecodeParams reads an answer's params as an object's members (the last of
// duplicate keys wins, as with encoding/json). The collector and the
// /control read-back decode params with it.
func DecodeParams(raw json.RawMessage) (map[string]json.RawMessage, error) {
	return Keys(nil).DecodeParams(raw)
}

// DecodeParams is DecodeParams with the known keys' strings reused (see
// Keys.Members).
func (k Keys) DecodeParams(raw json.RawMessage) (map[string]json.RawMessage, error) {
	return k.DecodeParamsObject(ObjectOf(raw), nil)
}

// DecodeParamsObject is DecodeParams of an envelope's ParamsObject; fn,
// when not nil, sees every member as Keys.ObjectMembers calls it.
func (k Keys) DecodeParamsObject(o Object, fn func(name string, v Object)) (map[string]json.RawMessage, error) {
	raw := o.Raw()
	if len(raw) == 0 {
		return nil, errors.New("answer has no params")
	}
	params, ok := k.ObjectMembers(o, fn)
	if !ok {
		return nil, fmt.Errorf("params is not an object: %s", Truncate(raw))
	}
	return params, nil
}
