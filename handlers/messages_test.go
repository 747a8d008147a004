package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"orderdesk/jobs"
	"orderdesk/model"
	"orderdesk/providers/smtp"
	"orderdesk/providers/wazzup"
	"orderdesk/services/messaging"
	"orderdesk/views/locales"
)

// sendMessages runs the send-messages job for a shop, as the scheduler does.
func (e *env) sendMessages(t *testing.T, shop *model.Tenant) *model.JobRun {
	t.Helper()
	run, err := e.sched.RunOnce(context.Background(), e.sched.Job(jobs.SendMessagesName), shop)
	if err != nil {
		t.Fatalf("send-messages: %v", err)
	}
	return run
}

// messagesOf returns an order's messages by kind.
func (e *env) messagesOf(t *testing.T, shop *model.Tenant, orderID int64) map[string]*model.Message {
	t.Helper()
	list, err := e.store.FindMessages(context.Background(), shop.ID, model.MessageFilter{OrderID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*model.Message{}
	for _, m := range list {
		out[m.Kind] = m
	}
	return out
}

// whatsApps are the texts the Wazzup sandbox delivered, oldest first.
func (e *env) whatsApps(t *testing.T) []wazzup.SandboxMessage {
	t.Helper()
	list, err := e.sandboxes.Wazzup.Messages(1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// mails are the mails the SMTP sandbox received, oldest first.
func (e *env) mails(t *testing.T) []smtp.SandboxMail {
	t.Helper()
	list, err := e.sandboxes.SMTP.Mails(1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// placeOrderWithPhone orders through the API with the phone given.
func (e *env) placeOrderWithPhone(t *testing.T, phone, email string) *model.Order {
	t.Helper()
	ctx := context.Background()
	c := e.client(t, "")
	products, _ := e.store.FindProducts(ctx, e.demo.ID)
	shipping, _ := e.store.FindShippingMethods(ctx, e.demo.ID)
	res, _ := c.api("POST", "/api/cart/add/", map[string]any{"product_id": products[0].ID, "quantity": 1})
	wantStatus(t, res, http.StatusOK)
	body := address(email, shipping[0].ID)
	body["customer_phone"] = phone
	res, out := c.api("POST", "/api/orders/", body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("order: %d %v", res.StatusCode, out)
	}
	o, err := e.store.FindOrderByNumber(ctx, e.demo.ID, get(out, "order", "order_number").(string))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// timeline is the text of an order's timeline on its page, for staff.
func timeline(t *testing.T, staff *client, orderID int64) string {
	t.Helper()
	res, doc := staff.get("/admin/orders/" + itoa(orderID))
	wantStatus(t, res, http.StatusOK)
	return doc.Find(`[data-testid="timeline"]`).Text()
}

func TestCustomersAreToldByWhatsAppFirst(t *testing.T) {
	e := newEnv(t)
	staff := e.owner(t)
	o := e.placeOrderWithPhone(t, "+90 555 123 45 67", "buyer@example.com")

	run := e.sendMessages(t, e.demo)
	if run.Processed != 1 || run.Failed != 0 {
		t.Fatalf("run: %d sent, %d failed: %v", run.Processed, run.Failed, run.Messages)
	}
	wa := e.whatsApps(t)
	if len(wa) != 1 {
		t.Fatalf("WhatsApp messages: %+v", wa)
	}
	m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
	text := wa[0].Text
	for _, want := range []string{e.demo.Name, o.Number, locales.Money("en", o.Total, o.Currency), e.base + "/track/" + o.Number} {
		if !strings.Contains(text, want) {
			t.Errorf("the WhatsApp text lacks %q:\n%s", want, text)
		}
	}
	if wa[0].ChatID != "905551234567" || wa[0].CRMMessageID != m.Key || wa[0].ChannelID != wazzup.DemoChannelID {
		t.Errorf("sent to %s with crmMessageId %s through %s; the message's key is %s", wa[0].ChatID, wa[0].CRMMessageID, wa[0].ChannelID, m.Key)
	}
	if m.Status != model.MessageSent || m.Channel != model.ChannelWhatsApp || m.Recipient != "+905551234567" || m.Body != text ||
		m.ProviderRef != wa[0].MessageID || m.Attempts != 1 {
		t.Errorf("message as recorded: %+v", m)
	}
	if mails := e.mails(t); len(mails) != 0 {
		t.Errorf("an e-mail besides the WhatsApp message: %+v", mails)
	}
	if tl := timeline(t, staff, o.ID); !strings.Contains(tl, `"Order placed" message sent by WhatsApp to +905551234567`) {
		t.Errorf("timeline:\n%s", tl)
	}
	// The timeline links to the order's messages.
	_, doc := staff.get("/admin/orders/" + itoa(o.ID))
	if href, _ := doc.Find(`[data-testid="event-messages-link"]`).Attr("href"); href != "/admin/messages?order="+itoa(o.ID) {
		t.Errorf("messages link %q", href)
	}

	// Another run sends nothing again.
	if run := e.sendMessages(t, e.demo); run.Processed+run.Failed != 0 {
		t.Errorf("second run: %+v", run)
	}
	if n := len(e.whatsApps(t)); n != 1 {
		t.Errorf("%d WhatsApp messages after a second run, want 1", n)
	}

	// Paid: the payment's confirmation is a receipt, sent by e-mail first as
	// seed 004's shop does, in the shop's language.
	ctx := context.Background()
	in, err := e.store.UsableIntegration(ctx, e.demo.ID, model.ProviderTinkoff)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.store.NewPayment(ctx, e.demo, o.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ApplyPayment(ctx, e.demo, p.ID, model.Observation{Stage: model.PaymentCompleted}, model.PaymentEvent{}); err != nil {
		t.Fatal(err)
	}
	e.sendMessages(t, e.demo)
	mails := e.mails(t)
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "received your payment of "+locales.Money("en", o.Total, o.Currency)) {
		t.Errorf("paid message: %+v", mails)
	}
	if n := len(e.whatsApps(t)); n != 1 {
		t.Errorf("%d WhatsApp messages after the receipt, want 1", n)
	}
}

func TestEmailWhenWhatsAppCannotReachTheCustomer(t *testing.T) {
	e := newEnv(t)
	staff := e.owner(t)

	t.Run("a phone WhatsApp cannot use goes by e-mail", func(t *testing.T) {
		o := e.placeOrderWithPhone(t, "12-34", "nophone@example.com")
		e.sendMessages(t, e.demo)
		m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
		mails := e.mails(t)
		if m.Status != model.MessageSent || m.Channel != model.ChannelEmail || len(mails) != 1 {
			t.Fatalf("message %+v, mails %d", m, len(mails))
		}
		got := mails[len(mails)-1]
		if strings.Join(got.To, ",") != "nophone@example.com" || !strings.Contains(got.Subject, o.Number) || !strings.Contains(got.Text, e.base+"/track/"+o.Number) ||
			got.MessageID() != m.Key+"@orderdesk.test" || !strings.Contains(got.Raw, e.demo.Name) {
			t.Errorf("mail: %+v", got)
		}
		if tl := timeline(t, staff, o.ID); !strings.Contains(tl, "sent by e-mail to nophone@example.com (no WhatsApp: The customer's phone number is not valid for WhatsApp") {
			t.Errorf("timeline:\n%s", tl)
		}
	})

	t.Run("a channel that is down in Wazzup: e-mail", func(t *testing.T) {
		if err := e.sandboxes.Wazzup.SetChannelState(wazzup.DemoChannelID, wazzup.StatePhoneUnavailable); err != nil {
			t.Fatal(err)
		}
		defer e.sandboxes.Wazzup.SetChannelState(wazzup.DemoChannelID, wazzup.StateActive)
		before := len(e.whatsApps(t))
		o := e.placeOrderWithPhone(t, "+905551112233", "down@example.com")
		e.sendMessages(t, e.demo)
		m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
		if m.Status != model.MessageSent || m.Channel != model.ChannelEmail || len(e.whatsApps(t)) != before {
			t.Errorf("message %+v", m)
		}
		if tl := timeline(t, staff, o.ID); !strings.Contains(tl, "the WhatsApp channel is down in Wazzup (phoneUnavailable)") {
			t.Errorf("timeline:\n%s", tl)
		}
	})

	t.Run("Wazzup failing: e-mail", func(t *testing.T) {
		e.sandboxes.Wazzup.FailNext() // the channels' look-up
		o := e.placeOrderWithPhone(t, "+905551112244", "failing@example.com")
		e.sendMessages(t, e.demo)
		m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
		if m.Status != model.MessageSent || m.Channel != model.ChannelEmail || m.Recipient != "failing@example.com" {
			t.Errorf("message %+v", m)
		}
	})

	t.Run("a WhatsApp send that fails: e-mail in the same try", func(t *testing.T) {
		e.sandboxes.Wazzup.FailNextMessage()
		before := len(e.whatsApps(t))
		o := e.placeOrderWithPhone(t, "+905551112245", "sendfails@example.com")
		e.sendMessages(t, e.demo)
		m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
		if m.Status != model.MessageSent || m.Channel != model.ChannelEmail || m.Attempts != 1 || len(e.whatsApps(t)) != before {
			t.Errorf("message %+v", m)
		}
		if tl := timeline(t, staff, o.ID); !strings.Contains(tl, "sent by e-mail to sendfails@example.com (WhatsApp failed: Wazzup") {
			t.Errorf("timeline:\n%s", tl)
		}
	})
}

func TestFailedMessagesAreRetriedThenDead(t *testing.T) {
	e := newEnv(t)
	staff := e.owner(t)
	// Neither way works: the channel is down and the mail server fails.
	if err := e.sandboxes.Wazzup.SetChannelState(wazzup.DemoChannelID, wazzup.StateDisabled); err != nil {
		t.Fatal(err)
	}
	o := e.placeOrderWithPhone(t, "+905551112255", "retry@example.com")
	e.sandboxes.SMTP.FailNextMail()
	run := e.sendMessages(t, e.demo)
	m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
	if run.Failed != 1 || m.Status != model.MessageFailed || m.Attempts != 1 || !strings.Contains(m.LastError, "temporarily unavailable") ||
		time.Until(m.NextAttemptAt) < 50*time.Second {
		t.Fatalf("after a failed try: run %+v, message %+v", run, m)
	}
	// Not due yet: the next run leaves it.
	if run := e.sendMessages(t, e.demo); run.Processed+run.Failed != 0 {
		t.Errorf("a message was tried before its time: %+v", run)
	}
	// Its seventh failure is not its last; its eighth makes it a dead letter.
	due := func(attempts int) {
		t.Helper()
		if _, err := e.store.DB.W.Exec(`UPDATE outbox SET next_attempt_at = ?, attempts = ? WHERE id = ?`, time.Now().UTC().Add(-time.Second), attempts, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	due(6)
	e.sandboxes.SMTP.FailNextMail()
	e.sendMessages(t, e.demo)
	if m = e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]; m.Status != model.MessageFailed || m.Attempts != 7 {
		t.Fatalf("after 7 tries: %+v", m)
	}
	due(7)
	e.sandboxes.SMTP.FailNextMail()
	e.sendMessages(t, e.demo)
	if m = e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]; m.Status != model.MessageDead || m.Attempts != 8 {
		t.Fatalf("after 8 tries: %+v", m)
	}
	if tl := timeline(t, staff, o.ID); !strings.Contains(tl, "not tried again (dead letter)") {
		t.Errorf("timeline:\n%s", tl)
	}

	// The Messages page shows it among the dead letters, with its error and Retry.
	res, doc := staff.get("/admin/messages?status=dead")
	wantStatus(t, res, http.StatusOK)
	row := doc.Find(`[data-testid="message-row"][data-kind="msg_order_placed"]`)
	if row.Length() != 1 || row.Find(`[data-testid="message-attempts"]`).Text() != "8" ||
		!strings.Contains(row.Find(`[data-testid="message-error"]`).Text(), "temporarily unavailable") || row.Find(`[data-testid="message-retry"]`).Length() != 1 {
		t.Fatalf("dead letters:\n%s", doc.Find(`[data-testid="messages"]`).Text())
	}
	if doc.Find(`[data-testid="message-row"][data-status="sent"]`).Length() != 0 {
		t.Error("the dead filter shows sent messages")
	}
	// htmx gets the table alone.
	res, body := staff.do("GET", "/admin/messages?status=dead", nil, http.Header{"HX-Request": {"true"}})
	if res.StatusCode != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `id="messages-table"`) {
		t.Errorf("htmx answer %d:\n%.300s", res.StatusCode, body)
	}
	if res, _ := staff.get("/admin/messages?status=lost"); res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an unknown status filter: %d", res.StatusCode)
	}

	// Retry, with the channel back: it is sent at once, once.
	if err := e.sandboxes.Wazzup.SetChannelState(wazzup.DemoChannelID, wazzup.StateActive); err != nil {
		t.Fatal(err)
	}
	res, _ = staff.postForm("/admin/messages/"+itoa(m.ID)+"/retry", nil)
	wantStatus(t, res, http.StatusSeeOther)
	m = e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
	if m.Status != model.MessageSent || m.Channel != model.ChannelWhatsApp || m.Attempts != 9 {
		t.Fatalf("after Retry: %+v", m)
	}
	_, doc = staff.get(res.Header.Get("Location"))
	if notice := doc.Find(".notice").Text(); !strings.Contains(notice, "queued again") || !strings.Contains(notice, "1 sent") {
		t.Errorf("notice after Retry: %q", notice)
	}
	if tl := timeline(t, staff, o.ID); !strings.Contains(tl, "queued again") || !strings.Contains(tl, "by staff:owner@demo.test") {
		t.Errorf("timeline:\n%s", tl)
	}
	// A sent message has nothing to retry.
	res, _ = staff.postForm("/admin/messages/"+itoa(m.ID)+"/retry", nil)
	wantStatus(t, res, http.StatusSeeOther)
	_, doc = staff.get(res.Header.Get("Location"))
	if notice := doc.Find(".notice").Text(); !strings.Contains(notice, "only a failed, dead or unknown message can be sent again") {
		t.Errorf("retry of a sent message: %q", notice)
	}
	if n := len(e.whatsApps(t)); n != 1 {
		t.Errorf("%d WhatsApp messages, want 1", n)
	}

	// A permanent refusal of the address is a dead letter at once.
	if err := e.sandboxes.Wazzup.SetChannelState(wazzup.DemoChannelID, wazzup.StateDisabled); err != nil {
		t.Fatal(err)
	}
	o2 := e.placeOrderWithPhone(t, "+905551112266", "nobody@example.com")
	e.sandboxes.SMTP.RejectNextMail()
	e.sendMessages(t, e.demo)
	if m := e.messagesOf(t, e.demo, o2.ID)[model.MsgOrderPlaced]; m.Status != model.MessageDead || m.Attempts != 1 ||
		!strings.Contains(m.LastError, "refused the recipient address nobody@example.com") {
		t.Errorf("a refused address: %+v", m)
	}
}

// crash stops a try after the provider accepted the message and before it
// is recorded, as a killed server would.
type crash struct{}

// crashedRun runs one round of a sender that dies after its first send.
func (e *env) crashedRun(t *testing.T) {
	t.Helper()
	dying := messaging.New(messaging.Config{Store: e.store, Egress: e.policy,
		ShopURL: func(*model.Tenant) string { return e.base }, AfterSend: func(*model.Message) { panic(crash{}) }})
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(crash); !ok {
				panic(p)
			}
		}
	}()
	if _, _, err := dying.SendDue(context.Background(), e.demo, &jobs.Run{}); err != nil {
		t.Fatal(err)
	}
	t.Fatal("the sender did not reach the provider")
}

func TestNothingIsSentTwiceAfterACrash(t *testing.T) {
	e := newEnv(t)
	staff := e.owner(t)

	t.Run("a WhatsApp message is sent again with its crmMessageId: Wazzup sends it once", func(t *testing.T) {
		o := e.placeOrderWithPhone(t, "+905551113311", "crash@example.com")
		e.crashedRun(t)
		if m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]; m.Status != model.MessageSending || len(e.whatsApps(t)) != 1 {
			t.Fatalf("after the crash: %+v", m)
		}
		e.sendMessages(t, e.demo)
		m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
		wa := e.whatsApps(t)
		if m.Status != model.MessageSent || len(wa) != 1 || m.ProviderRef != wa[0].MessageID {
			t.Errorf("after the rerun: %+v, %d WhatsApp messages", m, len(wa))
		}
	})

	t.Run("an e-mail whose try was cut off is not sent blindly again", func(t *testing.T) {
		o := e.placeOrderWithPhone(t, "no phone", "crash-mail@example.com")
		mailsBefore := len(e.mails(t))
		e.crashedRun(t)
		e.sendMessages(t, e.demo)
		m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
		if m.Status != model.MessageUnknown || len(e.mails(t)) != mailsBefore+1 {
			t.Fatalf("after the rerun: %+v, %d mails", m, len(e.mails(t))-mailsBefore)
		}
		if tl := timeline(t, staff, o.ID); !strings.Contains(tl, "The server stopped while sending this message by e-mail") {
			t.Errorf("timeline:\n%s", tl)
		}
		// Another run leaves it to a person.
		e.sendMessages(t, e.demo)
		if n := len(e.mails(t)); n != mailsBefore+1 {
			t.Errorf("%d mails after another run, want %d", n, mailsBefore+1)
		}
		// The page offers Retry for it.
		_, doc := staff.get("/admin/messages?status=unknown")
		if doc.Find(`[data-testid="message-row"] [data-testid="message-retry"]`).Length() != 1 {
			t.Error("no Retry for the unknown message")
		}
	})
}

func TestAnotherShopsMessagesAreUntouchable(t *testing.T) {
	e := newEnv(t)
	o := e.placeOrderWithPhone(t, "+905551114411", "mine@example.com")
	tr := e.tenant(t, "demo-tr")
	// demo-tr's run sends none of demo's messages.
	if run := e.sendMessages(t, tr); run.Processed+run.Failed != 0 {
		t.Errorf("demo-tr's run touched demo's messages: %+v", run)
	}
	m := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]
	if m.Status != model.MessagePending {
		t.Fatalf("demo's message: %+v", m)
	}
	trOwner := e.client(t, "demo-tr.localhost")
	trOwner.login("owner@demo.test", demoPassword)
	res, doc := trOwner.get("/admin/messages?order=" + o.Number)
	wantStatus(t, res, http.StatusOK)
	if doc.Find(`[data-testid="message-row"]`).Length() != 0 {
		t.Error("demo-tr sees demo's messages")
	}
	res, _ = trOwner.postForm("/admin/messages/"+itoa(m.ID)+"/retry", nil)
	wantStatus(t, res, http.StatusNotFound)
	if got := e.messagesOf(t, e.demo, o.ID)[model.MsgOrderPlaced]; got.Status != model.MessagePending || got.Attempts != 0 {
		t.Errorf("demo's message after demo-tr's retry: %+v", got)
	}
	// Staff who are not signed in see nothing.
	res, _ = e.client(t, "").get("/admin/messages")
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous: %d", res.StatusCode)
	}
}
