package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"orderdesk/model"
	"orderdesk/providers/taobao"
)

// Names of the procurement jobs.
const (
	PushOrdersName     = "orders-to-taobao"
	PayPurchasesName   = "pay-purchases"
	SyncStatusName     = "purchase-status"
	RefreshTokensName  = "taobao-tokens"
	defaultConcurrency = 4
	defaultRate        = 50 // calls per second to the platform, per process
	// maxPerRun keeps a run well inside its lease (10 minutes): 20,000 creates
	// at 50 calls a second take under 7 minutes; the rest waits for the next run.
	maxPerRun = 20_000
)

// ErrNoAccount means a tenant has no Taobao account that calls can be made with.
var ErrNoAccount = errors.New("no usable Taobao account: connect or renew one on Procurement → Accounts")

// Procurement buys paid orders from Taobao with the tenant's authorized accounts
// (seed 000): push orders as purchases, pay them from the account's balance, and
// follow their status. The jobs, the CLI and the pages' buttons all use it.
type Procurement struct {
	Store      *model.Store
	HTTPClient *http.Client
	// Concurrency is how many orders are pushed at once (default 4), and Limiter
	// paces every call to the platform (default 50 per second, bursts of 50):
	// the platform's call limits are not published (its gateway answers
	// ApiCallLimit), so the client stays well under the tens of calls per second
	// that IOP gateways usually allow an app, and an ApiCallLimit error costs
	// more than waiting. Four workers keep that pace with ~50 ms answers.
	Concurrency int
	Limiter     *rate.Limiter
	// AfterCreate runs after the platform answered a create and before the answer
	// is recorded; tests use it to kill the process there.
	AfterCreate func(claim *model.PurchaseClaim)
}

func (p *Procurement) limiter() *rate.Limiter {
	if p.Limiter == nil {
		p.Limiter = rate.NewLimiter(defaultRate, defaultRate)
	}
	return p.Limiter
}

// session is one tenant's connection to Taobao through one account.
type session struct {
	p      *Procurement
	t      *model.Tenant
	acct   *model.TaobaoAccount
	client *taobao.Client
	mu     sync.Mutex
	tok    model.AccountTokens
	lost   error // set when the account's session ended during the run
}

