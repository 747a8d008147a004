package gateway

import (
	"errors"
	"testing"
)

// Every payment provider has its row in the table and every row is a
// payment provider: a provider added to one and not the other would be
// offered at checkout and then fail to open, or never be offered.
func TestEveryProviderHasItsRow(t *testing.T) {
	if len(table) != len(Providers) {
		t.Errorf("table has %d providers, Providers %d", len(table), len(Providers))
	}
	for _, name := range Providers {
		p, ok := table[name]
		if !ok {
			t.Errorf("%s has no row in the table", name)
			continue
		}
		if p.name == "" || p.open == nil || p.accepts == nil || p.explain == nil || p.badSignature == nil {
			t.Errorf("%s's row is incomplete: %+v", name, p)
		}
		// A bad signature is explained in the provider's words, never the
		// generic sentence for an unknown provider.
		if got := explainBadSignature(name, errors.New("x")); got == explainBadSignature("", nil) {
			t.Errorf("%s's bad signature is explained generically: %q", name, got)
		}
	}
}
