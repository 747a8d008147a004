package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The usage names every command of the table with its arguments, and no
// hidden one.
func TestUsageListsEveryCommand(t *testing.T) {
	out, err := runCLI(t, "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"orderdesk [serve] [flags]", "orderdesk migrate", "orderdesk tenant create --slug=S --name=N",
		"orderdesk user create --tenant=S --email=E --role=R [--password=P]", "orderdesk orders expire-unpaid [--tenant=S]",
		"orderdesk messages send", "orderdesk sync orders-to-taobao", "orderdesk sync pay", "orderdesk sync order-status [--purchase-id=X]",
		"orderdesk ot export", "orderdesk ot sync", "orderdesk ot sessions", "orderdesk jobs list", "orderdesk jobs pause NAME",
		"orderdesk jobs resume NAME", "orderdesk down [--secret=S]", "orderdesk up", "orderdesk backup [--to=FILE]",
		"orderdesk demo bulk-orders --count=N",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the usage lacks %q:\n%s", want, out)
		}
	}
	for _, cmd := range commands {
		line := "orderdesk " + cmd.name
		if cmd.name == "serve" {
			line = "orderdesk [serve]"
		}
		if got := strings.Contains(out, line); got == cmd.hidden {
			t.Errorf("%q in the usage: %v, hidden: %v", cmd.name, got, cmd.hidden)
		}
	}
}

// mainChild runs main in a child process (the test binary again) with args,
// and returns its exit code and what it wrote.
func mainChild(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	// A bound: with its check undone, a serve would serve on.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMainChild$")
	child.Env = append(append(os.Environ(), "ORDERDESK_MAIN_CHILD="+string(b)), env...)
	out, err := child.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatal(err)
	return 0, ""
}

// TestMainChild is main in a child process for mainChild; it does nothing
// unless started by it.
func TestMainChild(t *testing.T) {
	v := os.Getenv("ORDERDESK_MAIN_CHILD")
	if v == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(v), &args); err != nil {
		t.Fatal(err)
	}
	os.Args = append([]string{"orderdesk"}, args...)
	main()
	os.Exit(0)
}

// A command line that names no command exits 2 with the usage, as a bad
// flag does; a group's unknown word is told the words it takes.
func TestUnknownCommandExitsTwoWithUsage(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"sync", "everything"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out := mainChild(t, nil, args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2\n%s", code, out)
			}
			if !strings.Contains(out, "Usage:") || !strings.Contains(out, "orderdesk jobs pause NAME") {
				t.Errorf("no usage:\n%s", out)
			}
			if !strings.Contains(out, `unknown command "`+strings.Join(args, " ")+`"`) {
				t.Errorf("the error does not name the command:\n%s", out)
			}
		})
	}
	t.Run("a group's words", func(t *testing.T) {
		_, out := mainChild(t, nil, "sync", "everything")
		if !strings.Contains(out, "sync takes orders-to-taobao, pay, order-status") {
			t.Errorf("the words sync takes are not said:\n%s", out)
		}
	})
	t.Run("a command that fails exits 1", func(t *testing.T) {
		code, out := mainChild(t, nil, "backup", "--data", t.TempDir())
		if code != 1 || !strings.Contains(out, "no database") {
			t.Errorf("exit code %d, want 1\n%s", code, out)
		}
	})
}

// A tracking rate in the environment that is not a number stops every
// command with an error naming the variable, instead of running on 0; the
// flag given on the command line overrides it.
func TestBadTrackRateIsAnError(t *testing.T) {
	data := t.TempDir()
	for _, bad := range []string{"abc", "1,5", "-2"} {
		t.Run(bad, func(t *testing.T) {
			t.Setenv("ORDERDESK_TRACK_RATE", bad)
			_, err := runCLI(t, "migrate", "--data", data)
			if err == nil || !strings.Contains(err.Error(), "ORDERDESK_TRACK_RATE") || !strings.Contains(err.Error(), bad) {
				t.Fatalf("got %v, want an error naming ORDERDESK_TRACK_RATE and %q", err, bad)
			}
			if _, err := os.Stat(data + "/orderdesk.db"); err == nil {
				t.Error("the command ran (made the database) with a bad rate")
			}
		})
	}
	t.Run("serve", func(t *testing.T) {
		code, out := mainChild(t, []string{"ORDERDESK_TRACK_RATE=fast", "ORDERDESK_DATA=" + data, "ORDERDESK_ADDR=127.0.0.1:0"}, "serve")
		if code != 1 || !strings.Contains(out, `ORDERDESK_TRACK_RATE is "fast"`) {
			t.Errorf("exit code %d, want 1 naming the variable\n%s", code, out)
		}
	})
	t.Run("the flag overrides it", func(t *testing.T) {
		t.Setenv("ORDERDESK_TRACK_RATE", "abc")
		if out, err := runCLI(t, "migrate", "--data", data, "--track-rate=2"); err != nil || !strings.Contains(out, "applied") {
			t.Errorf("migrate --track-rate=2: %v\n%s", err, out)
		}
	})
	t.Run("a good one is used", func(t *testing.T) {
		t.Setenv("ORDERDESK_TRACK_RATE", "2.5")
		s := newSetup("serve")
		if err := s.parse(nil); err != nil || s.c.TrackRate != 2.5 {
			t.Errorf("track rate %v, %v; want 2.5", s.c.TrackRate, err)
		}
	})
}
