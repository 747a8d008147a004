package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"orderdesk/model"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(args, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return out.String(), err
}

func TestCLI(t *testing.T) {
	data := t.TempDir()

	out, err := runCLI(t, "migrate", "--data", data)
	if err != nil || !strings.Contains(out, "applied 0001_foundation") {
		t.Fatalf("first migrate: %v\n%s", err, out)
	}
	out, err = runCLI(t, "migrate", "--data", data)
	if err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %v\n%s", err, out)
	}

	out, err = runCLI(t, "tenant", "create", "--data", data, "--slug=shop2", "--name=Shop Two")
	if err != nil || !strings.Contains(out, "created tenant shop2") {
		t.Fatalf("tenant create: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "tenant", "create", "--data", data, "--slug=shop2", "--name=Again"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate tenant: got %v", err)
	}

	out, err = runCLI(t, "user", "create", "--data", data, "--tenant=shop2", "--email=ops@shop2.test", "--role=operator")
	if err != nil || !strings.Contains(out, "created operator user ops@shop2.test") || !strings.Contains(out, "password: ") {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	password := strings.Fields(out[strings.Index(out, "password: "):])[1]

	db, err := model.Open(filepath.Join(data, "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := model.NewStore(db, nil)
	shop2, err := store.FindTenantBySlug(context.Background(), "shop2")
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.Authenticate(context.Background(), shop2.ID, "ops@shop2.test", password, "127.0.0.1")
	if err != nil || u.Role != model.RoleOperator {
		t.Fatalf("the printed password does not sign in: %v", err)
	}

	if _, err := runCLI(t, "user", "create", "--data", data, "--tenant=shop2", "--email=x@shop2.test", "--role=boss"); err == nil {
		t.Error("an unknown role was accepted")
	}
	if _, err := runCLI(t, "frobnicate"); err == nil {
		t.Error("an unknown command was accepted")
	}
}

func TestKeyFile(t *testing.T) {
	data := t.TempDir()
	c := config{Data: data}
	k1, err := loadKey(c)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(data, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := loadKey(c)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := k1.Seal("test", []byte("secret"))
	if got, err := k2.Open("test", sealed); err != nil || string(got) != "secret" {
		t.Errorf("second start did not read the same key: %v", err)
	}
	if _, err := loadKey(config{Data: data, SecretKey: "tooshort"}); err == nil {
		t.Error("a short ORDERDESK_SECRET_KEY was accepted")
	}
}

func TestSeedDemoOnce(t *testing.T) {
	data := t.TempDir()
	store, _, err := openStore(context.Background(), config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.DB.Close()
	var out bytes.Buffer
	if err := seedDemo(context.Background(), store, config{Data: data, BaseURL: "http://localhost:8080"}, &out, "127.0.0.1:2525"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "owner@demo.test") || !strings.Contains(out.String(), "shown only this once") {
		t.Errorf("first start output:\n%s", out.String())
	}
	out.Reset()
	if err := seedDemo(context.Background(), store, config{Data: data, BaseURL: "http://localhost:8080"}, &out, "127.0.0.1:2525"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "exists") || strings.Contains(out.String(), "password: ") {
		t.Errorf("second start re-seeded or re-printed:\n%s", out.String())
	}
}

func TestCLIExpireUnpaid(t *testing.T) {
	data := t.TempDir()
	store, _, err := openStore(context.Background(), config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SeedDemo(context.Background(), "demo-password"); err != nil {
		t.Fatal(err)
	}
	demo, _ := store.FindTenantBySlug(context.Background(), "demo")
	settings := demo.OrderSettings
	settings.UnpaidExpiryMinutes, settings.UnpaidExpiryBatch = 1, 4 // the demo's pending orders are 5+ minutes old
	if err := store.UpdateOrderSettings(context.Background(), demo.ID, settings); err != nil {
		t.Fatal(err)
	}
	store.DB.Close()

	out, err := runCLI(t, "orders", "expire-unpaid", "--data", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := strings.Count(out, "demo: cancelled ORD-DEMO-"); got != 4 {
		t.Errorf("cancelled %d orders, want the batch of 4:\n%s", got, out)
	}
	if !strings.Contains(out, "expire-unpaid: 4 processed, 0 failed") {
		t.Errorf("summary line missing:\n%s", out)
	}
}

// expireAfterAMinute makes both demo shops cancel orders unpaid after a minute:
// their demo pending orders are five minutes old and more.
func expireAfterAMinute(t *testing.T, data string) {
	t.Helper()
	store, _, err := openStore(context.Background(), config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.DB.Close()
	if _, err := store.SeedDemo(context.Background(), "demo-password"); err != nil {
		t.Fatal(err)
	}
	for _, slug := range model.DemoTenants {
		shop, err := store.FindTenantBySlug(context.Background(), slug)
		if err != nil {
			t.Fatal(err)
		}
		s := shop.OrderSettings
		s.UnpaidExpiryMinutes, s.UnpaidExpiryBatch = 1, 100
		if err := store.UpdateOrderSettings(context.Background(), shop.ID, s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCLIRunsForOneShopOrEvery(t *testing.T) {
	data := t.TempDir()
	expireAfterAMinute(t, data)

	out, err := runCLI(t, "orders", "expire-unpaid", "--tenant=demo-tr", "--data", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "demo-tr: cancelled ORD-DEMO-TR-") || strings.Contains(out, "demo: ") {
		t.Errorf("--tenant=demo-tr:\n%s", out)
	}
	out, err = runCLI(t, "orders", "expire-unpaid", "--data", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// demo-tr's are cancelled already: every shop's run has its summary line.
	if !strings.Contains(out, "demo: cancelled ORD-DEMO-2") || !strings.Contains(out, "demo-tr: expire-unpaid: 0 processed, 0 failed") {
		t.Errorf("every shop:\n%s", out)
	}
	if _, err := runCLI(t, "orders", "expire-unpaid", "--tenant=nope", "--data", data); err == nil || !strings.Contains(err.Error(), `tenant "nope"`) {
		t.Errorf("unknown shop: %v", err)
	}
	// An order asked for by id is looked for in each shop; another shop's is not found there.
	if _, err := runCLI(t, "sync", "pay", "--order-id=1", "--tenant=demo-tr", "--data", data); err == nil || !strings.Contains(err.Error(), "order 1 is not in shop demo-tr") {
		t.Errorf("demo's order 1 through demo-tr: %v", err)
	}
	if _, err := runCLI(t, "sync", "pay", "--order-id=999999", "--data", data); err == nil || !strings.Contains(err.Error(), "order 999999 is in no shop") {
		t.Errorf("an order of no shop: %v", err)
	}
}

func TestCLIInstancePauseStopsEveryShop(t *testing.T) {
	data := t.TempDir()
	expireAfterAMinute(t, data)

	out, err := runCLI(t, "jobs", "pause", "expire-unpaid", "--data", data)
	if err != nil || !strings.Contains(out, "expire-unpaid is paused for every shop") {
		t.Fatalf("jobs pause: %v\n%s", err, out)
	}
	out, err = runCLI(t, "jobs", "list", "--data", data)
	if err != nil || !regexp.MustCompile(`expire-unpaid\s+every 5m0s\s+paused for every shop`).MatchString(out) ||
		!regexp.MustCompile(`poll-payments\s+every 3s\s+runs`).MatchString(out) {
		t.Errorf("jobs list: %v\n%s", err, out)
	}
	out, err = runCLI(t, "orders", "expire-unpaid", "--data", data)
	if err != nil || strings.Contains(out, "cancelled") ||
		!strings.Contains(out, "demo: expire-unpaid skipped") || !strings.Contains(out, "demo-tr: expire-unpaid skipped") {
		t.Errorf("run while paused for every shop: %v\n%s", err, out)
	}
	out, err = runCLI(t, "jobs", "resume", "expire-unpaid", "--data", data)
	if err != nil {
		t.Fatalf("jobs resume: %v\n%s", err, out)
	}
	out, err = runCLI(t, "orders", "expire-unpaid", "--data", data)
	if err != nil || !strings.Contains(out, "demo: cancelled") || !strings.Contains(out, "demo-tr: cancelled") {
		t.Errorf("run after the resume: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "jobs", "pause", "nope", "--data", data); err == nil || !strings.Contains(err.Error(), "expire-unpaid, poll-payments") {
		t.Errorf("unknown job: %v", err)
	}
}

func TestDataFolderIsPrivate(t *testing.T) {
	mode := func(path string) os.FileMode {
		t.Helper()
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}

	t.Run("a new data folder is 0700 and its files 0600", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		store, _, err := openStore(context.Background(), config{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		defer store.DB.Close()
		sandbox, err := openSandboxDB(config{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		defer sandbox.Close()
		if _, err := sandbox.Exec(`CREATE TABLE t (x)`); err != nil { // the first write makes the -wal file
			t.Fatal(err)
		}
		if got := mode(data); got != 0o700 {
			t.Errorf("data folder mode %v, want 0700", got)
		}
		for _, name := range []string{"orderdesk.db", "orderdesk.db-wal", "orderdesk.db-shm", "secret.key", "sandbox.db", "sandbox.db-wal"} {
			if got := mode(filepath.Join(data, name)); got != 0o600 {
				t.Errorf("%s mode %v, want 0600", name, got)
			}
		}
	})

	t.Run("an existing folder and files readable by all are made private at start", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		if _, err := runCLI(t, "migrate", "--data", data); err != nil {
			t.Fatal(err)
		}
		loose := []string{"orderdesk.db", "secret.key"}
		for _, name := range loose {
			if err := os.Chmod(filepath.Join(data, name), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(data, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := runCLI(t, "migrate", "--data", data); err != nil {
			t.Fatal(err)
		}
		if got := mode(data); got != 0o700 {
			t.Errorf("data folder mode %v, want 0700", got)
		}
		for _, name := range loose {
			if got := mode(filepath.Join(data, name)); got != 0o600 {
				t.Errorf("%s mode %v, want 0600", name, got)
			}
		}
	})
}

// A report that cannot be written (the terminal or the pipe is gone) fails the
// command: a user's one-time password that nobody saw must not pass for shown.
func TestCLIFailsWhenItsReportIsNotWritten(t *testing.T) {
	data := t.TempDir()
	if _, err := runCLI(t, "tenant", "create", "--data", data, "--slug=shop2", "--name=Shop Two"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"help"},
		{"migrate", "--data", data},
		{"user", "create", "--data", data, "--tenant=shop2", "--email=ops@shop2.test", "--role=operator"},
	} {
		t.Run(strings.Join(args[:min(2, len(args))], " "), func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			// A pipe nobody reads: every write to it fails (EPIPE).
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			err = run(args, w, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				t.Fatal("the command succeeded though its report was not written")
			}
		})
	}
}