// session opens the tenant's Taobao connection with its best account: the usable
// one whose session lasts longest.
func (p *Procurement) session(ctx context.Context, t *model.Tenant) (*session, error) {
	in, err := p.Store.UsableIntegration(ctx, t.ID, model.ProviderTaobao)
	if errors.Is(err, model.ErrNotFound) {
		return nil, fmt.Errorf("%w (the shop has no Taobao integration in test or live mode)", ErrNoAccount)
	} else if err != nil {
		return nil, err
	}
	accounts, err := p.Store.FindTaobaoAccounts(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	now := p.Store.Now()
	var best *model.TaobaoAccount
	var waiting []string
	for _, a := range accounts {
		if a.IntegrationID != in.ID {
			continue
		}
		if !a.Usable(now) {
			waiting = append(waiting, a.Account)
			continue
		}
		if best == nil || a.RefreshExpiresAt.After(best.RefreshExpiresAt) {
			best = a
		}
	}
	if best == nil {
		if len(waiting) > 0 {
			return nil, fmt.Errorf("%w (%s needs authorization)", ErrNoAccount, strings.Join(waiting, ", "))
		}
		return nil, ErrNoAccount
	}
	sec, err := p.Store.OpenIntegrationSecrets(ctx, t.ID, in.ID)
	if err != nil {
		return nil, err
	}
	tok, err := p.Store.OpenAccountTokens(ctx, best)
	if err != nil {
		return nil, err
	}
	c := taobao.New(taobao.Config{BaseURL: in.Endpoint(), AppKey: sec.APIKey, AppSecret: sec.APISecret, HTTPClient: p.HTTPClient, Now: p.Store.Now})
	return &session{p: p, t: t, acct: best, client: c, tok: tok}, nil
}

// refreshMargin: an access token this close to its end is refreshed first.
const refreshMargin = time.Hour

// call runs fn with a fresh access token: refreshed before it expires, and
// refreshed once and retried when the platform says it expired anyway.
func (s *session) call(ctx context.Context, fn func(token string) error) error {
	token, err := s.token(ctx, false)
	if err != nil {
		return err
	}
	if err := s.p.limiter().Wait(ctx); err != nil {
		return err
	}
	err = fn(token)
	if !taobao.IsTokenExpired(err) {
		return err
	}
	if token, err = s.token(ctx, true); err != nil {
		return err
	}
	if err := s.p.limiter().Wait(ctx); err != nil {
		return err
	}
	return fn(token)
}

// token returns a usable access token, refreshing it when near its end (or when
// force). When the refresh token is dead too, the account needs authorization.
func (s *session) token(ctx context.Context, force bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.p.Store.Now()
	if !force && now.Add(refreshMargin).Before(s.tok.AccessExpiresAt) {
		return s.tok.AccessToken, nil
	}
	if err := s.p.limiter().Wait(ctx); err != nil {
		return "", err
	}
	fresh, err := s.client.RefreshToken(ctx, s.tok.RefreshToken)
	if err != nil {
		if taobao.NeedsReauthorization(err) || taobao.IsTokenExpired(err) || !now.Before(s.tok.RefreshExpiresAt) {
			reason := "The Taobao session of " + s.acct.Account + " has ended: renew it on Procurement → Accounts."
			s.lost = fmt.Errorf("%w (%s needs authorization)", ErrNoAccount, s.acct.Account)
			if merr := s.p.Store.MarkAccountNeedsAuthorization(ctx, s.t.ID, s.acct.ID, reason); merr != nil {
				return "", errors.Join(s.lost, merr)
			}
			return "", s.lost
		}
		return "", err
	}
	s.tok.AccessToken, s.tok.AccessExpiresAt = fresh.AccessToken, fresh.AccessExpiresAt
	if fresh.RefreshToken != "" {
		s.tok.RefreshToken, s.tok.RefreshExpiresAt = fresh.RefreshToken, fresh.RefreshExpiresAt
	}
	if err := s.p.Store.UpdateAccessToken(ctx, s.t.ID, s.acct.ID, s.tok); err != nil {
		return "", err
	}
	return s.tok.AccessToken, nil
}

// PushOrders sends the shop's paid orders whose procurement is pending (or the
// one order of the shop) to Taobao as purchases. It fails as a whole when it
// cannot run at all (no usable account) or when the session ended before any
// order could be bought.
func (p *Procurement) PushOrders(ctx context.Context, t *model.Tenant, run *Run, orderID int64) error {
	ids := []int64{orderID}
	if orderID == 0 {
		var err error
		if ids, err = p.Store.FindOrdersToPurchase(ctx, t.ID, maxPerRun); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
	} else {
		if _, err := p.Store.FindOrderByID(ctx, t.ID, orderID); err != nil {
			return fmt.Errorf("order %d: %w", orderID, err) // another shop's order is not found
		}
		if err := p.Store.ClearProcurementErrors(ctx, t, orderID, model.JobActor(PushOrdersName)); err != nil {
			return err
		}
	}
	s, err := p.session(ctx, t)
	if err != nil {
		run.Logf("skipped %d orders: %v", len(ids), err)
		return err
	}
	before := run.Processed
	p.parallel(ctx, ids, func(id int64) { s.pushOne(ctx, run, id) })
	if s.lost != nil && run.Processed == before {
		// The session ended during the run: nothing could be bought.
		return s.lost
	}
	return nil
}

// parallel runs fn over ids with the configured concurrency.
func (p *Procurement) parallel(ctx context.Context, ids []int64, fn func(int64)) {
	n := p.Concurrency
	if n <= 0 {
		n = defaultConcurrency
	}
	work := make(chan int64)
	var wg sync.WaitGroup
	for i := 0; i < min(n, len(ids)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				fn(id)
			}
		}()
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
}

