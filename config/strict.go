package config

import (
	"fmt"
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
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			allowed[tag] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !allowed[k.Value] {
			return fmt.Errorf("line %d: field %s not found in type %s", k.Line, k.Value, typeName)
		}
	}
	return nil
}
