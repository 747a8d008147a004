package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/jobs"
	"orderdesk/model"
	"orderdesk/providers/smtp"
	"orderdesk/providers/wazzup"
	"orderdesk/services/messaging"
)

// outside is the world that outlives our process: the Wazzup and SMTP
// sandboxes, on loopback addresses of their own.
type outside struct {
	wa   *wazzup.Sandbox
	mail *smtp.Sandbox
}

func startOutside(t *testing.T) (*outside, string, string) {
	t.Helper()
	sdb, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "sandbox.db")+"?_journal_mode=WAL&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	o := &outside{}
	if o.wa, err = wazzup.NewSandbox(sdb, wazzup.SandboxConfig{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o.wa)
	t.Cleanup(srv.Close)
	o.wa.SetBaseURL(srv.URL)
	if o.mail, err = smtp.NewSandbox(sdb, smtp.SandboxConfig{}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go o.mail.Serve(l)
	t.Cleanup(func() { o.mail.Close() })
	return o, o.wa.APIURL(), l.Addr().String()
}

// counts tells how many WhatsApp messages and mails each message key got at
// the sandboxes.
func (o *outside) counts(t *testing.T) (wa, mail map[string]int) {
	t.Helper()
	msgs, err := o.wa.Messages(10_000)
	if err != nil {
		t.Fatal(err)
	}
	wa = map[string]int{}
	for _, m := range msgs {
		wa[m.CRMMessageID]++
	}
	mails, err := o.mail.Mails(10_000)
	if err != nil {
		t.Fatal(err)
	}
	mail = map[string]int{}
	for _, m := range mails {
		key, _, _ := strings.Cut(m.MessageID(), "@")
		mail[key]++
	}
	return wa, mail
}

// TestMessagesSurviveAKilledSender kills a real process that sends
// customer messages, twice at the worst moment (a provider accepted a
// message, and the process dies before recording it) and once from outside
// in the middle of a slow run, and runs `orderdesk messages send` after
// each: no message reaches a customer twice, at either sandbox, and every
// message ends sent or, when its e-mail may have gone, held for a person.
func TestMessagesSurviveAKilledSender(t *testing.T) {
	model.PasswordCost = bcrypt.MinCost
	ctx := context.Background()
	data := t.TempDir()
	world, waURL, smtpAddr := startOutside(t)

	store, _, err := openStore(ctx, config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SeedDemo(ctx, "demo-password"); err != nil {
		t.Fatal(err)
	}
	demo, _ := store.FindTenantBySlug(ctx, model.DemoTenantSlug)
	wz, sm, name, mailName := model.ProviderWazzup, model.ProviderSMTP, "WhatsApp", "E-mail"
	key, channel, ep := wazzup.DemoAPIKey, wazzup.DemoChannelID, waURL
	if _, err := store.CreateIntegration(ctx, demo.ID, nil, model.IntegrationInput{Provider: &wz, Name: &name, APIKey: &key, APISecret: &channel, TestEndpoint: &ep}); err != nil {
		t.Fatal(err)
	}
	user, pass, mailEP := smtp.DemoUsername, smtp.DemoPassword, "smtp://"+smtpAddr
	if _, err := store.CreateIntegration(ctx, demo.ID, nil, model.IntegrationInput{Provider: &sm, Name: &mailName, APIKey: &user, APISecret: &pass,
		TestEndpoint: &mailEP, Config: map[string]string{"tls": "off", "from": "shop@orderdesk.test"}}); err != nil {
		t.Fatal(err)
	}
	// Six orders, WhatsApp and e-mail in turn: a phone WhatsApp takes, then one it cannot.
	place := func(n int) {
		for i := 0; i < n; i++ {
			phone := fmt.Sprintf("+7999%07d", 1000000+i)
			if i%2 == 1 {
				phone = "ext. 12"
			}
			placeDemoOrder(t, store, demo, phone, fmt.Sprintf("buyer%d@example.com", i))
		}
	}
	place(6)
	store.DB.Close()

	cli := func(phase string) string {
		t.Helper()
		text, err := runCLI(t, "messages", "send", "--data", data, "--allow-private-endpoints")
		if err != nil {
			t.Fatalf("%s: messages send: %v\n%s", phase, err, text)
		}
		return text
	}
	child := func(env ...string) *exec.Cmd {
		c := exec.Command(os.Args[0], "-test.run=^TestMessagesCrashChild$")
		c.Env = append(append(os.Environ(), "ORDERDESK_CRASH_CHILD=messages", "ORDERDESK_DATA="+data), env...)
		return c
	}
	dies := func(phase string, c *exec.Cmd) {
		t.Helper()
		out, err := c.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 137 {
			t.Fatalf("%s: the child did not die where it should: %v\n%s", phase, err, out)
		}
	}

	// 1. Dies after the mail server accepted the second message (an e-mail).
	dies("e-mail", child("ORDERDESK_CRASH_AFTER=2"))
	// 2. Dies after Wazzup accepted the next one (a WhatsApp message).
	dies("WhatsApp", child("ORDERDESK_CRASH_AFTER=1"))
	wa, mail := world.counts(t)
	if len(wa) != 2 || len(mail) != 1 {
		t.Fatalf("at the sandboxes after two crashes: %v %v", wa, mail)
	}
	out := cli("after the crashes")

	// 3. Killed from outside in the middle of a slow run.
	reopen := func() *model.Store {
		s, _, err := openStore(ctx, config{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	store = reopen()
	place(6)
	store.DB.Close()
	world.wa.SetLatency(150 * time.Millisecond)
	world.mail.SetLatency(50 * time.Millisecond)
	slow := child()
	if err := slow.Start(); err != nil {
		t.Fatal(err)
	}
	wa, mail = world.counts(t)
	before := len(wa) + len(mail)
	deadline := time.Now().Add(20 * time.Second)
	for {
		wa, mail = world.counts(t)
		if len(wa)+len(mail) >= before+3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := slow.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := slow.Wait(); err == nil {
		t.Fatal("the slow child finished before it was killed")
	}
	world.wa.SetLatency(0)
	world.mail.SetLatency(0)
	out += cli("after the kill")
	out += cli("once more")

	// What the customers got: at most one of each message, and each message
	// sent, or held for a person when its channel may have reached them.
	store = reopen()
	defer store.DB.Close()
	msgs, err := store.FindMessages(ctx, demo.ID, model.MessageFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	wa, mail = world.counts(t)
	sent, held, dups := 0, 0, 0
	for _, m := range msgs {
		if m.Status == model.MessageSkipped {
			continue
		}
		dups += max(wa[m.Key]-1, 0) + max(mail[m.Key]-1, 0)
		got := wa[m.Key] + mail[m.Key]
		switch m.Status {
		case model.MessageSent:
			sent++
			if got != 1 || (m.Channel == model.ChannelWhatsApp) != (wa[m.Key] == 1) {
				t.Errorf("sent message %d (%s) reached the sandboxes %d times (WhatsApp %d, e-mail %d)", m.ID, m.Channel, got, wa[m.Key], mail[m.Key])
			}
		case model.MessageUnknown:
			held++
			if got > 1 {
				t.Errorf("held message %d reached the sandboxes %d times", m.ID, got)
			}
		default:
			t.Errorf("message %d is %s: %s", m.ID, m.Status, m.LastError)
		}
	}
	if dups != 0 || sent+held != 12 || held < 1 {
		t.Errorf("12 messages: %d sent, %d held for a person, %d duplicates\n%s", sent, held, dups, out)
	}
	t.Logf("killed senders: %d messages sent, %d held for a person, %d duplicates at the sandboxes\n%s", sent, held, dups, out)
}

// TestMessagesCrashChild is the process TestMessagesSurviveAKilledSender
// kills; it does nothing unless started by it. It sends the demo shop's due
// messages as the server's job would, and with ORDERDESK_CRASH_AFTER=N dies
// after the provider accepted its N-th message, before recording it.
func TestMessagesCrashChild(t *testing.T) {
	if os.Getenv("ORDERDESK_CRASH_CHILD") != "messages" {
		return
	}
	c := config{Data: os.Getenv("ORDERDESK_DATA"), BaseURL: "http://localhost:8080", DefaultTenant: model.DemoTenantSlug, AllowPrivateEndpoints: true}
	store, _, err := openStore(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	demo, err := store.FindTenantBySlug(context.Background(), model.DemoTenantSlug)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := strconv.Atoi(os.Getenv("ORDERDESK_CRASH_AFTER"))
	accepted := 0
	svc := messaging.New(messaging.Config{Store: store, Log: slog.Default(), Egress: egressPolicy(c, ""),
		ShopURL: func(t *model.Tenant) string { return model.ShopURL(c.BaseURL, t, c.DefaultTenant) },
		AfterSend: func(*model.Message) {
			accepted++
			if accepted == after {
				os.Exit(137)
			}
		}})
	if _, _, err := svc.SendDue(context.Background(), demo, &jobs.Run{}); err != nil {
		t.Fatal(err)
	}
	if after > 0 {
		t.Fatal("the child survived its sends")
	}
}

// placeDemoOrder orders one product of the demo catalogue with the phone and
// e-mail given.
func placeDemoOrder(t *testing.T, store *model.Store, tn *model.Tenant, phone, email string) {
	t.Helper()
	ctx := context.Background()
	products, _ := store.FindProducts(ctx, tn.ID)
	ships, _ := store.FindShippingMethods(ctx, tn.ID)
	cart, _ := store.EnsureCart(ctx, tn.ID, "", 0)
	if err := store.AddToCart(ctx, tn.ID, cart, products[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PlaceOrder(ctx, tn, model.PlaceOrderInput{CartID: cart, ShippingMethodID: ships[0].ID, Address: model.Address{
		FirstName: "Anna", LastName: "B", Email: email, Telephone: phone, Street1: "S", Country: "RU", City: "C", State: "S", Zip: "1"}}); err != nil {
		t.Fatal(err)
	}
}
