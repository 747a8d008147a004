package main

// The command line: one table of the subcommands, the usage made from it, and
// the one setup every command repeats (its flags over the environment, the
// store opened and closed).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"orderdesk/jobs"
	"orderdesk/model"
)

// command is one subcommand: the words that name it, its arguments and what
// it does as the usage shows them, and its run on the rest of the command
// line.
type command struct {
	name string // "migrate", "sync pay": one word, or a group and a word
	args string // as the usage shows them, e.g. "[--tenant=S]"
	help string // what it does; more lines after "\n"
	// hidden leaves it out of the usage (tools for who works on the code).
	hidden bool
	run    func(args []string, out io.Writer, log *slog.Logger) error
}

// commands is every subcommand, in the usage's order. A command is one line
// here; the dispatch and the usage follow from it.
var commands = []command{
	{name: "serve", args: "[flags]", help: "serve the back office (default)", run: cmdServe},
	{name: "migrate", args: "[flags]", help: "apply database migrations", run: noLog(cmdMigrate)},
	{name: "tenant create", args: "--slug=S --name=N", help: "create a tenant (shop)", run: noLog(cmdTenantCreate)},
	{name: "user create", args: "--tenant=S --email=E --role=R [--password=P]", help: "create a staff user", run: noLog(cmdUserCreate)},
	{name: "orders expire-unpaid", args: "[--tenant=S]", help: "cancel unpaid orders past the shop's limit, once",
		run: func(args []string, out io.Writer, log *slog.Logger) error {
			return cmdRunJob(args, out, log, "orders expire-unpaid", jobs.ExpireUnpaid)
		}},
	{name: "messages send", args: "[--tenant=S]", help: "send the customer messages due now, once", run: cmdSendMessages},
	{name: "sync orders-to-taobao", args: "[--order-id=N]", help: "buy paid orders on Taobao (purchase orders)", run: sub(cmdSync, "orders-to-taobao")},
	{name: "sync pay", args: "[--order-id=N]", help: "pay created purchases from the account balance", run: sub(cmdSync, "pay")},
	{name: "sync order-status", args: "[--purchase-id=X]", help: "fetch purchase status and supplier tracking\n" +
		"(orders and sync run for every shop, or the\none of --tenant=S, a line per thing done)", run: sub(cmdSync, "order-status")},
	{name: "ot export", args: "[--order-id=N]", help: "buy paid orders through OT Platform: add them to\nOT, pay them (simulated payment), start the export",
		run: sub(cmdOT, "export")},
	{name: "ot sync", args: "[--order-id=N]", help: "read the OT orders' lines from OT (Taobao order,\nwaybill, statuses)", run: sub(cmdOT, "sync")},
	{name: "ot sessions", help: "the Taobao sessions OT holds, with their end\n(ot runs for every shop or the one of --tenant=S,\na line per order with its OT order id)",
		run: sub(cmdOT, "sessions")},
	{name: "jobs list", help: "the background jobs and where they are paused", run: sub(cmdJobs, "list")},
	{name: "jobs pause", args: "NAME", help: "pause a job for every shop of this installation", run: sub(cmdJobs, "pause")},
	{name: "jobs resume", args: "NAME", help: "lift that pause (a shop's own pause stays)", run: sub(cmdJobs, "resume")},
	{name: "down", args: "[--secret=S] [--retry=60] [--message=M]", help: "take every shop down for maintenance; /S lets\na browser through (a cookie)", run: noLog(cmdDown)},
	{name: "up", help: "end the maintenance", run: noLog(cmdUp)},
	{name: "backup", args: "[--to=FILE]", help: "a consistent copy of the database, while it\nruns (default: the data folder's backups/)", run: noLog(cmdBackup)},
	{name: "demo bulk-orders", args: "--count=N [--tenant=S]", help: "add N synthetic orders (load tests)", run: noLog(cmdBulkOrders)},
	// Hidden: a tool for who works on speed (make bench), not in the usage.
	{name: "bench", hidden: true, run: noLog(cmdBench)},
}

// noLog adapts a command that logs nothing.
func noLog(f func([]string, io.Writer) error) func([]string, io.Writer, *slog.Logger) error {
	return func(args []string, out io.Writer, _ *slog.Logger) error { return f(args, out) }
}

// sub adapts a group's command that takes its word first (sync pay, jobs list).
func sub(f func(string, []string, io.Writer, *slog.Logger) error, word string) func([]string, io.Writer, *slog.Logger) error {
	return func(args []string, out io.Writer, log *slog.Logger) error { return f(word, args, out, log) }
}

