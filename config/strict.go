package config

import (
	"errors"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Node.Decode inside a custom UnmarshalYAML does not inherit the decoder's
// KnownFields setting, so types with their own UnmarshalYAML check their keys
// here to stay strict.
func checkKeys(n *yaml.Node, v any, typeName string) error {
	if n.Kind != yaml.MappingNode {
		return nil // the decoder reports the type mismatch itself
	}
	allowed := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			allowed[tag] = true
		}
	}
	var unknown []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !allowed[k.Value] {
			unknown = append(unknown, unknownKey(k.Line, k.Value, typeName))
		}
	}
	if len(unknown) > 0 {
		// A TypeError lets the decoder go on and report every other
		// problem of the file too.
		return &yaml.TypeError{Errors: unknown}
	}
	return nil
}

// joinTypeErrors merges the unknown-key error of checkKeys with the error of
// decoding the rest: type errors are collected (the decoder goes on), any
// other error stops decoding as before.
func joinTypeErrors(keyErr, decodeErr error) error {
	var all []string
	for _, err := range []error{keyErr, decodeErr} {
		if err == nil {
			continue
		}
		te, ok := errors.AsType[*yaml.TypeError](err)
		if !ok {
			return err
		}
		all = append(all, te.Errors...)
	}
	if len(all) == 0 {
		return nil
	}
	return &yaml.TypeError{Errors: all}
}
