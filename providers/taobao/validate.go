package taobao

import "orderdesk/providers/internal/setting"

// SettingError is a problem with one field of Config, returned by Validate.
type SettingError = setting.FieldError

// Validate checks cfg before any call: the gateway, the app key (a number,
// as the open platform's console issues it) and the app secret. It returns a
// *SettingError naming the first wrong field, or nil.
func Validate(cfg Config) error {
	return setting.First(
		setting.HTTPURL("BaseURL", cfg.BaseURL, LiveBaseURL),
		setting.Digits("AppKey", cfg.AppKey, "the app key from the open platform's console, e.g. 500123"),
		setting.Token("AppSecret", cfg.AppSecret, "the app secret from the open platform's console"),
	)
}
