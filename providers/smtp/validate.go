package smtp

import (
	"net"
	"strconv"

	"orderdesk/providers/internal/setting"
)

// SettingError is a problem with one field of Config, returned by Validate.
type SettingError = setting.FieldError

// Validate checks cfg before any connection: the server's host:port, and a
// user name and password given together (or neither: a relay that takes
// mail without signing in). It returns a *SettingError naming the first wrong
// field, or nil.
func Validate(cfg Config) error {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
		return &SettingError{Field: "Addr", Problem: "must be the mail server's host:port, e.g. smtp.example.com:587"}
	}
	switch {
	case cfg.Username != "" && cfg.Password == "":
		return &SettingError{Field: "Password", Problem: "is missing (the mailbox password; give both the user name and the password, or neither)"}
	case cfg.Username == "" && cfg.Password != "":
		return &SettingError{Field: "Username", Problem: "is missing (the mailbox user name; give both the user name and the password, or neither)"}
	}
	return nil
}
