package sandboxkit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"orderdesk/providers/internal/wire"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// ErrNoNotification is Outbox.Latest's answer when nothing was sent about
// the record.
var ErrNoNotification = errors.New("no notification was sent about it")

// Outbox is a sandbox's table of the notifications (webhooks, callbacks,
// IPNs, pushes) it sent or tried to send to the shop: every attempt is
// recorded on its row, and what the shop did not get is sent again, byte
// for byte, by ResendPending.
//
// The table has at least the columns id (INTEGER PRIMARY KEY), the Key
// column, url (or URLColumn), body, attempts, delivered, last_error and
// last_attempt_at; AddColumn adds the last one to older tables.
type Outbox struct {
	DB    *sql.DB
	Table string
	// Key is the column naming what a notification is about (payment_id,
	// order_uuid…).
	Key string
	// URLColumn is the column of the shop's URL ("url" when empty).
	URLColumn string
	// Lock, when not nil, is held while an attempt is recorded: the
	// sandbox's write lock. It is never held while the shop is called,
	// because the shop may call the sandbox back from its handler.
	Lock sync.Locker
	// Now is the sandbox clock.
	Now func() time.Time
}

// Deliver sends notification id with send and records the attempt. It
// returns send's error (the shop did not get it) joined with a failure to
// record it.
func (o *Outbox) Deliver(ctx context.Context, id int64, send func(ctx context.Context, url string, body []byte) error) error {
	col := o.URLColumn
	if col == "" {
		col = "url"
	}
	var u, body string
	if err := o.DB.QueryRowContext(ctx, `SELECT `+col+`, body FROM `+o.Table+` WHERE id = ?`, id).Scan(&u, &body); err != nil {
		return fmt.Errorf("notification %d: %w", id, err)
	}
	return o.Record(ctx, id, send(ctx, u, []byte(body)))
}

// Record stores the outcome of one attempt to deliver notification id
// (sendErr nil: the shop got it) and returns sendErr joined with a failure
// to store it. A notification the shop once got stays delivered when a
// resend of it fails. The record is written even when ctx has ended, so a
// request that went away still leaves its attempt behind.
func (o *Outbox) Record(ctx context.Context, id int64, sendErr error) error {
	msg := ""
	if sendErr != nil {
		msg = sendErr.Error()
	}
	if o.Lock != nil {
		o.Lock.Lock()
		defer o.Lock.Unlock()
	}
	_, err := o.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE `+o.Table+`
		SET attempts = attempts + 1, delivered = MAX(delivered, ?), last_error = ?, last_attempt_at = ? WHERE id = ?`,
		sendErr == nil, msg, o.Now().UTC().Format(time.RFC3339Nano), id)
	if err != nil {
		err = fmt.Errorf("record the attempt: %w", err)
	}
	return errors.Join(sendErr, err)
}

// Pending returns the notifications the shop has not got yet, oldest first.
func (o *Outbox) Pending(ctx context.Context) ([]int64, error) {
	rows, err := o.DB.QueryContext(ctx, `SELECT id FROM `+o.Table+` WHERE delivered = 0 ORDER BY id`)
	return sandboxdb.Collect(rows, err, sandboxdb.Column[int64])
}

// Latest returns the newest notification about key, or ErrNoNotification.
func (o *Outbox) Latest(ctx context.Context, key any) (int64, error) {
	var id int64
	err := o.DB.QueryRowContext(ctx, `SELECT id FROM `+o.Table+` WHERE `+o.Key+` = ? ORDER BY id DESC LIMIT 1`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoNotification
	}
	return id, err
}

// Tally counts the notifications about key the shop got and those it has
// not got yet, for the control page.
func (o *Outbox) Tally(ctx context.Context, key any) (sent, pending int, err error) {
	err = o.DB.QueryRowContext(ctx, `SELECT COALESCE(SUM(delivered <> 0), 0), COALESCE(SUM(delivered = 0), 0)
		FROM `+o.Table+` WHERE `+o.Key+` = ?`, key).Scan(&sent, &pending)
	return sent, pending, err
}

// ResendPending delivers every notification the shop has not got yet,
// oldest first, with deliver. It returns how many the shop got now, and
// the first failure (each is also recorded on its row).
func (o *Outbox) ResendPending(ctx context.Context, deliver func(context.Context, int64) error) (int, error) {
	ids, err := o.Pending(ctx)
	if err != nil {
		return 0, err
	}
	return DeliverEach(ctx, ids, deliver)
}

// DeliverEach delivers ids in order, going on after a failure; it returns
// how many the shop got and the first failure.
func DeliverEach(ctx context.Context, ids []int64, deliver func(context.Context, int64) error) (int, error) {
	sent := 0
	var first error
	for _, id := range ids {
		if err := deliver(ctx, id); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		sent++
	}
	return sent, first
}

// AddColumn adds column (with its declaration) to table when an older
// sandbox database lacks it.
func AddColumn(db *sql.DB, table, column, decl string) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := db.Exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + column + ` ` + decl)
	return err
}

// Post sends one notification to the shop: a POST of body to target with
// header, and the shop's answer (its first 64 KiB) judged by accept.
func Post(ctx context.Context, hc *http.Client, target string, header http.Header, body []byte, accept func(status int, answer []byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	answer, err := httpbody.ReadAndClose(resp, 64<<10)
	if err != nil {
		return fmt.Errorf("read the shop's answer: %w", err)
	}
	return accept(resp.StatusCode, answer)
}

// JSON is the header of a JSON notification.
func JSON() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// Accept2xx takes any 2xx answer as received.
func Accept2xx(status int, answer []byte) error {
	if status < 200 || status > 299 {
		return answered(status, answer)
	}
	return nil
}

// Accept200 takes only HTTP 200 as received.
func Accept200(status int, answer []byte) error {
	if status != http.StatusOK {
		return answered(status, answer)
	}
	return nil
}

func answered(status int, answer []byte) error {
	return fmt.Errorf("the shop answered HTTP %d %q", status, wire.Snippet(answer))
}

// Tallied is a record of a control page with the tally of the
// notifications the shop got about it and those still pending.
type Tallied[R any] struct {
	Record        R
	Sent, Pending int
}

// TallyAll tallies the notifications of each record, named in the outbox by
// key, for the control page. On a failure it returns what it read so far.
func TallyAll[R any](ctx context.Context, o *Outbox, records []R, key func(R) any) ([]Tallied[R], error) {
	rows := make([]Tallied[R], 0, len(records))
	for _, rec := range records {
		row := Tallied[R]{Record: rec}
		var err error
		if row.Sent, row.Pending, err = o.Tally(ctx, key(rec)); err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Notifier is a sandbox that notifies the shop, as its control page's
// notification buttons call it.
type Notifier interface {
	ResendNotifications(ctx context.Context) (int, error)
	ResendNotification(ctx context.Context, id string) error
	SendNotification(ctx context.Context, id, status string) error
}

// NotifyAction runs the control page's notification buttons: resend every
// pending notification, resend the last one about the record whose id is in
// the form's idField, or send one with a chosen status. It reports false for
// any other action. A delivery that fails is not the form's error: it is
// recorded on its notification, which the page then shows as pending — as
// the provider itself would retry later.
func NotifyAction(r *http.Request, n Notifier, idField string) bool {
	ctx, id := r.Context(), r.FormValue(idField)
	switch r.FormValue("action") {
	case "resend_pending":
		_, _ = n.ResendNotifications(ctx)
	case "resend":
		_ = n.ResendNotification(ctx, id)
	case "send":
		_ = n.SendNotification(ctx, id, r.FormValue("status"))
	default:
		return false
	}
	return true
}
