package views

import (
	"context"

	"github.com/a-h/templ"

	"orderdesk/model"
)

// Words of the back-office pages other than the dashboard and the orders
// (views/locales/*/admin.toml) that the shared ones (humans.go) lack.

// keyLabel and secretLabel say what provider p calls an integration's key
// and secret ("TerminalKey", "Terminal password"); the generic words before a
// provider is chosen.
func keyLabel(ctx context.Context, p string) string {
	if info, ok := model.ProviderType(p).Info(); ok {
		return info.KeyLabel
	}
	return tr(ctx, "admin.integrations.key")
}

func secretLabel(ctx context.Context, p string) string {
	if info, ok := model.ProviderType(p).Info(); ok {
		return info.SecretLabel
	}
	return tr(ctx, "admin.integrations.secret")
}

// ariaLabel names a control for a screen reader where no <label> does; none
// when label is "".
func ariaLabel(label string) templ.Attributes {
	if label == "" {
		return nil
	}
	return templ.Attributes{"aria-label": label}
}
