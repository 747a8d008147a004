package cdek

import "orderdesk/providers/internal/setting"

// SettingError is a problem with one field of Config, returned by Validate.
type SettingError = setting.FieldError

// Validate checks cfg before any call: the API root, and the account and
// secure password as the CDEK cabinet issues them. It returns a *SettingError
// naming the first wrong field, or nil.
func Validate(cfg Config) error {
	return setting.First(
		setting.HTTPURL("BaseURL", cfg.BaseURL, ProductionURL),
		setting.Token("ClientID", cfg.ClientID, "the account (client id) from the CDEK cabinet"),
		setting.Token("ClientSecret", cfg.ClientSecret, "the secure password from the CDEK cabinet"),
	)
}
