package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// ErrorList is every problem found in an inventory file, each naming its
// line where one is known, so one run of --config.check shows them all.
type ErrorList []error

func (l ErrorList) Error() string {
	if len(l) == 1 {
		return l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors:", len(l))
	for _, e := range l {
		b.WriteString("\n  ")
		b.WriteString(strings.ReplaceAll(e.Error(), "\n", "\n  "))
	}
	return b.String()
}

// Unwrap lets errors.Is/As see each error.
func (l ErrorList) Unwrap() []error { return l }

// err returns nil for an empty list.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// sections names, in the file's own words, the parts of the file a YAML
// error can be about, with the Go type that holds them (for the valid keys).
var sections = map[string]struct {
	where string
	t     reflect.Type
}{
	"Config":            {"at the top level", reflect.TypeFor[Config]()},
	"Container":         {"in a container (containers:)", reflect.TypeFor[Container]()},
	"Module":            {"in a module (modules:)", reflect.TypeFor[Module]()},
	"Control":           {"in the control section", reflect.TypeFor[Control]()},
	"ControlCredential": {"in a control token or user (control: tokens:/users:)", reflect.TypeFor[ControlCredential]()},
}

// yamlKeys lists the keys a struct accepts, inline structs included.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		parts := strings.Split(f.Tag.Get("yaml"), ",")
		switch {
		case len(parts) > 1 && parts[1] == "inline":
			keys = append(keys, yamlKeys(f.Type)...)
		case parts[0] != "" && parts[0] != "-":
			keys = append(keys, parts[0])
		}
	}
	return keys
}

// unknownKey words an unknown key error for a section (a key of sections).
func unknownKey(line int, key, section string) string {
	s, ok := sections[section]
	if !ok {
		return fmt.Sprintf("line %d: unknown key %q", line, key)
	}
	keys := yamlKeys(s.t)
	sort.Strings(keys)
	return fmt.Sprintf("line %d: unknown key %q %s; valid keys: %s", line, key, s.where, strings.Join(keys, ", "))
}

var (
	notFoundRE      = regexp.MustCompile(`^line (\d+): field (.+) not found in type config\.(\w+)$`)
	cannotDecodeRE  = regexp.MustCompile(`^line (\d+): cannot unmarshal !!(\w+) (.*) into (\S+)$`)
	goTypeInWordsRE = regexp.MustCompile(`config\.\w+`)
)

// goTypes words the Go types the YAML decoder names.
var goTypes = map[string]string{
	"string": "text", "bool": "true or false", "int": "a whole number", "int64": "a whole number",
	"float64": "a number", "[]string": "a list of text", "map[string]string": "a mapping of names to text",
	"map[string]float64": "a mapping of names to numbers", "[]*config.Container": "a list of containers",
	"map[string]*config.Module": "a mapping of module names to modules", "[]*config.ControlCredential": "a list of tokens or users",
}

var yamlTags = map[string]string{"str": "text", "int": "a number", "float": "a number", "bool": "true or false", "seq": "a list", "map": "a mapping", "null": "empty"}

// reword rewrites the YAML decoder's messages, which name Go types, in the
// file's own words.
func reword(msg string) string {
	if m := notFoundRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return unknownKey(line, m[2], m[3])
	}
	if m := cannotDecodeRE.FindStringSubmatch(msg); m != nil {
		want, ok := goTypes[m[4]]
		if !ok {
			if s, ok := sections[strings.TrimPrefix(strings.TrimPrefix(m[4], "*"), "config.")]; ok {
				want = "a mapping of the keys valid " + s.where
			} else {
				want = "another kind of value"
			}
		}
		got := yamlTags[m[2]]
		if got == "" {
			got = m[2]
		}
		value := ""
		if v := strings.Trim(m[3], "`"); m[2] != "map" && m[2] != "seq" && v != "" {
			value = " " + v
		}
		return fmt.Sprintf("line %s: got %s%s, want %s", m[1], got, value, want)
	}
	return goTypeInWordsRE.ReplaceAllStringFunc(msg, func(s string) string {
		if sec, ok := sections[strings.TrimPrefix(s, "config.")]; ok {
			return "the keys valid " + sec.where
		}
		return "a value"
	})
}

// decodeErrors turns what the YAML decoder returned into an ErrorList in
// the file's words. ok is false for errors that stopped the decoder (syntax
// errors, bad durations), after which validation would only add noise.
func decodeErrors(err error, root *yaml.Node) (errs ErrorList, complete bool) {
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		for _, m := range te.Errors {
			errs = append(errs, errors.New(reword(m)))
		}
		return errs, true
	}
	// A bad duration stops the decoder with a message that names no line
	// (and its wording varies); look for every one in the node tree.
	if root != nil {
		if bad := badDurations(root, ""); len(bad) > 0 {
			return bad, false
		}
	}
	return ErrorList{fmt.Errorf("parsing YAML: %w", err)}, false
}

// durationKeys are the keys whose values are durations (model.Duration).
var durationKeys = map[string]bool{"timeout": true, "verify_timeout": true}

// badDurations finds every duration value that does not parse, with its
// line: the decoder stops at the first one and names no line.
func badDurations(n *yaml.Node, path string) ErrorList {
	var errs ErrorList
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			errs = append(errs, badDurations(c, path)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, badDurations(c, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if durationKeys[k.Value] && v.Kind == yaml.ScalarNode {
				if _, err := model.ParseDuration(v.Value); err != nil {
					errs = append(errs, fmt.Errorf("line %d: %s: %q is not a duration; write a positive number with a unit, like 10s, 1m30s or 500ms", v.Line, p, v.Value))
				}
				continue
			}
			errs = append(errs, badDurations(v, p)...)
		}
	}
	return errs
}

// sectionError is a validation error about a top-level section (control:)
// whose entries keep no line; Parse adds the section's line.
type sectionError struct {
	key  string
	line int
	err  error
}

func (e *sectionError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("line %d: %v", e.line, e.err)
	}
	return e.err.Error()
}

func (e *sectionError) Unwrap() error { return e.err }

// addSectionLines finds the line of each section an error is about.
func addSectionLines(errs ErrorList, data []byte) {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return
	}
	top := root.Content[0]
	for _, err := range errs {
		se, ok := err.(*sectionError) //nolint:errorlint // the list's own elements, never wrapped
		if !ok {
			continue
		}
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value == se.key {
				se.line = top.Content[i].Line
			}
		}
	}
}