func (r *Run) add(ok bool, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.Processed++
	} else {
		r.Failed++
	}
	r.Logf(format, args...)
}

func (s *session) pushOne(ctx context.Context, run *Run, orderID int64) {
	actor := model.JobActor(PushOrdersName)
	claim, err := s.p.Store.ClaimOrderForPurchase(ctx, s.t, orderID)
	if err != nil {
		run.add(false, "✗ Order %d: %v", orderID, err)
		return
	}
	var missing []string
	var missingIDs []int64
	for _, l := range claim.Lines {
		if l.ProviderSKUID == "" || l.ProviderItemID == "" {
			missing = append(missing, l.Title)
			missingIDs = append(missingIDs, l.LineID)
		}
	}
	if len(missing) > 0 {
		msg := "Product missing SKU: " + strings.Join(missing, ", ")
		if err := s.p.Store.RecordProcurementError(ctx, s.t, orderID, missingIDs, msg, actor); err != nil {
			run.add(false, "✗ Order %d (%s): %s; nothing was sent, and the error could not be recorded on the order: %v", orderID, claim.OrderNumber, msg, err)
			return
		}
		run.add(false, "✗ Order %d (%s): %s; nothing was sent", orderID, claim.OrderNumber, msg)
		return
	}
	if len(claim.Lines) == 0 {
		run.add(false, "✗ Order %d (%s): no line left to buy", orderID, claim.OrderNumber)
		return
	}
	var created []model.CreatedPurchase
	if claim.Resumed {
		// A run before us may have bought it and died before recording it.
		var found *taobao.PurchaseQueryResult
		err := s.call(ctx, func(tok string) (err error) {
			found, err = s.client.QueryPurchaseOrders(ctx, tok, taobao.PurchaseQuery{OuterPurchaseID: claim.OuterID})
			return err
		})
		if err != nil {
			s.fail(ctx, run, claim, err)
			return
		}
		for _, po := range found.Orders {
			created = append(created, fromQueried(po, claim))
		}
	}
	resumed := len(created) > 0
	if !resumed {
		req := taobao.PurchaseOrderRequest{OuterPurchaseID: claim.OuterID, OrderRemark: "OrderDesk " + claim.OrderNumber,
			Receiver: taobao.Address{Name: strings.TrimSpace(claim.Address.FirstName + " " + claim.Address.LastName), Phone: claim.Address.Telephone,
				MobilePhone: claim.Address.Telephone, Country: claim.Address.Country, State: claim.Address.State, City: claim.Address.City,
				Address: strings.TrimSpace(claim.Address.Street1 + " " + claim.Address.Street2), Zip: claim.Address.Zip}}
		for _, l := range claim.Lines {
			req.Lines = append(req.Lines, taobao.OrderLine{ItemID: l.ProviderItemID, SKUID: l.ProviderSKUID, Quantity: l.Quantity,
				PriceFen: l.CostFen, OrderLineNo: strconv.FormatInt(l.LineID, 10), Title: l.Title})
		}
		var res *taobao.PurchaseOrderResult
		err := s.call(ctx, func(tok string) (err error) {
			res, err = s.client.CreatePurchaseOrder(ctx, tok, req)
			return err
		})
		if err != nil {
			s.fail(ctx, run, claim, err)
			return
		}
		if s.p.AfterCreate != nil {
			s.p.AfterCreate(claim)
		}
		for _, cp := range res.Orders {
			created = append(created, fromCreated(cp, claim))
		}
	}
	if len(created) == 0 {
		run.add(false, "✗ Order %d (%s): Taobao answered without a purchase", orderID, claim.OrderNumber)
		return
	}
	assignUnmatched(created, claim)
	if err := s.p.Store.RecordPurchases(ctx, s.t, claim, s.acct.ID, created, actor); err != nil {
		run.add(false, "✗ Order %d (%s): %v", orderID, claim.OrderNumber, err)
		return
	}
	ids := make([]string, len(created))
	for i, c := range created {
		ids[i] = c.PurchaseID
	}
	note := ""
	if resumed {
		note = " (found at Taobao after an interrupted run)"
	}
	run.add(true, "✓ Order %d (%s) processed successfully%s — Purchase ID: %s", orderID, claim.OrderNumber, note, strings.Join(ids, ", "))
}

