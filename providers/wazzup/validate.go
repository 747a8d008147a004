package wazzup

import "orderdesk/providers/internal/setting"

// SettingError is a problem with one field of Config, returned by Validate.
type SettingError = setting.FieldError

// Validate checks cfg before any call: the API root and the API key of the
// Wazzup integration settings. It returns a *SettingError naming the first
// wrong field, or nil.
func Validate(cfg Config) error {
	return setting.First(
		setting.HTTPURL("BaseURL", cfg.BaseURL, ProductionURL),
		setting.Token("APIKey", cfg.APIKey, "the API key from Wazzup's integration settings"),
	)
}
