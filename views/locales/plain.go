package locales

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// plainMessage is a message's text split at its fields: text[0], the value of
// fields[0], text[1], … text[len(fields)].
type plainMessage struct {
	text   []string
	fields []string
}

// plainField is a field as a plain message puts it in; plainText is a text
// with no template action but those.
var (
	plainField = regexp.MustCompile(`\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)
	plainText  = regexp.MustCompile(`^(?:[^{]|\{[^{]|\{\{\s*\.[A-Za-z_][A-Za-z0-9_]*\s*\}\})*\{?$`)
)

// fill writes the message with data's fields, as text/template writes them
// (fmt's %v; a field data lacks is "<no value>").
func (m plainMessage) fill(data map[string]any) string {
	if len(m.fields) == 0 {
		return m.text[0]
	}
	var b strings.Builder
	for i, f := range m.fields {
		b.WriteString(m.text[i])
		switch v, ok := data[f]; v := v.(type) {
		case string:
			b.WriteString(v)
		default:
			if !ok {
				b.WriteString("<no value>")
				continue
			}
			fmt.Fprint(&b, v)
		}
	}
	b.WriteString(m.text[len(m.fields)])
	return b.String()
}

// loadPlain reads the plain messages of every {lang}/{area}.toml of fsys. A
// message of plural forms (a table with "other") or with any other template
// action is left to go-i18n.
func loadPlain(fsys fs.FS) (map[string]map[string]plainMessage, error) {
	plain := map[string]map[string]plainMessage{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".toml" {
			return err
		}
		var tree map[string]any
		if _, err := toml.DecodeFS(fsys, p, &tree); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		lang := path.Dir(p)
		if plain[lang] == nil {
			plain[lang] = map[string]plainMessage{}
		}
		addPlain(plain[lang], "", tree)
		return nil
	})
	return plain, err
}

// addPlain adds the plain messages of a TOML table, ids joined by dots as
// go-i18n joins them.
func addPlain(to map[string]plainMessage, prefix string, table map[string]any) {
	if _, plural := table["other"]; plural && prefix != "" {
		return
	}
	for k, v := range table {
		id := k
		if prefix != "" {
			id = prefix + "." + k
		}
		switch v := v.(type) {
		case map[string]any:
			addPlain(to, id, v)
		case string:
			if !plainText.MatchString(v) {
				continue
			}
			m := plainMessage{}
			last := 0
			for _, loc := range plainField.FindAllStringSubmatchIndex(v, -1) {
				m.text = append(m.text, v[last:loc[0]])
				m.fields = append(m.fields, v[loc[2]:loc[3]])
				last = loc[1]
			}
			m.text = append(m.text, v[last:])
			to[id] = m
		}
	}
}