// fail records a failed call: a permanent refusal on the order in words (a
// person must act), a temporary one only in the run (the next run retries).
func (s *session) fail(ctx context.Context, run *Run, claim *model.PurchaseClaim, err error) {
	msg := taobao.Explain(err)
	if errors.Is(err, ErrNoAccount) {
		msg = err.Error()
	}
	if errors.Is(err, ErrNoAccount) || taobao.IsTemporary(err) || ctx.Err() != nil {
		run.add(false, "✗ Order %d (%s): %s (will retry)", claim.OrderID, claim.OrderNumber, msg)
		return
	}
	var te *taobao.Error
	if errors.As(err, &te) && te.Code != "" && !strings.Contains(msg, te.Code) {
		msg = te.Code + ": " + msg
	}
	if err := s.p.Store.RecordProcurementError(ctx, s.t, claim.OrderID, nil, msg, model.JobActor(PushOrdersName)); err != nil {
		run.add(false, "✗ Order %d (%s): %s (not recorded on the order: %v)", claim.OrderID, claim.OrderNumber, msg, err)
		return
	}
	run.add(false, "✗ Order %d (%s): %s", claim.OrderID, claim.OrderNumber, msg)
}

func fromCreated(cp taobao.CreatedPurchase, claim *model.PurchaseClaim) model.CreatedPurchase {
	out := model.CreatedPurchase{PurchaseID: strconv.FormatInt(cp.PurchaseID, 10), Supplier: cp.SupplierNick, AmountFen: cp.EstimateAmountFen,
		StatusRaw: taobao.StatusWaitBuyerPay}
	for _, l := range cp.Lines {
		if id, err := strconv.ParseInt(l.OrderLineNo, 10, 64); err == nil {
			out.LineIDs = append(out.LineIDs, id)
		}
	}
	return out
}

func fromQueried(po taobao.PurchaseOrder, claim *model.PurchaseClaim) model.CreatedPurchase {
	out := model.CreatedPurchase{PurchaseID: strconv.FormatInt(po.PurchaseID, 10), Supplier: po.SupplierNick, AmountFen: po.PurchaseAmountFen, StatusRaw: po.Status}
	for _, sub := range po.SubOrders {
		for _, l := range claim.Lines {
			if l.ProviderSKUID == sub.SKUID && !slices.Contains(out.LineIDs, l.LineID) {
				out.LineIDs = append(out.LineIDs, l.LineID)
			}
		}
	}
	return out
}

// assignUnmatched gives the lines the platform's answer did not name to the
// first purchase, so that no line stays pending behind a purchase.
func assignUnmatched(created []model.CreatedPurchase, claim *model.PurchaseClaim) {
	named := map[int64]bool{}
	for _, c := range created {
		for _, id := range c.LineIDs {
			named[id] = true
		}
	}
	for _, l := range claim.Lines {
		if !named[l.LineID] {
			created[0].LineIDs = append(created[0].LineIDs, l.LineID)
		}
	}
}

