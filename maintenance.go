package main

// The operator's maintenance mode: orderdesk down and up.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"orderdesk/model"
)

// cmdDown takes every shop of the installation down for maintenance, as seed
// 004's `php artisan down --secret=…`: a running server follows within
// seconds (it reads the state from the database).
func cmdDown(args []string, out io.Writer) error {
	var secret, message string
	s := newSetup("down")
	s.fs.StringVar(&secret, "secret", "", "a browser that visits /SECRET once gets through (a cookie); 8 to 100 letters, digits, . _ ~ -")
	retry := s.fs.Int("retry", model.DefaultMaintenanceRetry, "seconds after which clients should try again (Retry-After)")
	s.fs.StringVar(&message, "message", "", "a note for the maintenance page, e.g. \"Back at 14:00\"")
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		if err := store.SetInstanceDown(ctx, secret, *retry, message); err != nil {
			var ve *model.ValidationError
			if errors.As(err, &ve) {
				return fmt.Errorf("down: --%s", strings.ReplaceAll(ve.Error(), "; ", "; --"))
			}
			return err
		}
		msg := "Every shop is down for maintenance (a running server follows within seconds); 'orderdesk up' ends it.\n"
		if secret != "" {
			msg += "Visit " + strings.TrimSuffix(s.c.BaseURL, "/") + "/" + secret + " (on each shop's address) to get through.\n"
		} else {
			msg += "No --secret: nobody gets through until 'orderdesk up'.\n"
		}
		return printOut(out, msg)
	})
}

// cmdUp ends the installation's maintenance. A shop its owner closed stays
// closed: that is the owner's to open.
func cmdUp(args []string, out io.Writer) error {
	return newSetup("up").withStore(args, func(ctx context.Context, store *model.Store) error {
		was, err := store.SetInstanceUp(ctx)
		if err != nil {
			return err
		}
		if !was {
			return printOut(out, "The installation was not down.\n")
		}
		return printOut(out, "The installation is up again (a running server follows within seconds).\n")
	})
}
