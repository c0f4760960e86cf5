package config

import (
	"reflect"
	"strings"
	"testing"

	promconfig "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"
)

// /config redacts by type: every field of the config named like a secret is
// a promconfig.Secret, which marshals as <secret>. A secret added later as a
// plain string fails here.
func TestSecretsTyped(t *testing.T) {
	secretType := reflect.TypeFor[promconfig.Secret]()
	looksSecret := func(name string) bool {
		name = strings.ToLower(name)
		if strings.HasSuffix(name, "_file") {
			return false // a path, not the secret
		}
		for _, s := range []string{"hash", "password", "secret", "token", "api_key", "apikey", "private_key", "credential"} {
			if name == s || strings.HasSuffix(name, "_"+s) || strings.HasPrefix(name, s+"_") {
				return true
			}
		}
		return false
	}
	seen := map[reflect.Type]bool{}
	checked := 0
	var walk func(t reflect.Type, path string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for f := range ty.Fields() {
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" {
				name = f.Name
			}
			if looksSecret(name) {
				checked++
				if f.Type != secretType {
					t.Errorf("%s.%s (%s) holds a secret but is a %s, not a promconfig.Secret: /config would show it", path, f.Name, name, f.Type)
				}
			}
			walk(f.Type, path+"."+f.Name)
		}
	}
	walk(reflect.TypeFor[Config](), "Config")
	if checked == 0 {
		t.Fatal("no secret field found: the walk is broken (ControlCredential.Hash is one)")
	}

	// And a Secret does marshal as <secret>.
	out, err := yaml.Marshal(ControlCredential{Name: "n", Hash: "$2a$04$abcdefghijklmnopqrstuuJ8vJ0cQy4LZP1x5d9u3Wm2o5cFQ9Z4K"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "$2a$") || !strings.Contains(string(out), "hash: <secret>") {
		t.Errorf("a hash marshals as:\n%s", out)
	}
}