// PayPurchases pays the shop's created purchases (or the order's) from the
// account's balance. A failure such as INSUFFICIENT_BALANCE_FOR_PAYMENT is
// recorded on the purchase and its orders in words; the status stays.
func (p *Procurement) PayPurchases(ctx context.Context, t *model.Tenant, run *Run, orderID int64) error {
	if orderID != 0 {
		if _, err := p.Store.FindOrderByID(ctx, t.ID, orderID); err != nil {
			return fmt.Errorf("order %d: %w", orderID, err)
		}
	}
	list, err := p.Store.FindPurchases(ctx, t.ID, model.PurchaseFilter{Stages: []model.ProcurementStatus{model.ProcCreated}, OrderID: orderID, Limit: maxPerRun})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		if orderID != 0 {
			run.Logf("Order %d has no purchase waiting to be paid", orderID)
		}
		return nil
	}
	s, err := p.session(ctx, t)
	if err != nil {
		run.Logf("skipped %d purchases: %v", len(list), err)
		return err
	}
	before := run.Processed
	byID := map[int64]*model.Purchase{}
	var ids []int64
	for _, pu := range list {
		id, err := strconv.ParseInt(pu.PurchaseID, 10, 64)
		if err != nil {
			continue
		}
		byID[id] = pu
		ids = append(ids, id)
	}
	// Batches of the platform's maximum (10), a few at a time.
	var batches [][]int64
	for len(ids) > 0 {
		n := min(taobao.MaxPayBatch, len(ids))
		batches, ids = append(batches, ids[:n]), ids[n:]
	}
	idx := make([]int64, len(batches))
	for i := range idx {
		idx[i] = int64(i)
	}
	p.parallel(ctx, idx, func(i int64) { s.payBatch(ctx, run, batches[i], byID) })
	if s.lost != nil && run.Processed == before {
		return s.lost
	}
	return nil
}

func (s *session) payBatch(ctx context.Context, run *Run, ids []int64, byID map[int64]*model.Purchase) {
	actor := model.JobActor(PayPurchasesName)
	var res *taobao.PayResult
	err := s.call(ctx, func(tok string) (err error) {
		res, err = s.client.PayPurchaseOrders(ctx, tok, ids)
		return err
	})
	if err != nil {
		for _, id := range ids {
			run.add(false, "⚠️ Payment failed for purchase %d (%s): %s", id, orders(byID[id]), taobao.Explain(err))
		}
		return
	}
	for _, f := range res.Failures {
		pu := byID[f.PurchaseID]
		if pu == nil {
			continue
		}
		msg := f.Code + ": " + taobao.Explain(f.Err())
		if err := s.p.Store.ApplyPurchaseState(ctx, s.t, pu.PurchaseID, "", "", "", msg, actor); err != nil {
			run.add(false, "⚠️ Payment failed: %s (purchase %s, %s; not recorded on the purchase: %v)", f.Code, pu.PurchaseID, orders(pu), err)
			continue
		}
		run.add(false, "⚠️ Payment failed: %s (purchase %s, %s)", f.Code, pu.PurchaseID, orders(pu))
	}
	if len(res.WillPay) == 0 {
		return
	}
	// Paying is asynchronous on the platform: the query says when it is paid.
	var q *taobao.PurchaseQueryResult
	err = s.call(ctx, func(tok string) (err error) {
		q, err = s.client.QueryPurchaseOrders(ctx, tok, taobao.PurchaseQuery{PurchaseIDs: res.WillPay, PageSize: len(res.WillPay)})
		return err
	})
	if err != nil {
		for _, id := range res.WillPay {
			run.add(true, "✓ Payment accepted for purchase %d (%s); its status comes with the next sync", id, orders(byID[id]))
		}
		return
	}
	for _, po := range q.Orders {
		pu := byID[po.PurchaseID]
		if pu == nil {
			continue
		}
		stage := model.ProcurementStatus(po.Stage())
		if err := s.p.Store.ApplyPurchaseState(ctx, s.t, pu.PurchaseID, po.Status, stage, firstTrack(po), "", actor); err != nil {
			// Paid at Taobao: the next status sync records it.
			run.add(true, "✓ Payment successful: purchase %s (%s); recording it failed (%v), the next sync will", pu.PurchaseID, orders(pu), err)
			continue
		}
		run.add(true, "✓ Payment successful: purchase %s (%s) → %s", pu.PurchaseID, orders(pu), stage)
	}
}

func orders(p *model.Purchase) string {
	if p == nil {
		return "unknown order"
	}
	return "order " + strings.Join(p.OrderNums, ", ")
}

