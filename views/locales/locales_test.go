package locales

import (
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/bojanz/currency"
	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// pluralForms are the CLDR plural forms each language needs for a counted
// message ("1 day", "2 дня", "5 дней").
var pluralForms = map[string][]string{
	"en": {"one", "other"},
	"ru": {"one", "few", "many", "other"},
	"tr": {"one", "other"},
}

func forms(m *i18n.Message) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

var fieldRe = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// fields are the {{.Name}} fields a message fills, in all its forms.
func fields(m *i18n.Message) []string {
	set := map[string]bool{}
	for _, f := range forms(m) {
		for _, x := range fieldRe.FindAllStringSubmatch(f, -1) {
			set[x[1]] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// messages reads every message file, per language and id.
func messages(t *testing.T) (map[string]map[string]*i18n.Message, map[string][]string) {
	t.Helper()
	byLang := map[string]map[string]*i18n.Message{}
	areas := map[string][]string{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		buf, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		lang := path.Dir(p)
		mf, err := i18n.ParseMessageFileBytes(buf, lang+".toml", map[string]i18n.UnmarshalFunc{"toml": toml.Unmarshal})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		areas[lang] = append(areas[lang], path.Base(p))
		if byLang[lang] == nil {
			byLang[lang] = map[string]*i18n.Message{}
		}
		area := strings.TrimSuffix(path.Base(p), ".toml")
		for _, m := range mf.Messages {
			if _, dup := byLang[lang][m.ID]; dup {
				t.Errorf("%s: %s is in two files", lang, m.ID)
			}
			// Keys are namespaced by area, so that two files never hold one key.
			if !strings.HasPrefix(m.ID, area+".") {
				t.Errorf("%s: key %s is not under %s.", p, m.ID, area)
			}
			byLang[lang][m.ID] = m
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return byLang, areas
}

func TestEveryMessageIsInEveryLanguage(t *testing.T) {
	byLang, areas := messages(t)
	en := byLang[Default]
	if len(en) < 100 {
		t.Fatalf("English has %d messages: the files were not read", len(en))
	}
	for _, lang := range Languages {
		if !slices.Equal(areas[lang], areas[Default]) {
			t.Errorf("%s has the files %v, English %v", lang, areas[lang], areas[Default])
		}
		for id, src := range en {
			m, ok := byLang[lang][id]
			if !ok {
				t.Errorf("%s lacks %s (English: %q)", lang, id, src.Other)
				continue
			}
			if got, want := fields(m), fields(src); !slices.Equal(got, want) {
				t.Errorf("%s %s fills %v, English %v", lang, id, got, want)
			}
			// A counted message has every form the language counts with.
			if src.One != "" {
				for _, f := range pluralForms[lang] {
					if forms(m)[f] == "" {
						t.Errorf("%s %s lacks the plural form %q", lang, id, f)
					}
				}
			}
		}
		for id := range byLang[lang] {
			if _, ok := en[id]; !ok {
				t.Errorf("%s has %s, which English (the source) lacks", lang, id)
			}
		}
	}
	// Every message reads in every language, through the real bundle.
	for _, lang := range Languages {
		for id := range en {
			if got := N(lang, id, 2); got == id || got == "" {
				t.Errorf("%s %s reads %q", lang, id, got)
			}
		}
	}
}

func TestAnUntranslatedMessageFallsBackToEnglish(t *testing.T) {
	c, err := load(fstest.MapFS{
		"en/x.toml": {Data: []byte("[x]\ngreet = \"Hello, {{.Name}}\"\nonly_en = \"Only in English\"\n")},
		"ru/x.toml": {Data: []byte("[x]\ngreet = \"Привет, {{.Name}}\"\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, id, want string }{
		{"ru", "x.greet", "Привет, Maria"},
		{"ru", "x.only_en", "Only in English"},
		{"tr", "x.greet", "Hello, Maria"},
		{"", "x.greet", "Hello, Maria"},
		{"de", "x.only_en", "Only in English"},
	} {
		if got := c.t(tc.lang, tc.id, map[string]any{"Name": "Maria"}); got != tc.want {
			t.Errorf("%q %s: got %q, want %q", tc.lang, tc.id, got, tc.want)
		}
	}
	// The real catalogue: a language OrderDesk does not speak reads English.
	if got := T("de", "common.sign_out"); got != "Sign out" {
		t.Errorf("de sign out: %q", got)
	}
}

func TestAFileMixingMessagesAndTablesIsRefused(t *testing.T) {
	// "description" is a part of a go-i18n message, so a key of that name
	// makes its table ambiguous: the load fails instead of losing keys.
	_, err := load(fstest.MapFS{"en/x.toml": {Data: []byte("[x.field]\nname = \"Name\"\ndescription = \"Description\"\n")}})
	if err == nil {
		t.Fatal("a table mixing a message's parts and keys was loaded")
	}
}

func TestMoneyIsWrittenAsEachLanguageWritesIt(t *testing.T) {
	const nb = "\u00a0" // CLDR's spaces are no-break spaces: an amount never wraps
	for _, tc := range []struct {
		lang     string
		minor    int64
		currency string
		want     string
	}{
		{"ru", 508900, "RUB", "5" + nb + "089,00" + nb + "₽"},
		{"tr", 123456, "TRY", "₺1.234,56"},
		{"en", 508900, "RUB", "RUB" + nb + "5,089.00"},
		{"en", 123456, "USD", "$1,234.56"},
		{"ru", 1086900, "RUB", "10" + nb + "869,00" + nb + "₽"},
		{"tr", 508900, "RUB", "RUB" + nb + "5.089,00"},
		{"ru", -50000, "RUB", "-500,00" + nb + "₽"},
		{"en", 1250, "CNY", "CN¥12.50"},
		{"xx", 100, "EUR", "€1.00"},
		{"en", 15000, "XYZ", "150.00" + nb + "XYZ"},
	} {
		if got := Money(tc.lang, tc.minor, tc.currency); got != tc.want {
			t.Errorf("%s %d %s: got %q, want %q", tc.lang, tc.minor, tc.currency, got, tc.want)
		}
	}
}

func TestDatesAndTimesAreWrittenAsEachLanguageWritesThem(t *testing.T) {
	at := time.Date(2025, 11, 27, 14, 5, 0, 0, time.UTC)
	for _, tc := range []struct{ lang, date, dateTime string }{
		{"en", "Nov 27, 2025", "Nov 27, 2025, 2:05 PM"},
		{"ru", "27.11.2025", "27.11.2025, 14:05"},
		{"tr", "27.11.2025", "27.11.2025 14:05"},
		{"", "Nov 27, 2025", "Nov 27, 2025, 2:05 PM"},
	} {
		if got := Date(tc.lang, at); got != tc.date {
			t.Errorf("%q date: got %q, want %q", tc.lang, got, tc.date)
		}
		if got := DateTime(tc.lang, at); got != tc.dateTime {
			t.Errorf("%q date and time: got %q, want %q", tc.lang, got, tc.dateTime)
		}
	}
}

func TestTimesInWords(t *testing.T) {
	now := time.Date(2025, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang string
		got  string
		want string
	}{
		{"en", Relative("en", now, now.Add(3*time.Hour+20*time.Minute)), "in 3 h 20 min"},
		{"en", Relative("en", now, now.Add(-7*time.Minute)), "7 min ago"},
		{"ru", Relative("ru", now, now.Add(3*time.Hour)), "через 3 ч 0 мин"},
		{"tr", Relative("tr", now, now.Add(-30*time.Second)), "bir dakikadan az önce"},
		{"ru", Relative("ru", now, now.Add(5*24*time.Hour)), "через 5 дней"},
		{"ru", Duration("ru", 2*24*time.Hour), "2 дня"},
		{"ru", Duration("ru", 21*24*time.Hour), "21 день"},
		{"en", Every("en", 5*time.Minute), "every 5 minutes"},
		{"en", Every("en", time.Minute), "every minute"},
		{"en", Every("en", 3*time.Second), "every 3 seconds"},
		{"en", Every("en", 24*time.Hour), "every day"},
		{"en", Every("en", 6*time.Hour), "every 6 hours"},
		{"ru", Every("ru", 5*time.Minute), "каждые 5 минут"},
		{"ru", Every("ru", 3*time.Second), "каждые 3 секунды"},
		{"ru", Every("ru", 21*time.Minute), "каждую 21 минуту"},
		{"ru", Every("ru", time.Hour), "каждый час"},
		{"tr", Every("tr", 5*time.Minute), "her 5 dakikada bir"},
		{"tr", Every("tr", time.Minute), "her dakika"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.lang, tc.got, tc.want)
		}
	}
}

func TestNumbersAreGroupedAsEachLanguageGroupsThem(t *testing.T) {
	for _, tc := range []struct {
		lang string
		n    int64
		want string
	}{
		{"en", 1234, "1,234"},
		{"ru", 1234, "1\u00a0234"},
		{"tr", 1234, "1.234"},
		{"en", 51, "51"},
		{"ru", 1234567, "1\u00a0234\u00a0567"},
		{"de", 1234, "1,234"},
	} {
		if got := Number(tc.lang, tc.n); got != tc.want {
			t.Errorf("Number(%q, %d) = %q, want %q", tc.lang, tc.n, got, tc.want)
		}
	}
}

// Whole numbers are written without the CLDR formatter in every language we
// speak, and the same as it writes them.
func TestNumbersWrittenDirectlyAgreeWithCLDR(t *testing.T) {
	for _, lang := range Languages {
		if numberStyleOf(lang) == nil {
			t.Errorf("%s: numbers go through the formatter, not the kept style", lang)
			continue
		}
		for n := int64(0); n <= 3_000_000_000; n = n*7/3 + 1 {
			for _, n := range []int64{n, -n} {
				if got, want := Number(lang, n), formatNumber(numberFormatter(lang), n); got != want {
					t.Errorf("Number(%q, %d) = %q, CLDR writes %q", lang, n, got, want)
				}
			}
		}
	}
}

// Messages said from the plain messages read at load: each language reads
// its own words, asked in any order, a message a language lacks reads in
// English, and an id no file has reads as itself.
func TestAKeptMessageIsStillEachLanguagesOwn(t *testing.T) {
	c, err := load(fstest.MapFS{
		"en/x.toml": {Data: []byte("[x]\nshipped = \"Shipped\"\nonly_en = \"Only in English\"\n")},
		"ru/x.toml": {Data: []byte("[x]\nshipped = \"Отправлен\"\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		for _, tc := range []struct{ lang, id, want string }{
			{"ru", "x.shipped", "Отправлен"},
			{"en", "x.shipped", "Shipped"},
			{"RU", "x.shipped", "Отправлен"},
			{"tr", "x.shipped", "Shipped"},
			{"ru", "x.only_en", "Only in English"},
			{"ru", "x.nothing", "x.nothing"},
		} {
			if got := c.t(tc.lang, tc.id); got != tc.want {
				t.Errorf("%q %s: got %q, want %q", tc.lang, tc.id, got, tc.want)
			}
		}
		if !c.has("x.shipped") || c.has("x.nothing") {
			t.Errorf("has: x.shipped %v, x.nothing %v", c.has("x.shipped"), c.has("x.nothing"))
		}
	}
}

// Money writes amounts without CLDR's formatter where it can (the formatter
// builds a replacer per call): every language writes every amount of the
// shops' currencies exactly as the formatter does.
func TestMoneyWritesWhatTheFormatterWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 2026))
	amounts := []int64{0, 1, -1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999, 100000, 999999, 1000000, 123456789012, -123456789012, math.MaxInt64 / 1000}
	for range 2000 {
		n := rng.Int64N(1_000_000_000_000) >> rng.UintN(40)
		if rng.IntN(4) == 0 {
			n = -n
		}
		amounts = append(amounts, n)
	}
	for _, lang := range append(Languages, "de") {
		for _, code := range []string{"RUB", "TRY", "USD", "EUR", "CNY", "KZT", "JPY", "KWD"} {
			if styleOf(Normalize(lang), code) == nil && code != "KWD" && code != "JPY" {
				t.Errorf("%s %s: no style read, every amount goes through the formatter", lang, code)
			}
			for _, n := range amounts {
				a, err := currency.NewAmountFromInt64(n, code)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := Money(lang, n, code), formatter(lang).Format(a); got != want {
					t.Fatalf("%s %d %s: got %q, the formatter writes %q", lang, n, code, got, want)
				}
			}
		}
	}
}

// The messages filled without go-i18n read exactly as go-i18n fills them, in
// every language, for every message of the files: strings, numbers, and a
// field left out.
func TestPlainMessagesReadAsGoI18nFillsThem(t *testing.T) {
	count := 0
	for _, lang := range Languages {
		for id, m := range std.plain[lang] {
			if want := std.localize(lang, &i18n.LocalizeConfig{MessageID: id}); T(lang, id) != want {
				t.Errorf("%s %s: %q, go-i18n says %q", lang, id, T(lang, id), want)
			}
			if len(m.fields) == 0 {
				continue
			}
			for _, data := range []map[string]any{
				fieldsOf(m, func(f string) any { return "«" + f + "»" }),
				fieldsOf(m, func(string) any { return int64(1234) }),
				fieldsOf(m, func(f string) any {
					if f == m.fields[0] {
						return nil
					}
					return 7
				}),
			} {
				for k, v := range data {
					if v == nil {
						delete(data, k)
					}
				}
				want := std.localize(lang, &i18n.LocalizeConfig{MessageID: id, TemplateData: data})
				if got := T(lang, id, data); got != want {
					t.Errorf("%s %s with %v: %q, go-i18n says %q", lang, id, data, got, want)
				}
				count++
			}
		}
	}
	if count < 100 {
		t.Errorf("only %d messages with fields were compared: are the files read?", count)
	}
}

func fieldsOf(m plainMessage, value func(string) any) map[string]any {
	d := map[string]any{}
	for _, f := range m.fields {
		d[f] = value(f)
	}
	return d
}
