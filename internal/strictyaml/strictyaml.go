// Package strictyaml decodes YAML documents strictly: every unknown key, duplicate key and value of
// the wrong type is reported with its key path (e.g. "kafka.brokers"), so users can fix their files.
// A file holds exactly one document.
package strictyaml

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decode checks data against the shape of *into and then decodes it over *into, so keys the document
// omits keep the values *into already had. Problems come back as one *ValidationError.
func Decode(data []byte, source string, into any) error {
	doc, err := oneDocument(data)
	if err != nil {
		return &ValidationError{Source: source, Errs: []*FieldError{err}}
	}
	if doc == nil || len(doc.Content) == 0 { // empty document: nothing to change
		return nil
	}
	root := doc.Content[0]
	if errs := checkShape(root, reflect.TypeOf(into).Elem(), ""); len(errs) > 0 {
		return &ValidationError{Source: source, Errs: errs}
	}
	if err := root.Decode(into); err != nil {
		return &ValidationError{Source: source, Errs: []*FieldError{{Path: "(document)", Msg: err.Error()}}}
	}
	return nil
}

// oneDocument parses data as exactly one YAML document (nil for an empty file): a second document
// would be silently ignored, so it is an error.
func oneDocument(data []byte) (*yaml.Node, *FieldError) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, &FieldError{Path: "(document)", Msg: err.Error()}
	}
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &doc, nil
	case err != nil:
		return nil, &FieldError{Path: "(document)", Msg: err.Error()}
	}
	return nil, &FieldError{Path: "(document)", Line: next.Line,
		Msg: "a second YAML document begins here ('---'); a file holds exactly one document"}
}

// checkShape walks a YAML node against the Go type it will be decoded into and reports unknown keys
// and values of the wrong type, each with its key path.
func checkShape(n *yaml.Node, t reflect.Type, path string) []*FieldError {
	at := func(msg string, args ...any) []*FieldError {
		p := path
		if p == "" {
			p = "(document)"
		}
		return []*FieldError{{Path: p, Line: n.Line, Msg: fmt.Sprintf(msg, args...)}}
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return at("expected a mapping, got %s", describe(n))
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			fields[strings.Split(f.Tag.Get("yaml"), ",")[0]] = f.Type
		}
		var errs []*FieldError
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			kp := join(path, key.Value)
			ft, ok := fields[key.Value]
			switch {
			case !ok:
				errs = append(errs, &FieldError{Path: kp, Line: key.Line, Msg: "unknown key (known: " + knownKeys(t) + ")"})
			case seen[key.Value]:
				errs = append(errs, &FieldError{Path: kp, Line: key.Line, Msg: "duplicate key"})
			default:
				errs = append(errs, checkShape(val, ft, kp)...)
			}
			seen[key.Value] = true
		}
		return errs
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return at("expected a list, got %s", describe(n))
		}
		var errs []*FieldError
		for i, item := range n.Content {
			errs = append(errs, checkShape(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" { // too large for an int64 is a !!float
			return at("expected an integer, got %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			return at("expected true or false, got %s", describe(n))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
			return at("expected a string, got %s", describe(n))
		}
	}
	return nil
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "an alias or document"
}

func knownKeys(t reflect.Type) string {
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0])
	}
	return strings.Join(names, ", ")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// FieldError is a validation error that names the offending key path (e.g. "kafka.brokers").
type FieldError struct {
	Path string
	Line int // 0 when unknown
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// ValidationError gathers every problem found in a file.
type ValidationError struct {
	Kind   string // what the file is: "spec" (when empty) or "claims"
	Source string
	Errs   []*FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s %s:", cmp.Or(e.Kind, "spec"), e.Source)
	for _, fe := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Marshal renders v as YAML indented by two spaces, the way users write their files.
func Marshal(v any) []byte {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // plain structs of scalars always encode
	}
	enc.Close()
	return []byte(b.String())
}
