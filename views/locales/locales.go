// Package locales holds the application's words in every language it speaks,
// and formats money and dates the way each language writes them.
//
// The message files are views/locales/{lang}/{area}.toml (go-i18n's TOML
// format), one per area and language, so that the people who work on the
// dashboard, the order desk, the storefront and the rest of the back office
// never edit the same file. Keys are namespaced by area: "common.…",
// "api.…", "dashboard.…", "desk.…", "shop.…", "admin.…". English is the
// source and the fallback: a key missing in Russian reads in English, never
// as its id.
//
// This package imports nothing of ours, so that both model (status labels,
// the messages its errors give customers) and views (every page) can use it:
// the files live beside the views that use most of them, and model reaches
// them without importing views.
package locales

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// files are the message files, embedded in the binary.
//
//go:embed */*.toml
var files embed.FS

// Default is the source language and the fallback of every message.
const Default = "en"

// Languages are the languages OrderDesk speaks, in the order a choice lists them.
var Languages = []string{"en", "ru", "tr"}

// std is the application's one catalogue, loaded at start.
var std = mustLoad(files)

// catalog is a go-i18n bundle and one Localizer per language.
type catalog struct {
	bundle *i18n.Bundle
	// localizers keeps one Localizer per language: they are safe for
	// concurrent use and cost a language matcher each to build.
	localizers sync.Map // lang → *i18n.Localizer
	// plain holds, per language, the messages that are plain text or only
	// put data's fields in ({{.Name}}, no plural forms), split at the
	// fields: saying one is a map read and a few appends, where go-i18n
	// matched the language and ran a text/template on every call (a quarter
	// of the order desk's time went to its labels and headings). Read-only
	// once loaded; the plural messages go through go-i18n.
	plain map[string]map[string]plainMessage
}

func mustLoad(fsys fs.FS) *catalog {
	c, err := load(fsys)
	if err != nil {
		// The files are embedded: a broken one is a build mistake that the
		// tests catch, never a condition of a running server.
		panic("locales: " + err.Error())
	}
	return c
}

// load reads every {lang}/{area}.toml of fsys into a new catalogue.
func load(fsys fs.FS) (*catalog, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".toml" {
			return err
		}
		buf, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		// go-i18n takes the language from the file's name; ours is the folder,
		// so the name it is given is "{lang}.toml".
		if _, err := b.ParseMessageFileBytes(buf, path.Dir(p)+".toml"); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	plain, err := loadPlain(fsys)
	if err != nil {
		return nil, err
	}
	return &catalog{bundle: b, plain: plain}, nil
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool { return slices.Contains(Languages, lang) }

// Normalize returns lang when OrderDesk speaks it, else English.
func Normalize(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if Supported(lang) {
		return lang
	}
	return Default
}

func (c *catalog) localizer(lang string) *i18n.Localizer {
	lang = Normalize(lang)
	if l, ok := c.localizers.Load(lang); ok {
		return l.(*i18n.Localizer)
	}
	l, _ := c.localizers.LoadOrStore(lang, i18n.NewLocalizer(c.bundle, lang))
	return l.(*i18n.Localizer)
}

// T is the message id in lang, with data filling its {{.Name}} fields. A
// message lang lacks is said in English; an id no file has is returned as it
// is, which the completeness test never lets reach a release.
func T(lang, id string, data ...map[string]any) string { return std.t(lang, id, data...) }

func (c *catalog) t(lang, id string, data ...map[string]any) string {
	lang = Normalize(lang)
	m, ok := c.plain[lang][id]
	if !ok {
		// go-i18n says a message lang lacks in English.
		m, ok = c.plain[Default][id]
	}
	var d map[string]any
	if len(data) > 0 {
		d = data[0]
	}
	if ok {
		return m.fill(d)
	}
	return c.localize(lang, &i18n.LocalizeConfig{MessageID: id, TemplateData: d})
}

// N is the message id in the plural form that count takes in lang ("3
// заказа", "5 заказов"); the message's {{.Count}} is count, and data fills
// its other fields.
func N(lang, id string, count int64, data ...map[string]any) string {
	d := map[string]any{}
	if len(data) > 0 {
		maps.Copy(d, data[0])
	}
	d["Count"] = count
	return std.localize(lang, &i18n.LocalizeConfig{MessageID: id, PluralCount: count, TemplateData: d})
}

// Has reports whether English, the source, has the message id.
func Has(id string) bool { return std.has(id) }

func (c *catalog) has(id string) bool {
	if _, ok := c.plain[Default][id]; ok {
		return true
	}
	// A plural message, or none.
	_, err := c.localizer(Default).Localize(&i18n.LocalizeConfig{MessageID: id, PluralCount: 2})
	return err == nil
}

func (c *catalog) localize(lang string, cfg *i18n.LocalizeConfig) string {
	// go-i18n falls back to the bundle's language, English, for a message
	// that lang lacks; an error is an id unknown everywhere or a template
	// that does not run.
	s, err := c.localizer(lang).Localize(cfg)
	if err != nil && s == "" {
		return cfg.MessageID
	}
	return s
}
