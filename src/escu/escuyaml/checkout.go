package escuyaml

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"regasmdetect/src/escu"
	"regasmdetect/src/splunkconf"
)

// MacroFile is the YAML of an ESCU macro file (macros/<name>.yml).
type MacroFile struct {
	Name        string   `yaml:"name"`
	Definition  string   `yaml:"definition"`
	Arguments   []string `yaml:"arguments"`
	Description string   `yaml:"description"`
}

// LoadCheckout reads a security_content checkout. A missing detections/ or macros/ directory, an unreadable or
// malformed macro or lookup file, a lookup CSV that is not rectangular, or two definitions of one macro are
// errors. A detection file that does not parse is not: it is listed in Broken, so one bad file does not hide
// the others.
func LoadCheckout(dir string) (*escu.Checkout, error) {
	c := &escu.Checkout{Dir: dir, Macros: map[string]splunkconf.Macro{}, Lookups: map[string]*escu.LookupTable{}}
	for _, sub := range []string{"detections", "macros"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("escu: checkout %s: no %s/ directory", dir, sub)
		}
	}
	if err := loadDetections(c); err != nil {
		return nil, err
	}
	if err := loadMacros(c); err != nil {
		return nil, err
	}
	if err := loadLookups(c); err != nil {
		return nil, err
	}
	return c, nil
}

func loadDetections(c *escu.Checkout) error {
	root := filepath.Join(c.Dir, "detections")
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yml") {
			return nil
		}
		rel, _ := filepath.Rel(c.Dir, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		d, err := Parse(data, rel)
		if err == nil {
			err = c.AddDetection(d, strings.TrimSuffix(e.Name(), ".yml"))
		}
		if err != nil {
			c.Broken = append(c.Broken, escu.FileError{Path: rel, Err: err})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("escu: checkout %s: %w", c.Dir, err)
	}
	slices.SortFunc(c.Detections, func(a, b *escu.Detection) int { return strings.Compare(a.FileStem(), b.FileStem()) })
	slices.SortFunc(c.Broken, func(a, b escu.FileError) int { return strings.Compare(a.Path, b.Path) })
	return nil
}

// eachYAML decodes every DIR/*.yml file of the checkout, in name order, into a fresh T and calls f with it and
// its path relative to the checkout ("macros/x.yml").
func eachYAML[T any](c *escu.Checkout, dir string, f func(rel string, v *T) error) error {
	paths, err := filepath.Glob(filepath.Join(c.Dir, dir, "*.yml"))
	if err != nil {
		return fmt.Errorf("escu: checkout %s: %w", c.Dir, err)
	}
	slices.Sort(paths)
	for _, p := range paths {
		rel := dir + "/" + filepath.Base(p)
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("escu: checkout: %w", err)
		}
		var v T
		if err := decodeOne(data, &v); err != nil {
			return fmt.Errorf("escu: checkout: %s: %w", rel, err)
		}
		if err := f(rel, &v); err != nil {
			return err
		}
	}
	return nil
}

func loadMacros(c *escu.Checkout) error {
	return eachYAML(c, "macros", func(rel string, m *MacroFile) error {
		if m.Name == "" {
			return fmt.Errorf("escu: checkout: %s: macro without a name", rel)
		}
		stanza := m.Name
		if len(m.Arguments) > 0 {
			stanza += "(" + strconv.Itoa(len(m.Arguments)) + ")"
		}
		for _, a := range m.Arguments {
			if a == "" || strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
				return fmt.Errorf("escu: checkout: %s: invalid argument name %q (letters, digits, '_' and '-' only)", rel, a)
			}
		}
		if prev, dup := c.Macros[stanza]; dup {
			return fmt.Errorf("escu: checkout: %s: macro %s already defined in %s", rel, stanza, prev.Where)
		}
		c.Macros[stanza] = splunkconf.Macro{Args: m.Arguments, Definition: m.Definition, Where: rel}
		return nil
	})
}

func loadLookups(c *escu.Checkout) error {
	return eachYAML(c, "lookups", func(rel string, l *escu.LookupTable) error {
		if l.Name == "" {
			return fmt.Errorf("escu: checkout: %s: lookup without a name", rel)
		}
		if strings.HasSuffix(strings.ToLower(l.Filename), ".csv") {
			if strings.ContainsAny(l.Filename, `/\`) {
				return fmt.Errorf("escu: checkout: %s: filename %q is not a plain file name", rel, l.Filename)
			}
			if err := readCSV(l, filepath.Join(c.Dir, "lookups", l.Filename)); err != nil {
				return fmt.Errorf("escu: checkout: %s: %w", rel, err)
			}
		}
		if _, dup := c.Lookups[l.Name]; dup {
			return fmt.Errorf("escu: checkout: %s: lookup %q defined twice", rel, l.Name)
		}
		c.Lookups[l.Name] = l
		return nil
	})
}

// readCSV reads the lookup's CSV file into its Header and Rows.
func readCSV(l *escu.LookupTable, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 0
	recs, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("%s: no header line", filepath.Base(path))
	}
	l.Header, l.Rows = recs[0], recs[1:]
	return nil
}
