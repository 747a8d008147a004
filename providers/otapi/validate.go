package otapi

import "orderdesk/providers/internal/setting"

// SettingError is a problem with one field of Config, returned by Validate.
type SettingError = setting.FieldError

// Validate checks cfg before any call: the API root, the instance key, and
// the operator's login and password that came with it (every operator call
// signs in first). The signature secret is optional: an instance without
// one takes unsigned requests. It returns a *SettingError naming the first
// wrong field, or nil.
func Validate(cfg Config) error {
	var secret *setting.FieldError
	if cfg.Secret != "" {
		secret = setting.Token("Secret", cfg.Secret, "the instance's signature secret")
	}
	return setting.First(
		setting.HTTPURL("BaseURL", cfg.BaseURL, ProductionURL),
		setting.Token("InstanceKey", cfg.InstanceKey, "the OT API instance key"),
		secret,
		setting.Token("OperatorLogin", cfg.OperatorLogin, "the operator login that came with the instance key"),
		setting.Token("OperatorPassword", cfg.OperatorPassword, "the operator password that came with the instance key"),
	)
}