func firstTrack(po taobao.PurchaseOrder) string {
	for _, l := range po.Logistics() {
		if l.Number != "" {
			return l.Number
		}
	}
	return ""
}

// SyncStatuses asks the platform about the shop's open purchases (or one
// purchase, or one order's) and records status and the supplier's tracking
// number.
func (p *Procurement) SyncStatuses(ctx context.Context, t *model.Tenant, run *Run, purchaseID string, orderID int64) error {
	if orderID != 0 {
		if _, err := p.Store.FindOrderByID(ctx, t.ID, orderID); err != nil {
			return fmt.Errorf("order %d: %w", orderID, err)
		}
	}
	f := model.PurchaseFilter{PurchaseID: purchaseID, OrderID: orderID, Limit: maxPerRun}
	if purchaseID == "" {
		f.Stages = []model.ProcurementStatus{model.ProcCreated, model.ProcPaid, model.ProcShipped}
	}
	list, err := p.Store.FindPurchases(ctx, t.ID, f)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		if purchaseID != "" {
			return fmt.Errorf("purchase %s: %w", purchaseID, model.ErrNotFound) // another shop's purchase is not found
		}
		return nil
	}
	s, err := p.session(ctx, t)
	if err != nil {
		run.Logf("skipped %d purchases: %v", len(list), err)
		return err
	}
	before := run.Processed
	for start := 0; start < len(list) && s.lost == nil; start += 20 {
		batch := list[start:min(start+20, len(list))]
		s.syncBatch(ctx, run, batch)
	}
	if s.lost != nil && run.Processed == before {
		return s.lost
	}
	return nil
}

func (s *session) syncBatch(ctx context.Context, run *Run, batch []*model.Purchase) {
	actor := model.JobActor(SyncStatusName)
	byID := map[int64]*model.Purchase{}
	var ids []int64
	for _, pu := range batch {
		if id, err := strconv.ParseInt(pu.PurchaseID, 10, 64); err == nil {
			byID[id] = pu
			ids = append(ids, id)
		}
	}
	var q *taobao.PurchaseQueryResult
	err := s.call(ctx, func(tok string) (err error) {
		q, err = s.client.QueryPurchaseOrders(ctx, tok, taobao.PurchaseQuery{PurchaseIDs: ids, PageSize: len(ids)})
		return err
	})
	if err != nil {
		for _, pu := range batch {
			run.add(false, "✗ Purchase %s (%s): %s", pu.PurchaseID, orders(pu), taobao.Explain(err))
		}
		return
	}
	seen := map[int64]bool{}
	for _, po := range q.Orders {
		pu := byID[po.PurchaseID]
		if pu == nil {
			continue
		}
		seen[po.PurchaseID] = true
		stage := model.ProcurementStatus(po.Stage())
		track := firstTrack(po)
		if err := s.p.Store.ApplyPurchaseState(ctx, s.t, pu.PurchaseID, po.Status, stage, track, pu.Error, actor); err != nil {
			run.add(false, "✗ Purchase %s (%s): %v", pu.PurchaseID, orders(pu), err)
			continue
		}
		line := fmt.Sprintf("✓ Purchase %s (%s): %s", pu.PurchaseID, orders(pu), po.Status)
		if track != "" {
			line += ", supplier track " + track
		}
		run.add(true, "%s", line)
	}
	for id, pu := range byID {
		if !seen[id] {
			// The query does not know it (seed 000 calls the query experimental):
			// updates then come only by push.
			msg := "Taobao's order query does not report this purchase; its status will come by push notification."
			if err := s.p.Store.ApplyPurchaseState(ctx, s.t, pu.PurchaseID, "", "", "", msg, actor); err != nil {
				run.add(false, "✗ Purchase %s (%s): %s (not recorded on the purchase: %v)", pu.PurchaseID, orders(pu), msg, err)
				continue
			}
			run.add(false, "✗ Purchase %s (%s): %s", pu.PurchaseID, orders(pu), msg)
		}
	}
}

