package views

import (
	"context"
	"strings"

	"orderdesk/model"
)

// Words of the back-office pages other than the dashboard and the orders
// (views/locales/*/admin.toml): who did something, what a job does, what a
// field is called, what an integration's key is.

// who names an actor for people: the person (their e-mail) for staff,
// "OrderDesk" for the system and its jobs (with the job in words), the
// customer or provider by name. Stored actors are machine words
// ("staff:owner@demo.test", "job:send-messages"); a page never shows them.
func who(ctx context.Context, actor string) string {
	kind, rest, _ := strings.Cut(actor, ":")
	switch kind {
	case "staff":
		return rest
	case "", "system":
		return tr(ctx, "common.actor.system")
	case "job":
		return tr(ctx, "common.actor.job", map[string]any{"Job": jobName(ctx, rest)})
	case "customer":
		return tr(ctx, "common.actor.customer", map[string]any{"Name": rest})
	case "cli":
		return tr(ctx, "common.actor.cli")
	}
	// Anything else is a provider's name (a webhook) or a person's name
	// already in words.
	if rest != "" {
		return rest
	}
	return actor
}

// jobName says what a job does ("sending customer messages"); a job the
// message files do not know keeps its name.
func jobName(ctx context.Context, name string) string {
	id := "common.job." + name
	if s := tr(ctx, id); s != id {
		return s
	}
	return name
}

// fieldLabel names a form field in words ("Street and house" for street1).
func fieldLabel(ctx context.Context, field string) string {
	id := "common.field." + field
	if s := tr(ctx, id); s != id {
		return s
	}
	return field
}

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

// integrationStatus is an integration's status in the page's language.
func integrationStatus(ctx context.Context, s model.IntegrationStatus) string {
	if !s.Valid() {
		return tr(ctx, "common.none")
	}
	return tr(ctx, "common.status.integration."+string(s))
}
