package model_test

import (
	"context"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"orderdesk/migrations"
	"orderdesk/model"
)

// kinds lists an order's queued messages by kind, with their payloads.
func (s *shop) kinds(t *testing.T, orderID int64) map[string]map[string]string {
	t.Helper()
	list, err := s.store.FindMessages(context.Background(), s.tenant.ID, model.MessageFilter{OrderID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, m := range list {
		if m.Status != model.MessagePending || !strings.HasPrefix(m.Key, "msg-") {
			t.Errorf("a new message: %+v", m)
		}
		out[m.Kind] = m.Payload
	}
	return out
}

func TestChangesQueueTheirMessages(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, 10)
	in := s.integration(t, model.ProviderTinkoff)

	t.Run("placing an order queues order placed", func(t *testing.T) {
		o, err := s.order(t, 1, nil, model.CartPricing{})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.kinds(t, o.ID); len(got) != 1 || got[model.MsgOrderPlaced] == nil {
			t.Errorf("messages: %v", got)
		}
	})

	t.Run("a failed payment of an unpaid order queues payment failed with its number, once", func(t *testing.T) {
		o, _ := s.order(t, 1, nil, model.CartPricing{})
		p, _ := s.pay(t, o, in, model.Observation{Stage: model.PaymentFailed, Reason: "declined"})
		got := s.kinds(t, o.ID)
		if got[model.MsgPaymentFailed]["payment_number"] != p.Number {
			t.Fatalf("messages: %v", got)
		}
		s.pay(t, o, in, model.Observation{Stage: model.PaymentFailed})
		if got := s.kinds(t, o.ID); got[model.MsgPaymentFailed]["payment_number"] != p.Number {
			t.Errorf("a second failure changed the message: %v", got)
		}
		// Then paid: the paid message.
		s.pay(t, o, in, model.Observation{Stage: model.PaymentCompleted})
		if got := s.kinds(t, o.ID); got[model.MsgPaid] == nil || len(got) != 3 {
			t.Errorf("after paying: %v", got)
		}
	})

	t.Run("a failed payment of a paid order says nothing", func(t *testing.T) {
		o, _ := s.order(t, 1, nil, model.CartPricing{})
		s.pay(t, o, in, model.Observation{Stage: model.PaymentCompleted})
		// A second payment of the paid order (a customer's second tab) fails.
		if _, err := s.store.DB.W.Exec(`INSERT INTO payments (tenant_id, order_id, number, provider, integration_id, mode, status, amount, currency, created_at, updated_at)
			VALUES (?, ?, 'PAY-SECOND', 'tinkoff', ?, 'test', 'pending', 100, 'USD', datetime('now'), datetime('now'))`, s.tenant.ID, o.ID, in.ID); err != nil {
			t.Fatal(err)
		}
		second, err := s.store.FindPaymentByNumber(ctx, s.tenant.ID, "PAY-SECOND")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.ApplyPayment(ctx, s.tenant, second.ID, model.Observation{Stage: model.PaymentFailed}, model.PaymentEvent{}); err != nil {
			t.Fatal(err)
		}
		if got := s.kinds(t, o.ID); got[model.MsgPaymentFailed] != nil {
			t.Errorf("messages: %v", got)
		}
	})

	t.Run("bought at the supplier is told only when the shop says so", func(t *testing.T) {
		buy := func() *model.Order {
			o, _ := s.order(t, 1, nil, model.CartPricing{})
			s.pay(t, o, in, model.Observation{Stage: model.PaymentCompleted})
			o = s.reload(t, o)
			for _, st := range []model.ProcurementStatus{model.ProcCreated, model.ProcPaid} {
				if err := s.store.SetLineProcurement(ctx, s.tenant, o.Lines[0].ID, st, model.SystemActor, "P-1", "", "", ""); err != nil {
					t.Fatal(err)
				}
			}
			return o
		}
		if got := s.kinds(t, buy().ID); got[model.MsgPurchased] != nil {
			t.Errorf("told without the setting: %v", got)
		}
		settings := s.tenant.OrderSettings
		settings.NotifyPurchased = true
		if err := s.store.UpdateOrderSettings(ctx, s.tenant.ID, settings); err != nil {
			t.Fatal(err)
		}
		if tn, _ := s.store.FindTenantByID(ctx, s.tenant.ID); !tn.NotifyPurchased {
			t.Fatal("the setting was not saved")
		}
		if got := s.kinds(t, buy().ID); got[model.MsgPurchased] == nil {
			t.Errorf("not told with the setting: %v", got)
		}
	})
}

// TestOldOutboxRowsAreNotSentAfterTheUpgrade: the rows queued before 0009
// (old kinds nothing ever sent) are kept as skipped with the reason, a sent
// one stays sent, and each gets a key of its own.
func TestOldOutboxRowsAreNotSentAfterTheUpgrade(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, "0009")
	for _, q := range []string{
		`INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 'old', 'Old', datetime('now'))`,
		`INSERT INTO outbox (tenant_id, order_id, kind, payload, status, next_attempt_at, created_at) VALUES
			(1, NULL, 'email_confirmation', '{"to":"a@example.com"}', 'pending', datetime('now'), datetime('now')),
			(1, NULL, 'whatsapp_message', '{"phone":"+7900"}', 'failed', datetime('now'), datetime('now')),
			(1, NULL, 'cdek_track', '{}', 'sent', datetime('now'), datetime('now'))`,
	} {
		if _, err := db.W.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(db, testKeys())
	list, err := store.FindMessages(ctx, 1, model.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	want := []model.MessageStatus{model.MessageSkipped, model.MessageSkipped, model.MessageSent}
	keys := map[string]bool{}
	for i, m := range list {
		if m.Status != want[i] || (m.Status == model.MessageSkipped && !strings.Contains(m.LastError, "not sent after the upgrade")) {
			t.Errorf("%s: %s %q", m.Kind, m.Status, m.LastError)
		}
		keys[m.Key] = true
	}
	if len(list) != 3 || len(keys) != 3 {
		t.Errorf("rows %d, keys %v", len(list), keys)
	}
	if due, _ := store.FindDueMessages(ctx, 1, 10); len(due) != 0 {
		t.Errorf("old rows are due: %+v", due)
	}
}

// openAt makes a database with the migrations before version applied, as an
// installation of that time had it.
func openAt(t *testing.T, version string) *model.DB {
	t.Helper()
	db, err := model.Open(t.TempDir() + "/old.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	names, _ := fs.Glob(migrations.FS, "*.sql")
	sort.Strings(names)
	if _, err := db.W.Exec(`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name >= version {
			break
		}
		body, _ := fs.ReadFile(migrations.FS, name)
		if _, err := db.W.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.W.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, datetime('now'))`, strings.TrimSuffix(name, ".sql")); err != nil {
			t.Fatal(err)
		}
	}
	return db
}