// usageHead and usageTail frame the commands in the usage.
const (
	usageHead = "orderdesk: the back office of a cross-border shop.\n\nUsage:\n"
	usageTail = "\nRoles: owner, admin, staff, operator. Run 'orderdesk <command> -h' for flags.\n"
	// usageColumn is where a command's help starts in the usage.
	usageColumn = 50
)

// usage is the usage text, made from the commands table.
func usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	pad := strings.Repeat(" ", usageColumn)
	for _, cmd := range commands {
		if cmd.hidden {
			continue
		}
		line := "  orderdesk " + cmd.name
		if cmd.name == "serve" {
			line = "  orderdesk [serve]"
		}
		if cmd.args != "" {
			line += " " + cmd.args
		}
		help := strings.Split(cmd.help, "\n")
		if len(line) >= usageColumn {
			// Too long to share a line with its help: the help goes below.
			b.WriteString(line + "\n" + pad + help[0] + "\n")
		} else {
			b.WriteString(line + pad[len(line):] + help[0] + "\n")
		}
		for _, h := range help[1:] {
			b.WriteString(pad + h + "\n")
		}
	}
	b.WriteString(usageTail)
	return b.String()
}

// usageError is a command line that names no command: main prints the usage
// and exits 2, as the flag package does for a bad flag.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode is the process's exit status for run's result.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// run dispatches a command line; it is main without the exit, for tests.
func run(args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		switch {
		case len(args) > 0 && (args[0] == "-h" || args[0] == "--help"):
			return printOut(out, usage())
		default:
			return cmdServe(args, out, log)
		}
	}
	if args[0] == "help" {
		return printOut(out, usage())
	}
	// A group's command (two words) first, then a command of one word.
	if len(args) > 1 {
		if cmd, ok := findCommand(args[0] + " " + args[1]); ok {
			return cmd.run(args[2:], out, log)
		}
	}
	if cmd, ok := findCommand(args[0]); ok {
		return cmd.run(args[1:], out, log)
	}
	msg := fmt.Sprintf("unknown command %q", strings.Join(args, " "))
	if words := groupWords(args[0]); len(words) > 0 {
		msg += ": " + args[0] + " takes " + strings.Join(words, ", ")
	}
	fmt.Fprint(os.Stderr, usage())
	return &usageError{msg}
}

// findCommand is the command of that name.
func findCommand(name string) (command, bool) {
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd, true
		}
	}
	return command{}, false
}

// groupWords lists the words a group takes (sync: orders-to-taobao, pay, …).
func groupWords(group string) []string {
	var words []string
	for _, cmd := range commands {
		if g, w, ok := strings.Cut(cmd.name, " "); ok && g == group && !cmd.hidden {
			words = append(words, w)
		}
	}
	return words
}

// setup is what every command starts with: its flags over the configuration
// flags (which default to the environment), and, for those that need it, the
// store of the data folder.
type setup struct {
	c  config
	fs *flag.FlagSet
	// envErrs are the configuration values of the environment that did not
	// parse, by the flag that overrides them.
	envErrs map[string]error
	// applied lists the migrations the store's opening applied.
	applied []string
}

// newSetup starts a command's flags with the configuration flags; the command
// adds its own to s.fs.
func newSetup(name string) *setup {
	s := &setup{fs: flag.NewFlagSet(name, flag.ContinueOnError), envErrs: map[string]error{}}
	s.c.envErrs = s.envErrs
	addConfigFlags(s.fs, &s.c)
	return s
}

// parse parses the command line. A configuration value from the environment
// that does not parse is an error naming the variable, unless the command
// line gives that flag: silently running on a zero is worse than not starting.
func (s *setup) parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	s.fs.VisitAll(func(f *flag.Flag) {
		if err := s.envErrs[f.Name]; err != nil && !given[f.Name] {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// withStore parses the command line, opens (and migrates) the store of the
// data folder, runs do, and closes the store, joining a failed close into the
// result. Its context ends on SIGINT or SIGTERM.
func (s *setup) withStore(args []string, do func(ctx context.Context, store *model.Store) error) (err error) {
	if err := s.parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, applied, err := openStore(ctx, s.c)
	if err != nil {
		return err
	}
	defer joinClose(&err, store.DB)
	s.applied = applied
	return do(ctx, store)
}

// envFloat reads a number from the environment variable name (def when
// unset), for the flag of that name. A value that is not a number above 0 is
// recorded in errs (reported by setup.parse) and def is used meanwhile.
func envFloat(errs map[string]error, name, flagName string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f <= 0 {
		if errs != nil {
			errs[flagName] = fmt.Errorf("%s is %q: give a number above 0, e.g. 1 or 0.5 (or --%s)", name, v, flagName)
		}
		return def
	}
	return f
}
