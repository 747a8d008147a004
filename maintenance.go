package main

// The operator's maintenance mode: orderdesk down and up.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"orderdesk/model"
)

// cmdDown takes every shop of the installation down for maintenance, as seed
// 004's `php artisan down --secret=…`: a running server follows within
// seconds (it reads the state from the database).
func cmdDown(args []string, out io.Writer) (err error) {
	var c config
	var secret, message string
	var retry int
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	addConfigFlags(fs, &c)
	fs.StringVar(&secret, "secret", "", "a browser that visits /SECRET once gets through (a cookie); 8 to 100 letters, digits, . _ ~ -")
	fs.IntVar(&retry, "retry", model.DefaultMaintenanceRetry, "seconds after which clients should try again (Retry-After)")
	fs.StringVar(&message, "message", "", "a note for the maintenance page, e.g. \"Back at 14:00\"")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	store, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer joinClose(&err, store.DB)
	if err := store.SetInstanceDown(ctx, secret, retry, message); err != nil {
		var ve *model.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("down: --%s", strings.ReplaceAll(ve.Error(), "; ", "; --"))
		}
		return err
	}
	msg := "Every shop is down for maintenance (a running server follows within seconds); 'orderdesk up' ends it.\n"
	if secret != "" {
		msg += "Visit " + strings.TrimSuffix(c.BaseURL, "/") + "/" + secret + " (on each shop's address) to get through.\n"
	} else {
		msg += "No --secret: nobody gets through until 'orderdesk up'.\n"
	}
	return printOut(out, msg)
}

// cmdUp ends the installation's maintenance. A shop its owner closed stays
// closed: that is the owner's to open.
func cmdUp(args []string, out io.Writer) (err error) {
	var c config
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	addConfigFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	store, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer joinClose(&err, store.DB)
	was, err := store.SetInstanceUp(ctx)
	if err != nil {
		return err
	}
	if !was {
		return printOut(out, "The installation was not down.\n")
	}
	return printOut(out, "The installation is up again (a running server follows within seconds).\n")
}
