package gateway

// Validate checks an integration's settings with the provider's own rules,
// without any call: the endpoint, the shape of the key (kuveyt's
// "MerchantID:CustomerID:UserName", paypal's e-mail…), the secret, and the
// settings each provider reads. It returns the *FieldError naming the first
// wrong field, or nil. New applies the same rules, so an integration that
// validates can always be built.
func Validate(cfg Config) error {
	_, err := New(cfg)
	return err
}