// RefreshTokens refreshes the shop's access tokens that end within two hours
// while their refresh token lives; an account whose session is over becomes
// "needs authorization" (the operators renew it by the redirect).
func (p *Procurement) RefreshTokens(ctx context.Context, t *model.Tenant, run *Run) error {
	now := p.Store.Now()
	accounts, err := p.Store.FindTaobaoAccounts(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if a.Status != model.AccountActive {
			continue
		}
		if !now.Before(a.RefreshExpiresAt) {
			if err := p.Store.MarkAccountNeedsAuthorization(ctx, t.ID, a.ID, "The Taobao session of "+a.Account+" has ended: renew it on Procurement → Accounts."); err != nil {
				return err
			}
			run.add(false, "%s needs authorization", a.Account)
			continue
		}
		if now.Add(2 * time.Hour).Before(a.AccessExpiresAt) {
			continue
		}
		in, err := p.Store.FindIntegrationByID(ctx, t.ID, a.IntegrationID)
		if err != nil {
			return err
		}
		sec, err := p.Store.OpenIntegrationSecrets(ctx, t.ID, in.ID)
		if err != nil {
			return err
		}
		tok, err := p.Store.OpenAccountTokens(ctx, a)
		if err != nil {
			return err
		}
		s := &session{p: p, t: t, acct: a, tok: tok,
			client: taobao.New(taobao.Config{BaseURL: in.Endpoint(), AppKey: sec.APIKey, AppSecret: sec.APISecret, HTTPClient: p.HTTPClient, Now: p.Store.Now})}
		if _, err := s.token(ctx, true); err != nil {
			run.add(false, "%s: %v", a.Account, err)
			continue
		}
		run.add(true, "refreshed the access token of %s", a.Account)
	}
	return nil
}

// Jobs are the procurement jobs for the scheduler, each run for one shop.
func (p *Procurement) Jobs() []*Job {
	return []*Job{
		{Name: PushOrdersName, Interval: time.Minute, Run: func(ctx context.Context, t *model.Tenant, r *Run) error { return p.PushOrders(ctx, t, r, 0) }},
		{Name: PayPurchasesName, Interval: time.Minute, Run: func(ctx context.Context, t *model.Tenant, r *Run) error { return p.PayPurchases(ctx, t, r, 0) }},
		{Name: SyncStatusName, Interval: 2 * time.Minute, Run: func(ctx context.Context, t *model.Tenant, r *Run) error { return p.SyncStatuses(ctx, t, r, "", 0) }},
		{Name: RefreshTokensName, Interval: 10 * time.Minute, Run: p.RefreshTokens},
	}
}

// PushOrder, PayOrder and SyncOrder run one step for one order of the shop now
// (the buttons of the procurement page) and return the run's lines.
func (p *Procurement) PushOrder(ctx context.Context, t *model.Tenant, orderID int64) ([]string, error) {
	r := &Run{}
	err := p.PushOrders(ctx, t, r, orderID)
	return r.Messages, err
}

// PayOrder pays the order's created purchases now.
func (p *Procurement) PayOrder(ctx context.Context, t *model.Tenant, orderID int64) ([]string, error) {
	r := &Run{}
	err := p.PayPurchases(ctx, t, r, orderID)
	return r.Messages, err
}

// SyncOrder fetches the status of the order's purchases now.
func (p *Procurement) SyncOrder(ctx context.Context, t *model.Tenant, orderID int64) ([]string, error) {
	r := &Run{}
	err := p.SyncStatuses(ctx, t, r, "", orderID)
	return r.Messages, err
}

// SyncPurchase fetches one of the shop's purchases' status now (a push said it
// changed).
func (p *Procurement) SyncPurchase(ctx context.Context, t *model.Tenant, purchaseID string) ([]string, error) {
	r := &Run{}
	err := p.SyncStatuses(ctx, t, r, purchaseID, 0)
	return r.Messages, err
}
