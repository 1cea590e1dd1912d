package config

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// yamlKeys lists the dotted keys a YAML struct accepts: a map's key is
// written <name>, a list of objects as key[].field.
func yamlKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			out[key] = true
			yamlKeys(f.Type, key, out)
		}
	case reflect.Map:
		if !isLeaf(t.Elem()) {
			yamlKeys(t.Elem(), prefix+".<name>", out)
		}
	case reflect.Slice:
		if !isLeaf(t.Elem()) {
			yamlKeys(t.Elem(), prefix+"[]", out)
		}
	}
}

func isLeaf(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t.Kind() != reflect.Struct && t.Kind() != reflect.Map
}

// Every key of the configuration file is in docs/config.md: a new key
// without a line there fails the build. A key is documented when the page
// names it in backquotes; a map's key may be written with any <placeholder>.
func TestEveryConfigKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, f := range []any{file{}, gatewayFile{}, governanceFile{}, httpFile{}, sourcesFile{}} {
		prefix := map[string]string{"config.file": "", "config.gatewayFile": "gateway", "config.governanceFile": "governance",
			"config.httpFile": "http", "config.sourcesFile": "sources"}[reflect.TypeOf(f).String()]
		yamlKeys(reflect.TypeOf(f), prefix, keys)
	}
	// Sections decoded by their own file are documented through it.
	for _, section := range []string{"gateway", "governance", "sources", "http"} {
		delete(keys, section)
	}
	var missing []string
	for k := range keys {
		pat := regexp.QuoteMeta(k)
		pat = strings.ReplaceAll(pat, `<name>`, `<[a-z_]+>`)
		// The key in backquotes, alone or as the start of a longer one
		// (`models.schedules.<key>.tz` documents models.schedules).
		re := regexp.MustCompile("`" + pat + "(`|\\.|\\[|,)")
		if !re.Match(doc) {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/config.md does not document these keys (name each in backquotes, with its default and meaning):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(keys) < 40 {
		t.Errorf("only %d keys found: the walk over the config structs is broken", len(keys))
	}
}
