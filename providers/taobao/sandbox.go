package taobao

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/sandboxkit"
	"strconv"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// Demo credentials and accounts the sandbox accepts by default.
const (
	DemoAppKey    = "500123"
	DemoAppSecret = "sandbox-taobao-secret"
	DemoAppName   = "OrderDesk (sandbox)"
	DemoAccount1  = "demo-buyer-1"
	DemoAccount2  = "demo-buyer-2"
	// DemoBalanceFen is each demo account's starting balance: 1,000,000.00 CNY.
	DemoBalanceFen int64 = 100_000_000
)

// DemoItem is one product variant of the sandbox catalogue; the app's demo
// shop uses these ids so its purchases succeed.
type DemoItem struct {
	ItemID   string
	SKUID    string
	Title    string
	PriceFen int64
	// Supplier is the Taobao shop; a purchase is split per supplier, as
	// order_list in the real create answer suggests.
	Supplier string
	// Market is "taobao" or "tmall" (source_market).
	Market string
}

// DemoItems is the sandbox catalogue: six Taobao items from two shops and one
// Tmall item.
var DemoItems = []DemoItem{
	{ItemID: "652871233140", SKUID: "4893019283744", Title: "Cotton T-shirt, white, size M", PriceFen: 3900, Supplier: "demo-shop-apparel", Market: "taobao"},
	{ItemID: "652871233141", SKUID: "4893019283745", Title: "Denim jacket, blue, size L", PriceFen: 15900, Supplier: "demo-shop-apparel", Market: "taobao"},
	{ItemID: "652871233142", SKUID: "4893019283746", Title: "Canvas tote bag, beige", PriceFen: 2500, Supplier: "demo-shop-apparel", Market: "taobao"},
	{ItemID: "701245560311", SKUID: "5012238871101", Title: "Ceramic tea set, 6 cups", PriceFen: 8800, Supplier: "demo-shop-home", Market: "taobao"},
	{ItemID: "701245560312", SKUID: "5012238871102", Title: "Bamboo phone stand", PriceFen: 1200, Supplier: "demo-shop-home", Market: "taobao"},
	{ItemID: "701245560313", SKUID: "5012238871103", Title: "LED desk lamp, USB", PriceFen: 6500, Supplier: "demo-shop-home", Market: "taobao"},
	{ItemID: "612093384455", SKUID: "4421097735501", Title: "Wireless earbuds (Tmall official store)", PriceFen: 19900, Supplier: "tmall-demo-official", Market: "tmall"},
}

// SandboxConfig configures NewSandbox. Zero values take the defaults named on
// each field.
type SandboxConfig struct {
	// AppKey and AppSecret of the one app the sandbox knows (DemoAppKey,
	// DemoAppSecret).
	AppKey    string
	AppSecret string
	// AppName is shown on the authorization page (DemoAppName).
	AppName string
	// BaseURL is where the sandbox is mounted, e.g.
	// "http://localhost:8080/sandbox/taobao"; used for links. Settable later with
	// SetBaseURL.
	BaseURL string
	// Accounts are the demo buyer accounts (DemoAccount1, DemoAccount2), each
	// created with InitialBalanceFen (DemoBalanceFen) on first start.
	Accounts          []string
	InitialBalanceFen int64
	// Items is the catalogue (DemoItems).
	Items []DemoItem
	// AccessTokenTTL (24h) and RefreshTokenTTL (48h): seed 002 says Taobao
	// sessions live "about a day"; operators renew every morning.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// CodeTTL is the lifetime of an authorization code (10 minutes).
	CodeTTL time.Duration
	// PushURL, when set, receives signed message_type 3 pushes on each status
	// change after creation.
	PushURL string
	// Latency delays every API answer (0).
	Latency time.Duration
	// AutoShipAfter ships a paid purchase after this long, AutoCompleteAfter
	// completes a shipped one (0 = never; off in tests). Applied by Advance,
	// which runs before each API call and from Run.
	AutoShipAfter     time.Duration
	AutoCompleteAfter time.Duration
	// Now is the sandbox clock (time.Now); tests inject a fake one.
	Now func() time.Time
	// HTTPClient delivers pushes (10 s timeout).
	HTTPClient *http.Client
}

// Sandbox plays the Taobao Global gateway and OAuth page over SQLite state.
// Mount it with http.StripPrefix("/sandbox/taobao", sb); the gateway lives
// under /rest, the OAuth page at /oauth/authorize, the control page at /.
type Sandbox struct {
	sandboxkit.Board // SetBaseURL, BaseURL, SetLatency, Latency

	failNext       sandboxkit.Count
	unknownSKUNext sandboxkit.Count

	db    *sql.DB
	cfg   SandboxConfig
	items map[string][]DemoItem // by item id
	now   func() time.Time
	httpc *http.Client

	// mu serializes every state change and the reads that decide them, so two
	// requests cannot both pass an idempotency or balance check; it also keeps
	// this sandbox from racing itself for SQLite's write lock.
	mu           sync.Mutex
	pushURL      string
	autoShip     time.Duration
	autoComplete time.Duration
}

const sandboxSchema = `
CREATE TABLE IF NOT EXISTS taobao_accounts (
	account     TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	balance_fen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS taobao_auth_codes (
	code         TEXT PRIMARY KEY,
	account      TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	expires_at   INTEGER NOT NULL,
	used         INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS taobao_tokens (
	access_token       TEXT PRIMARY KEY,
	refresh_token      TEXT NOT NULL,
	account            TEXT NOT NULL,
	access_expires_at  INTEGER NOT NULL,
	refresh_expires_at INTEGER NOT NULL,
	created_at         INTEGER NOT NULL
);
-- refresh looks tokens up by refresh_token
CREATE INDEX IF NOT EXISTS taobao_tokens_refresh ON taobao_tokens(refresh_token);
CREATE TABLE IF NOT EXISTS taobao_purchases (
	purchase_id       INTEGER PRIMARY KEY,
	account           TEXT NOT NULL,
	outer_purchase_id TEXT NOT NULL,
	status            TEXT NOT NULL,
	supplier_nick     TEXT NOT NULL,
	source_market     TEXT NOT NULL,
	purchase_amount   INTEGER NOT NULL,
	pay_amount        INTEGER NOT NULL DEFAULT 0,
	pay_time          INTEGER NOT NULL DEFAULT 0,
	created_time      INTEGER NOT NULL,
	modify_time       INTEGER NOT NULL,
	shipped_time      INTEGER NOT NULL DEFAULT 0,
	logistic_company  TEXT NOT NULL DEFAULT '',
	logistic_number   TEXT NOT NULL DEFAULT '',
	close_reason      TEXT NOT NULL DEFAULT '',
	receiver          TEXT NOT NULL,
	lines             TEXT NOT NULL
);
-- the idempotency check: one outer_purchase_id per account
CREATE INDEX IF NOT EXISTS taobao_purchases_outer ON taobao_purchases(account, outer_purchase_id);
CREATE TABLE IF NOT EXISTS taobao_pushes (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	purchase_id INTEGER NOT NULL,
	status      TEXT NOT NULL,
	url         TEXT NOT NULL,
	body        TEXT NOT NULL,
	delivered   INTEGER NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
`

// firstPurchaseID makes sandbox purchase ids look like real ones (seed 000
// shows 200081134310).
const firstPurchaseID = 200081134300

// NewSandbox creates the sandbox's tables in db (an open SQLite database shared
// with other sandboxes) and the demo accounts if missing. Switches (latency,
// failures, push URL, auto-advance) start from cfg and live in memory;
// accounts, balances, codes, tokens, purchases and pushes live in db.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.AppKey == "" {
		cfg.AppKey = DemoAppKey
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DemoAppSecret
	}
	if cfg.AppName == "" {
		cfg.AppName = DemoAppName
	}
	if len(cfg.Accounts) == 0 {
		cfg.Accounts = []string{DemoAccount1, DemoAccount2}
	}
	if cfg.InitialBalanceFen == 0 {
		cfg.InitialBalanceFen = DemoBalanceFen
	}
	if len(cfg.Items) == 0 {
		cfg.Items = DemoItems
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = 24 * time.Hour
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = 48 * time.Hour
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 10 * time.Minute
	}
	sandboxkit.Defaults(&cfg.HTTPClient, &cfg.Now)
	s := &Sandbox{
		db:           db,
		cfg:          cfg,
		items:        map[string][]DemoItem{},
		now:          cfg.Now,
		httpc:        cfg.HTTPClient,
		pushURL:      cfg.PushURL,
		autoShip:     cfg.AutoShipAfter,
		autoComplete: cfg.AutoCompleteAfter,
	}
	s.SetBaseURL(cfg.BaseURL)
	s.SetLatency(cfg.Latency)
	for _, it := range cfg.Items {
		s.items[it.ItemID] = append(s.items[it.ItemID], it)
	}
	if _, err := db.Exec(sandboxSchema); err != nil {
		return nil, fmt.Errorf("taobao sandbox: create tables: %w", err)
	}
	for i, a := range cfg.Accounts {
		_, err := db.Exec(`INSERT OR IGNORE INTO taobao_accounts (account, account_id, user_id, balance_fen) VALUES (?, ?, ?, ?)`,
			a, strconv.Itoa(100000001+i), strconv.FormatInt(2200000000001+int64(i), 10), cfg.InitialBalanceFen)
		if err != nil {
			return nil, fmt.Errorf("taobao sandbox: create account: %w", err)
		}
	}
	return s, nil
}

// ClientConfig returns a Config that points a Client at this sandbox with its
// app credentials (the caller may add HTTPClient and Now).
func (s *Sandbox) ClientConfig() Config {
	base := s.BaseURL()
	return Config{BaseURL: base + "/rest", AuthURL: base, AppKey: s.cfg.AppKey, AppSecret: s.cfg.AppSecret}
}

// FailNext makes the next n API calls answer HTTP 500 with an ISP
// ServiceUnavailable envelope.
func (s *Sandbox) FailNext(n int) { s.failNext.Arm(n) }

// SetUnknownSKUNext makes the next n purchase creates fail with SKU_NOT_FOUND
// whatever their lines are.
func (s *Sandbox) SetUnknownSKUNext(n int) { s.unknownSKUNext.Arm(n) }

// SetPushURL sets (or clears, with "") the URL that receives pushes.
func (s *Sandbox) SetPushURL(u string) {
	s.mu.Lock()
	s.pushURL = u
	s.mu.Unlock()
}

// SetAutoAdvance makes paid purchases ship after ship and shipped ones
// complete after complete (0 disables each step).
func (s *Sandbox) SetAutoAdvance(ship, complete time.Duration) {
	s.mu.Lock()
	s.autoShip, s.autoComplete = ship, complete
	s.mu.Unlock()
}

// SandboxAccount is a demo buyer account and its distributor balance.
type SandboxAccount struct {
	Account    string
	AccountID  string
	UserID     string
	BalanceFen int64
}

// Accounts lists the demo accounts.
func (s *Sandbox) Accounts() ([]SandboxAccount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.db.Query(`SELECT account, account_id, user_id, balance_fen FROM taobao_accounts ORDER BY account`)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxAccount, error) {
		var a SandboxAccount
		if err := r.Scan(&a.Account, &a.AccountID, &a.UserID, &a.BalanceFen); err != nil {
			return SandboxAccount{}, err
		}
		return a, nil
	})
}

// SetBalance sets an account's balance in fen (0 or little to test
// INSUFFICIENT_BALANCE_FOR_PAYMENT).
func (s *Sandbox) SetBalance(account string, fen int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.db.Exec(`UPDATE taobao_accounts SET balance_fen = ? WHERE account = ?`, fen, account)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("taobao sandbox: no account %q", account)
	}
	return nil
}

// Balance returns an account's balance in fen.
func (s *Sandbox) Balance(account string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b int64
	err := s.db.QueryRow(`SELECT balance_fen FROM taobao_accounts WHERE account = ?`, account).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("taobao sandbox: no account %q", account)
	}
	return b, err
}

// ExpireAccessToken makes the account's access tokens expire now (refresh
// still works). An empty account means every account.
func (s *Sandbox) ExpireAccessToken(account string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().UnixMilli() - 1
	_, err := s.db.Exec(`UPDATE taobao_tokens SET access_expires_at = MIN(access_expires_at, ?) WHERE account = ? OR ? = ''`, past, account, account)
	return err
}

// ExpireTokens makes both the access and the refresh tokens of the account
// expire now: only a new authorization helps. Empty account means all.
func (s *Sandbox) ExpireTokens(account string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().UnixMilli() - 1
	_, err := s.db.Exec(`UPDATE taobao_tokens SET access_expires_at = MIN(access_expires_at, ?), refresh_expires_at = MIN(refresh_expires_at, ?) WHERE account = ? OR ? = ''`, past, past, account, account)
	return err
}

// SandboxLine is one line of a sandbox purchase.
type SandboxLine struct {
	SubPurchaseOrderID int64  `json:"sub_purchase_order_id"`
	ItemID             string `json:"item_id"`
	SKUID              string `json:"sku_id"`
	Title              string `json:"title"`
	Quantity           int64  `json:"quantity"`
	PriceFen           int64  `json:"price"`
	OrderLineNo        string `json:"order_line_no"`
}

// SandboxPurchase is the sandbox's record of one purchase order.
type SandboxPurchase struct {
	PurchaseID      int64
	Account         string
	OuterPurchaseID string
	Status          string
	SupplierNick    string
	SourceMarket    string
	AmountFen       int64
	PayAmountFen    int64
	PaidAt          time.Time
	CreatedAt       time.Time
	ModifiedAt      time.Time
	ShippedAt       time.Time
	LogisticCompany string
	LogisticNumber  string
	CloseReason     string
	Receiver        string
	Lines           []SandboxLine
}

const purchaseCols = `purchase_id, account, outer_purchase_id, status, supplier_nick, source_market, purchase_amount, pay_amount,
	pay_time, created_time, modify_time, shipped_time, logistic_company, logistic_number, close_reason, receiver, lines`

type rowScanner = sandboxdb.Scanner

func scanPurchase(r rowScanner) (*SandboxPurchase, error) {
	var p SandboxPurchase
	var pay, created, modified, shipped int64
	var lines string
	if err := r.Scan(&p.PurchaseID, &p.Account, &p.OuterPurchaseID, &p.Status, &p.SupplierNick, &p.SourceMarket, &p.AmountFen, &p.PayAmountFen,
		&pay, &created, &modified, &shipped, &p.LogisticCompany, &p.LogisticNumber, &p.CloseReason, &p.Receiver, &lines); err != nil {
		return nil, err
	}
	p.PaidAt, p.CreatedAt, p.ModifiedAt, p.ShippedAt = msToTime(pay), msToTime(created), msToTime(modified), msToTime(shipped)
	if err := json.Unmarshal([]byte(lines), &p.Lines); err != nil {
		return nil, err
	}
	return &p, nil
}

// queryPurchases runs a query on q (db or tx) and reads every row before
// returning, so no statement runs while rows are open.
func queryPurchases(q querier, where string, args ...any) ([]*SandboxPurchase, error) {
	rows, err := q.Query(`SELECT `+purchaseCols+` FROM taobao_purchases `+where, args...)
	return sandboxdb.Collect(rows, err, scanPurchase)
}

type querier interface {
	Query(string, ...any) (*sql.Rows, error)
	QueryRow(string, ...any) *sql.Row
	Exec(string, ...any) (sql.Result, error)
}

// Purchases lists every purchase, oldest first.
func (s *Sandbox) Purchases() ([]SandboxPurchase, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, err := queryPurchases(s.db, `ORDER BY purchase_id`)
	if err != nil {
		return nil, err
	}
	out := make([]SandboxPurchase, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out, nil
}

// Purchase returns one purchase.
func (s *Sandbox) Purchase(id int64) (*SandboxPurchase, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := scanPurchase(s.db.QueryRow(`SELECT `+purchaseCols+` FROM taobao_purchases WHERE purchase_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("taobao sandbox: no purchase %d", id)
	}
	return p, err
}

// PurchaseCount is the number of purchases ever created (tests assert that a
// retried create did not buy twice).
func (s *Sandbox) PurchaseCount() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	err := s.db.QueryRow(`SELECT COUNT(*) FROM taobao_purchases`).Scan(&n)
	return n, err
}

// Ship marks a paid purchase shipped: a domestic logistic company and tracking
// number are assigned and the status becomes WAIT_BUYER_CONFIRM_GOODS.
func (s *Sandbox) Ship(purchaseID int64) error {
	return s.control(func() ([]int64, error) { return s.shipLocked(purchaseID) })
}

// Complete finishes a shipped purchase (TRADE_FINISHED).
func (s *Sandbox) Complete(purchaseID int64) error {
	return s.control(func() ([]int64, error) { return s.completeLocked(purchaseID) })
}

// ClosePurchase closes a purchase that is not final (TRADE_CLOSED), refunding the
// balance when it was paid.
func (s *Sandbox) ClosePurchase(purchaseID int64, reason string) error {
	return s.control(func() ([]int64, error) {
		pushes, _, err := s.closeLocked(purchaseID, "", reason, true)
		return pushes, err
	})
}

func (s *Sandbox) control(f func() ([]int64, error)) error {
	s.mu.Lock()
	pushes, err := f()
	s.mu.Unlock()
	s.deliver(pushes)
	return err
}

var logisticCompanies = []string{"ZTO Express", "YTO Express", "SF Express", "STO Express"}

func (s *Sandbox) shipLocked(id int64) ([]int64, error) {
	p, err := s.purchaseLocked(id, "")
	if err != nil {
		return nil, err
	}
	if p.Status != StatusWaitSellerSendGoods {
		return nil, fmt.Errorf("taobao sandbox: purchase %d is %s, only %s can ship", id, p.Status, StatusWaitSellerSendGoods)
	}
	now := s.now().UnixMilli()
	company := logisticCompanies[id%int64(len(logisticCompanies))]
	number := fmt.Sprintf("7731%010d", id%10_000_000_000)
	_, err = s.db.Exec(`UPDATE taobao_purchases SET status = ?, shipped_time = ?, modify_time = ?, logistic_company = ?, logistic_number = ? WHERE purchase_id = ?`,
		StatusWaitBuyerConfirmGoods, now, now, company, number, id)
	if err != nil {
		return nil, err
	}
	return s.queuePushLocked(id)
}

func (s *Sandbox) completeLocked(id int64) ([]int64, error) {
	p, err := s.purchaseLocked(id, "")
	if err != nil {
		return nil, err
	}
	if p.Status != StatusWaitBuyerConfirmGoods {
		return nil, fmt.Errorf("taobao sandbox: purchase %d is %s, only %s can complete", id, p.Status, StatusWaitBuyerConfirmGoods)
	}
	now := s.now().UnixMilli()
	if _, err := s.db.Exec(`UPDATE taobao_purchases SET status = ?, modify_time = ? WHERE purchase_id = ?`, StatusTradeFinished, now, id); err != nil {
		return nil, err
	}
	return s.queuePushLocked(id)
}

// closeLocked closes a purchase; account "" skips the owner check. When
// allowShipped is false (the buyer's cancel API) shipped purchases are refused.
// The second result is a business error code for the API.
func (s *Sandbox) closeLocked(id int64, account, reason string, allowShipped bool) (_ []int64, code string, err error) {
	p, err := s.purchaseLocked(id, account)
	if err != nil {
		return nil, CodePurchaseNotFound, err
	}
	switch p.Status {
	case StatusBuilding, StatusWaitBuyerPay, StatusWaitSellerSendGoods:
	case StatusWaitBuyerConfirmGoods:
		if !allowShipped {
			return nil, CodeNotCancellable, fmt.Errorf("purchase order %d has been shipped and can not be cancelled", id)
		}
	default:
		return nil, CodeNotCancellable, fmt.Errorf("purchase order %d is %s and can not be cancelled", id, p.Status)
	}
	tx, err := s.db.Begin()
	if err != nil {
		return nil, "", err
	}
	defer sandboxdb.Rollback(tx, &err)
	now := s.now().UnixMilli()
	if p.PayAmountFen > 0 {
		if _, err := tx.Exec(`UPDATE taobao_accounts SET balance_fen = balance_fen + ? WHERE account = ?`, p.PayAmountFen, p.Account); err != nil {
			return nil, "", err
		}
	}
	if _, err := tx.Exec(`UPDATE taobao_purchases SET status = ?, modify_time = ?, close_reason = ? WHERE purchase_id = ?`, StatusTradeClosed, now, reason, id); err != nil {
		return nil, "", err
	}
	if err := tx.Commit(); err != nil {
		return nil, "", err
	}
	pushes, err := s.queuePushLocked(id)
	return pushes, "", err
}

func (s *Sandbox) purchaseLocked(id int64, account string) (*SandboxPurchase, error) {
	p, err := scanPurchase(s.db.QueryRow(`SELECT `+purchaseCols+` FROM taobao_purchases WHERE purchase_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && account != "" && p.Account != account) {
		return nil, fmt.Errorf("purchase order %d does not exist", id)
	}
	return p, err
}

// Advance applies due auto-advance steps (ship after AutoShipAfter, complete
// after AutoCompleteAfter) and sends their pushes. It runs before every API
// call; Run calls it every second so the demo moves by itself.
func (s *Sandbox) Advance() error {
	s.mu.Lock()
	ship, complete := s.autoShip, s.autoComplete
	if ship <= 0 && complete <= 0 {
		s.mu.Unlock()
		return nil
	}
	now := s.now()
	var pushes []int64
	var firstErr error
	if ship > 0 {
		due, err := queryPurchases(s.db, `WHERE status = ? AND pay_time > 0 AND pay_time <= ?`, StatusWaitSellerSendGoods, now.Add(-ship).UnixMilli())
		firstErr = err
		for _, p := range due {
			ps, err := s.shipLocked(p.PurchaseID)
			pushes = append(pushes, ps...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	if complete > 0 {
		due, err := queryPurchases(s.db, `WHERE status = ? AND shipped_time > 0 AND shipped_time <= ?`, StatusWaitBuyerConfirmGoods, now.Add(-complete).UnixMilli())
		if err != nil && firstErr == nil {
			firstErr = err
		}
		for _, p := range due {
			ps, err := s.completeLocked(p.PurchaseID)
			pushes = append(pushes, ps...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	s.mu.Unlock()
	s.deliver(pushes)
	return firstErr
}

// Run calls Advance every second until ctx is done (for the demo server).
func (s *Sandbox) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.Advance()
		}
	}
}

// ---- pushes ----

// SandboxPush is a recorded push (notification) and its delivery state.
type SandboxPush struct {
	ID         int64
	PurchaseID int64
	Status     string
	URL        string
	Body       string
	Delivered  bool
	Attempts   int
	LastError  string
}

// Notifications lists every push recorded, oldest first.
func (s *Sandbox) Notifications() ([]SandboxPush, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushesLocked(`ORDER BY id`)
}

func (s *Sandbox) pushesLocked(where string, args ...any) ([]SandboxPush, error) {
	rows, err := s.db.Query(`SELECT id, purchase_id, status, url, body, delivered, attempts, last_error FROM taobao_pushes `+where, args...)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxPush, error) {
		var p SandboxPush
		if err := r.Scan(&p.ID, &p.PurchaseID, &p.Status, &p.URL, &p.Body, &p.Delivered, &p.Attempts, &p.LastError); err != nil {
			return SandboxPush{}, err
		}
		return p, nil
	})
}

// ResendNotifications retries every push not yet delivered and returns how
// many were delivered now.
func (s *Sandbox) ResendNotifications() (int, error) {
	s.mu.Lock()
	pending, err := s.pushesLocked(`WHERE delivered = 0 ORDER BY id`)
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	ids := make([]int64, len(pending))
	for i, p := range pending {
		ids[i] = p.ID
	}
	return s.deliver(ids), nil
}

// ResendNotification sends the purchase's current status again (a duplicate
// push, as the platform may send).
func (s *Sandbox) ResendNotification(purchaseID int64) error {
	s.mu.Lock()
	p, err := s.purchaseLocked(purchaseID, "")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.SendNotification(purchaseID, p.Status)
}

// SendNotification pushes an arbitrary status for a purchase without changing
// it (for out-of-order and stale-push tests). It fails when no push URL is set
// or the delivery fails.
func (s *Sandbox) SendNotification(purchaseID int64, status string) error {
	s.mu.Lock()
	p, err := s.purchaseLocked(purchaseID, "")
	var ids []int64
	if err == nil {
		ids, err = s.insertPushLocked(p, status)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("taobao sandbox: no push URL configured")
	}
	if s.deliver(ids) != len(ids) {
		return errors.New("taobao sandbox: push delivery failed")
	}
	return nil
}

func (s *Sandbox) queuePushLocked(id int64) ([]int64, error) {
	p, err := s.purchaseLocked(id, "")
	if err != nil {
		return nil, err
	}
	return s.insertPushLocked(p, p.Status)
}

func (s *Sandbox) insertPushLocked(p *SandboxPurchase, status string) ([]int64, error) {
	if s.pushURL == "" {
		return nil, nil
	}
	var sellerID string
	_ = s.db.QueryRow(`SELECT account_id FROM taobao_accounts WHERE account = ?`, p.Account).Scan(&sellerID)
	now := s.now().UnixMilli()
	body, err := json.Marshal(map[string]any{
		"message_type": MessageOrderStatus,
		"seller_id":    sellerID,
		"site":         "taobao_global",
		"timestamp":    now,
		"data": map[string]any{
			"purchase_id":       p.PurchaseID,
			"outer_purchase_id": p.OuterPurchaseID,
			"status":            status,
			"modify_time":       now,
		},
	})
	if err != nil {
		return nil, err
	}
	res, err := s.db.Exec(`INSERT INTO taobao_pushes (purchase_id, status, url, body, created_at) VALUES (?, ?, ?, ?, ?)`, p.PurchaseID, status, s.pushURL, string(body), now)
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	return []int64{id}, err
}

// deliver posts the given pushes in order, records each outcome and returns
// how many were delivered. It runs without s.mu held during HTTP so a receiver
// may call back into the sandbox.
func (s *Sandbox) deliver(ids []int64) int {
	ok := 0
	for _, id := range ids {
		var url, body string
		s.mu.Lock()
		err := s.db.QueryRow(`SELECT url, body FROM taobao_pushes WHERE id = ?`, id).Scan(&url, &body)
		s.mu.Unlock()
		if err != nil {
			continue
		}
		derr := s.post(url, []byte(body))
		s.mu.Lock()
		if derr == nil {
			_, _ = s.db.Exec(`UPDATE taobao_pushes SET delivered = 1, attempts = attempts + 1, last_error = '' WHERE id = ?`, id)
			ok++
		} else {
			_, _ = s.db.Exec(`UPDATE taobao_pushes SET attempts = attempts + 1, last_error = ? WHERE id = ?`, derr.Error(), id)
		}
		s.mu.Unlock()
	}
	return ok
}

func (s *Sandbox) post(u string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", PushSignature(s.cfg.AppKey, s.cfg.AppSecret, body))
	resp, err := s.httpc.Do(req)
	if err != nil {
		return err
	}
	if _, err := httpbody.ReadAndClose(resp, 1<<16); err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// ---- HTTP ----

// ServeHTTP serves the gateway (/rest/...), the OAuth page (/oauth/authorize)
// and the control page (/ and /_control).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/rest/"):
		s.serveAPI(w, r, strings.TrimPrefix(p, "/rest"))
	case p == "/oauth/authorize":
		s.serveAuthorize(w, r)
	case p == "/_control" && r.Method == http.MethodPost:
		s.serveControl(w, r)
	case p == "/" || p == "":
		s.serveIndex(w, r)
	default:
		http.NotFound(w, r)
	}
}

// apiError is a failure answer: a gateway envelope or, when business is set,
// a business answer with success=false.
type apiError struct {
	typ      string
	code     string
	msg      string
	business bool
}

func gwErr(typ, code, msg string) *apiError { return &apiError{typ: typ, code: code, msg: msg} }

func bizErr(code, msg string) *apiError { return &apiError{code: code, msg: msg, business: true} }

type apiCall struct {
	api       string
	params    map[string]string
	account   string
	accountID string
	now       time.Time
}

type apiHandler func(c *apiCall) (map[string]any, []int64, *apiError)

func (s *Sandbox) routes() map[string]apiHandler {
	return map[string]apiHandler{
		PathTokenCreate:  s.apiTokenCreate,
		PathTokenRefresh: s.apiTokenRefresh,
		PathCreate:       s.apiCreate,
		PathBatchPay:     s.apiPay,
		PathQuery:        s.apiQuery,
		PathCancel:       s.apiCancel,
	}
}

func (s *Sandbox) serveAPI(w http.ResponseWriter, r *http.Request, api string) {
	_ = s.Advance()
	fail := s.failNext.Take()
	if !s.Wait(r) {
		return
	}
	reqID := newRequestID()
	if fail {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"type": "ISP", "code": CodeServiceUnavailable, "message": "The service is temporarily unavailable, please try again later", "request_id": reqID})
		return
	}
	body, pushes, aerr := s.handleAPI(r, api)
	s.deliver(pushes)
	if aerr != nil {
		if aerr.business {
			writeJSON(w, http.StatusOK, map[string]any{"code": "0", "success": false, "error_code": aerr.code, "error_msg": aerr.msg, "request_id": reqID})
		} else {
			writeJSON(w, http.StatusOK, map[string]any{"type": aerr.typ, "code": aerr.code, "message": aerr.msg, "request_id": reqID})
		}
		return
	}
	body["request_id"] = reqID
	if _, ok := body["code"]; !ok {
		body["code"] = "0"
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Sandbox) handleAPI(r *http.Request, api string) (map[string]any, []int64, *apiError) {
	params, err := collectParams(r)
	if err != nil {
		return nil, nil, gwErr("ISV", CodeInvalidParameter, "The request body could not be read: "+err.Error())
	}
	h, ok := s.routes()[api]
	if !ok {
		return nil, nil, gwErr("ISV", CodeInvalidAPIPath, "The specified API path is invalid: "+api)
	}
	for _, k := range []string{"app_key", "timestamp", "sign_method", "sign"} {
		if params[k] == "" {
			return nil, nil, gwErr("ISV", CodeMissingParameter, fmt.Sprintf("The input parameter %q that is mandatory for processing this request is not supplied", k))
		}
	}
	if params["app_key"] != s.cfg.AppKey {
		return nil, nil, gwErr("ISV", CodeInvalidAppKey, "The specified app_key is invalid")
	}
	if !timestampOK(params["timestamp"], s.now()) {
		return nil, nil, gwErr("ISV", CodeInvalidTimestamp, "The timestamp must be epoch milliseconds (or ISO 8601 UTC) within 7200 seconds of the server time")
	}
	if !strings.EqualFold(params["sign_method"], "sha256") {
		return nil, nil, gwErr("ISV", CodeIncompleteSignature, "Unsupported sign_method, use sha256")
	}
	if !s.signatureOK(api, params) {
		return nil, nil, gwErr("ISV", CodeIncompleteSignature, "The request signature does not conform to platform standards")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &apiCall{api: api, params: params, now: s.now()}
	if !strings.HasPrefix(api, "/auth/token/") {
		tok := params["access_token"]
		if tok == "" {
			return nil, nil, gwErr("ISV", CodeMissingParameter, `The input parameter "access_token" that is mandatory for processing this request is not supplied`)
		}
		var exp int64
		err := s.db.QueryRow(`SELECT t.account, a.account_id, t.access_expires_at FROM taobao_tokens t JOIN taobao_accounts a ON a.account = t.account WHERE t.access_token = ?`, tok).Scan(&c.account, &c.accountID, &exp)
		if err != nil || c.now.UnixMilli() >= exp {
			return nil, nil, gwErr("ISV", CodeIllegalAccessToken, "The specified access token is invalid or expired")
		}
	}
	return h(c)
}

// signatureOK accepts the signature computed over the union of all params,
// with empty values dropped (what Sign does, like the official SDK) or kept
// (what some hand-written clients do).
func (s *Sandbox) signatureOK(api string, params map[string]string) bool {
	got := []byte(strings.ToUpper(params["sign"]))
	for _, keepEmpty := range []bool{false, true} {
		if subtle.ConstantTimeCompare(got, []byte(signParams(s.cfg.AppSecret, api, params, keepEmpty))) == 1 {
			return true
		}
	}
	return false
}

// maxClockSkew is how far the request timestamp may be from the gateway's
// clock (the Lazada IOP documentation says 7200 seconds).
const maxClockSkew = 2 * time.Hour

// timestampOK reads epoch milliseconds or an ISO 8601 UTC time and checks it
// against the sandbox clock, which catches clients sending seconds.
func timestampOK(ts string, now time.Time) bool {
	var t time.Time
	if ms, err := strconv.ParseInt(ts, 10, 64); err == nil {
		t = time.UnixMilli(ms)
	} else if t, err = time.Parse(time.RFC3339, ts); err != nil {
		return false
	}
	d := now.Sub(t)
	return d <= maxClockSkew && d >= -maxClockSkew
}

// collectParams merges query, urlencoded or multipart form, and JSON body
// parameters, as the gateway accepts all three transports. A JSON value that
// is not a string is kept as its raw text, which is what a client signs.
func collectParams(r *http.Request) (map[string]string, error) {
	p := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return p, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, err
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
	case "application/json":
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		if len(strings.TrimSpace(string(raw))) == 0 {
			return p, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			var str string
			if json.Unmarshal(v, &str) == nil {
				p[k] = str
			} else if string(v) != "null" {
				p[k] = string(v)
			}
		}
	default:
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, err
		}
		for k, v := range vals {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
	}
	return p, nil
}

// ---- API handlers (called with s.mu held) ----

func (s *Sandbox) apiTokenCreate(c *apiCall) (map[string]any, []int64, *apiError) {
	code := c.params["code"]
	if code == "" {
		return nil, nil, gwErr("ISV", CodeMissingParameter, `The input parameter "code" that is mandatory for processing this request is not supplied`)
	}
	var account string
	var exp int64
	var used bool
	err := s.db.QueryRow(`SELECT account, expires_at, used FROM taobao_auth_codes WHERE code = ?`, code).Scan(&account, &exp, &used)
	switch {
	case err != nil:
		return nil, nil, gwErr("ISV", CodeInvalidCode, "The authorization code is invalid")
	case used:
		return nil, nil, gwErr("ISV", CodeInvalidCode, "The authorization code has already been used")
	case c.now.UnixMilli() >= exp:
		return nil, nil, gwErr("ISV", CodeInvalidCode, "The authorization code has expired")
	}
	if _, err := s.db.Exec(`UPDATE taobao_auth_codes SET used = 1 WHERE code = ?`, code); err != nil {
		return nil, nil, gwErr("ISP", CodeServiceUnavailable, err.Error())
	}
	refresh := "r" + randomHex(20)
	return s.issueTokenLocked(c, account, refresh, c.now.Add(s.cfg.RefreshTokenTTL).UnixMilli())
}

func (s *Sandbox) apiTokenRefresh(c *apiCall) (map[string]any, []int64, *apiError) {
	rt := c.params["refresh_token"]
	if rt == "" {
		return nil, nil, gwErr("ISV", CodeMissingParameter, `The input parameter "refresh_token" that is mandatory for processing this request is not supplied`)
	}
	var account string
	var exp int64
	err := s.db.QueryRow(`SELECT account, MIN(refresh_expires_at) FROM taobao_tokens WHERE refresh_token = ? GROUP BY account`, rt).Scan(&account, &exp)
	if err != nil || c.now.UnixMilli() >= exp {
		return nil, nil, gwErr("ISV", CodeIllegalRefreshToken, "The specified refresh token is invalid or expired")
	}
	// The refresh token is kept (not rotated) and keeps its expiry: a refresh
	// never extends the authorization, so operators must re-authorize before it
	// ends, as seed 002 describes.
	return s.issueTokenLocked(c, account, rt, exp)
}

func (s *Sandbox) issueTokenLocked(c *apiCall, account, refresh string, refreshExp int64) (map[string]any, []int64, *apiError) {
	now := c.now.UnixMilli()
	access := "a" + randomHex(20)
	accessExp := min(c.now.Add(s.cfg.AccessTokenTTL).UnixMilli(), refreshExp)
	if _, err := s.db.Exec(`INSERT INTO taobao_tokens (access_token, refresh_token, account, access_expires_at, refresh_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		access, refresh, account, accessExp, refreshExp, now); err != nil {
		return nil, nil, gwErr("ISP", CodeServiceUnavailable, err.Error())
	}
	var accountID, userID string
	_ = s.db.QueryRow(`SELECT account_id, user_id FROM taobao_accounts WHERE account = ?`, account).Scan(&accountID, &userID)
	return map[string]any{
		"access_token":       access,
		"refresh_token":      refresh,
		"expires_in":         (accessExp - now) / 1000,
		"refresh_expires_in": (refreshExp - now) / 1000,
		"account_id":         accountID,
		"seller_id":          accountID,
		"user_id":            userID,
		"short_code":         "",
		"account_platform":   "taobao_global",
		"account":            account,
	}, nil, nil
}

type lineIn struct {
	itemID, skuID, lineNo, title string
	qty                          int64
	item                         DemoItem
}

func (s *Sandbox) apiCreate(c *apiCall) (map[string]any, []int64, *apiError) {
	p := c.params
	for _, k := range []string{"outer_purchase_id", "purchase_amount", "order_line_list", "receiver"} {
		if strings.TrimSpace(p[k]) == "" {
			return nil, nil, gwErr("ISV", CodeMissingParameter, fmt.Sprintf("The input parameter %q that is mandatory for processing this request is not supplied", k))
		}
	}
	if n, err := strconv.ParseInt(p["purchase_amount"], 10, 64); err != nil || n < 0 {
		return nil, nil, gwErr("ISV", CodeInvalidParameter, "purchase_amount must be an integer amount in fen")
	}
	var rawLines []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(p["order_line_list"]), &rawLines); err != nil || len(rawLines) == 0 {
		return nil, nil, gwErr("ISV", CodeInvalidParameter, "order_line_list must be a non-empty JSON array")
	}
	var receiver map[string]any
	if err := json.Unmarshal([]byte(p["receiver"]), &receiver); err != nil || receiver == nil {
		return nil, nil, gwErr("ISV", CodeInvalidParameter, "receiver must be a JSON object")
	}
	if w := p["warehouse_address_info"]; w != "" {
		var wh map[string]any
		if err := json.Unmarshal([]byte(w), &wh); err != nil || wh == nil {
			return nil, nil, gwErr("ISV", CodeInvalidParameter, "warehouse_address_info must be a JSON object")
		}
	}
	outer := p["outer_purchase_id"]

	// Idempotency: the same outer_purchase_id of the same account answers with
	// what was created the first time.
	existing, err := queryPurchases(s.db, `WHERE account = ? AND outer_purchase_id = ? ORDER BY purchase_id`, c.account, outer)
	if err != nil {
		return nil, nil, gwErr("ISP", CodeServiceUnavailable, err.Error())
	}
	if len(existing) > 0 {
		return s.createAnswer(outer, existing), nil, nil
	}
	if s.unknownSKUNext.Take() {
		return nil, nil, bizErr(CodeSKUNotFound, "The sku does not exist or is off the shelf (sandbox switch)")
	}

	lines := make([]lineIn, 0, len(rawLines))
	for i, rl := range rawLines {
		l := lineIn{
			itemID: rawString(rl, "item_id", "itemId"),
			skuID:  rawString(rl, "sku_id", "skuId"),
			lineNo: rawString(rl, "order_line_no", "orderLineNo"),
			title:  rawString(rl, "title"),
		}
		if l.lineNo == "" {
			l.lineNo = strconv.Itoa(i + 1)
		}
		q, _ := strconv.ParseInt(rawString(rl, "quantity"), 10, 64)
		l.qty = q
		if cur := rawString(rl, "currency"); cur != "" && !strings.EqualFold(cur, "CNY") {
			return nil, nil, bizErr(CodeInvalidParameter, fmt.Sprintf("order line %s: currency must be CNY", l.lineNo))
		}
		if l.itemID == "" {
			return nil, nil, bizErr(CodeInvalidParameter, fmt.Sprintf("order line %s: item_id is required", l.lineNo))
		}
		if l.qty < 1 {
			return nil, nil, bizErr(CodeInvalidParameter, fmt.Sprintf("order line %s: quantity must be at least 1", l.lineNo))
		}
		variants, ok := s.items[l.itemID]
		if !ok {
			return nil, nil, bizErr(CodeItemNotFound, fmt.Sprintf("Item %s does not exist or is off the shelf", l.itemID))
		}
		if l.skuID == "" {
			return nil, nil, bizErr(CodeSKURequired, fmt.Sprintf("Product missing SKU: item %s has variants, sku_id is required", l.itemID))
		}
		found := false
		for _, v := range variants {
			if v.SKUID == l.skuID {
				l.item, found = v, true
			}
		}
		if !found {
			return nil, nil, bizErr(CodeSKUNotFound, fmt.Sprintf("SKU %s does not belong to item %s or is sold out", l.skuID, l.itemID))
		}
		lines = append(lines, l)
	}

	// One purchase per supplier, in the order suppliers first appear.
	var suppliers []string
	bySupplier := map[string][]lineIn{}
	for _, l := range lines {
		if _, ok := bySupplier[l.item.Supplier]; !ok {
			suppliers = append(suppliers, l.item.Supplier)
		}
		bySupplier[l.item.Supplier] = append(bySupplier[l.item.Supplier], l)
	}
	err = sandboxdb.InTx(context.Background(), s.db, func(tx *sql.Tx) error {
		var next int64
		if err := tx.QueryRow(`SELECT COALESCE(MAX(purchase_id), ?) + 1 FROM taobao_purchases`, firstPurchaseID).Scan(&next); err != nil {
			return err
		}
		now := c.now.UnixMilli()
		for _, sup := range suppliers {
			pid := next
			next++
			var amount int64
			var sl []SandboxLine
			for i, l := range bySupplier[sup] {
				amount += l.item.PriceFen * l.qty
				title := l.item.Title
				sl = append(sl, SandboxLine{SubPurchaseOrderID: pid*100 + int64(i+1), ItemID: l.itemID, SKUID: l.skuID, Title: title, Quantity: l.qty, PriceFen: l.item.PriceFen, OrderLineNo: l.lineNo})
			}
			lj, err := json.Marshal(sl)
			if err != nil {
				return err
			}
			// Creation is synchronous here, so BULIDING is never observable: the
			// purchase is stored directly as WAIT_BUYER_PAY.
			if _, err := tx.Exec(`INSERT INTO taobao_purchases (purchase_id, account, outer_purchase_id, status, supplier_nick, source_market, purchase_amount, created_time, modify_time, receiver, lines)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pid, c.account, outer, StatusWaitBuyerPay, sup, bySupplier[sup][0].item.Market, amount, now, now, p["receiver"], string(lj)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, gwErr("ISP", CodeServiceUnavailable, err.Error())
	}
	created, err := queryPurchases(s.db, `WHERE account = ? AND outer_purchase_id = ? ORDER BY purchase_id`, c.account, outer)
	if err != nil {
		return nil, nil, gwErr("ISP", CodeServiceUnavailable, err.Error())
	}
	return s.createAnswer(outer, created), nil, nil
}

func (s *Sandbox) createAnswer(outer string, ps []*SandboxPurchase) map[string]any {
	var list []map[string]any
	for _, p := range ps {
		var ls []map[string]any
		for _, l := range p.Lines {
			ls = append(ls, map[string]any{
				"sub_purchase_order_id": l.SubPurchaseOrderID,
				"item_id":               l.ItemID,
				"sku_id":                numberOrString(l.SKUID),
				"quantity":              l.Quantity,
				"order_line_no":         l.OrderLineNo,
				"estimate_amount":       l.PriceFen * l.Quantity,
				"estimate_currency":     "CNY",
				"supplier_nick":         p.SupplierNick,
			})
		}
		list = append(list, map[string]any{
			"purchase_id":       p.PurchaseID,
			"supplier_nick":     p.SupplierNick,
			"estimate_amount":   p.AmountFen,
			"estimate_currency": "CNY",
			"source_market":     p.SourceMarket,
			"order_line_list":   ls,
		})
	}
	return map[string]any{
		"success": true,
		"data": map[string]any{
			"outer_purchase_id": outer,
			"success":           true,
			"order_list":        list,
		},
	}
}

func (s *Sandbox) apiPay(c *apiCall) (map[string]any, []int64, *apiError) {
	raw := c.params["purchaseOrderIdList"]
	if raw == "" {
		return nil, nil, gwErr("ISV", CodeMissingParameter, `The input parameter "purchaseOrderIdList" that is mandatory for processing this request is not supplied`)
	}
	var ids []flexInt64
	if err := json.Unmarshal([]byte(raw), &ids); err != nil || len(ids) == 0 {
		return nil, nil, gwErr("ISV", CodeInvalidParameter, "purchaseOrderIdList must be a non-empty JSON array of purchase ids")
	}
	if len(ids) > MaxPayBatch {
		return nil, nil, bizErr(CodeInvalidParameter, fmt.Sprintf("purchaseOrderIdList accepts at most %d purchase orders", MaxPayBatch))
	}
	willPay := []string{}
	failedIDs := []string{}
	failed := []map[string]any{}
	var pushes []int64
	fail := func(id int64, code, msg string) {
		failedIDs = append(failedIDs, strconv.FormatInt(id, 10))
		failed = append(failed, map[string]any{"gspOrderId": id, "errorCode": code, "errorMessage": msg})
	}
	for _, fid := range ids {
		id := int64(fid)
		p, err := s.purchaseLocked(id, c.account)
		if err != nil {
			fail(id, CodePurchaseNotFound, err.Error())
			continue
		}
		if p.Status != StatusWaitBuyerPay {
			fail(id, CodeNotPayable, fmt.Sprintf("purchase order %d is %s, only %s can be paid", id, p.Status, StatusWaitBuyerPay))
			continue
		}
		paid, err := s.payLocked(p, c.now)
		if err != nil {
			fail(id, CodeServiceUnavailable, err.Error())
			continue
		}
		if !paid {
			fail(id, CodeInsufficientBalance, "The distributor account balance is insufficient for payment")
			continue
		}
		willPay = append(willPay, strconv.FormatInt(id, 10))
		ps, _ := s.queuePushLocked(id)
		pushes = append(pushes, ps...)
	}
	// success and the id lists are strings here on purpose: one SDK notes the
	// pay answer sends success as "true" and ids as strings; clients must cope.
	return map[string]any{
		"success": "true",
		"data": map[string]any{
			"will_pay_purchase_order_ids":    willPay,
			"pay_failure_purchase_order_ids": failedIDs,
			"pay_failed_results":             failed,
		},
	}, pushes, nil
}

// payLocked debits the balance and marks the purchase paid in one transaction;
// it reports false when the balance is too low (nothing changes then).
func (s *Sandbox) payLocked(p *SandboxPurchase, now time.Time) (_ bool, err error) {
	tx, err := s.db.Begin()
	if err != nil {
		return false, err
	}
	defer sandboxdb.Rollback(tx, &err)
	res, err := tx.Exec(`UPDATE taobao_accounts SET balance_fen = balance_fen - ? WHERE account = ? AND balance_fen >= ?`, p.AmountFen, p.Account, p.AmountFen)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	ms := now.UnixMilli()
	if _, err := tx.Exec(`UPDATE taobao_purchases SET status = ?, pay_amount = ?, pay_time = ?, modify_time = ? WHERE purchase_id = ? AND status = ?`,
		StatusWaitSellerSendGoods, p.AmountFen, ms, ms, p.PurchaseID, StatusWaitBuyerPay); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

func (s *Sandbox) apiQuery(c *apiCall) (map[string]any, []int64, *apiError) {
	p := c.params
	where := []string{"account = ?"}
	args := []any{c.account}
	if raw := p["purchase_ids"]; raw != "" {
		var ids []flexInt64
		if err := json.Unmarshal([]byte(raw), &ids); err != nil {
			return nil, nil, gwErr("ISV", CodeInvalidParameter, "purchase_ids must be a JSON array of purchase ids")
		}
		if len(ids) > 0 {
			ph := make([]string, len(ids))
			for i, id := range ids {
				ph[i] = "?"
				args = append(args, int64(id))
			}
			where = append(where, "purchase_id IN ("+strings.Join(ph, ",")+")")
		}
	}
	if v := p["outer_purchase_id"]; v != "" {
		where = append(where, "outer_purchase_id = ?")
		args = append(args, v)
	}
	if v := p["status"]; v != "" {
		where = append(where, "status = ?")
		args = append(args, v)
	}
	for k, op := range map[string]string{"modify_time_start": ">=", "modify_time_end": "<="} {
		if v := p[k]; v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, nil, gwErr("ISV", CodeInvalidParameter, k+" must be epoch milliseconds")
			}
			where = append(where, "modify_time "+op+" ?")
			args = append(args, n)
		}
	}
	pageNo, pageSize := int64(1), int64(20)
	if v := p["page_no"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, nil, gwErr("ISV", CodeInvalidParameter, "page_no must be a positive integer")
		}
		pageNo = n
	}
	if v := p["page_size"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 50 {
			return nil, nil, gwErr("ISV", CodeInvalidParameter, "page_size must be between 1 and 50")
		}
		pageSize = n
	}
	cond := "WHERE " + strings.Join(where, " AND ")
	var total int64
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM taobao_purchases `+cond, args...).Scan(&total); err != nil {
		return nil, nil, gwErr("ISP", CodeServiceUnavailable, err.Error())
	}
	ps, err := queryPurchases(s.db, cond+` ORDER BY purchase_id LIMIT ? OFFSET ?`, append(args, pageSize, (pageNo-1)*pageSize)...)
	if err != nil {
		return nil, nil, gwErr("ISP", CodeServiceUnavailable, err.Error())
	}
	orders := []map[string]any{}
	for _, pu := range ps {
		subs := []map[string]any{}
		for _, l := range pu.Lines {
			sub := map[string]any{
				"sub_purchase_order_id": l.SubPurchaseOrderID,
				"status":                pu.Status,
				"item_id":               l.ItemID,
				"sku_id":                numberOrString(l.SKUID),
				"title":                 l.Title,
				"quantity":              l.Quantity,
				"purchase_amount":       l.PriceFen * l.Quantity,
				"purchase_currency":     "CNY",
				"logistic_orders":       []map[string]any{},
				"refund_status":         0,
			}
			if pu.PayAmountFen > 0 {
				sub["pay_amount"] = l.PriceFen * l.Quantity
				sub["pay_time"] = pu.PaidAt.UnixMilli()
			}
			if pu.LogisticNumber != "" {
				sub["logistic_orders"] = []map[string]any{{
					"logistic_company_name": pu.LogisticCompany,
					"logistic_number":       pu.LogisticNumber,
					"rts_time":              pu.ShippedAt.UnixMilli(),
				}}
			}
			if pu.CloseReason != "" {
				sub["close_reason"] = pu.CloseReason
			}
			subs = append(subs, sub)
		}
		o := map[string]any{
			"purchase_id":         pu.PurchaseID,
			"outer_purchase_id":   pu.OuterPurchaseID,
			"status":              pu.Status,
			"purchase_amount":     pu.AmountFen,
			"purchase_currency":   "CNY",
			"pay_amount":          pu.PayAmountFen,
			"pay_currency":        "CNY",
			"supplier_nick":       pu.SupplierNick,
			"source_market":       pu.SourceMarket,
			"created_time":        pu.CreatedAt.UnixMilli(),
			"modify_time":         pu.ModifiedAt.UnixMilli(),
			"sub_purchase_orders": subs,
		}
		if !pu.PaidAt.IsZero() {
			o["pay_time"] = pu.PaidAt.UnixMilli()
		}
		var rcv map[string]any
		if json.Unmarshal([]byte(pu.Receiver), &rcv) == nil {
			o["receiver"] = rcv
		}
		orders = append(orders, o)
	}
	return map[string]any{
		"success": true,
		"data": map[string]any{
			"results_total":   total,
			"page_no":         pageNo,
			"page_size":       pageSize,
			"purchase_orders": orders,
		},
	}, nil, nil
}

func (s *Sandbox) apiCancel(c *apiCall) (map[string]any, []int64, *apiError) {
	for _, k := range []string{"purchase_id", "cancel_reason"} {
		if c.params[k] == "" {
			return nil, nil, gwErr("ISV", CodeMissingParameter, fmt.Sprintf("The input parameter %q that is mandatory for processing this request is not supplied", k))
		}
	}
	id, err := strconv.ParseInt(c.params["purchase_id"], 10, 64)
	if err != nil {
		return nil, nil, gwErr("ISV", CodeInvalidParameter, "purchase_id must be an integer")
	}
	pushes, code, err := s.closeLocked(id, c.account, c.params["cancel_reason"], false)
	if err != nil {
		if code == "" {
			return nil, nil, gwErr("ISP", CodeServiceUnavailable, err.Error())
		}
		return nil, nil, bizErr(code, err.Error())
	}
	return map[string]any{"success": true}, pushes, nil
}

// ---- small helpers ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	httpbody.Write(w, b)
}

func rawString(m map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		if raw, ok := m[k]; ok {
			var v flexString
			if json.Unmarshal(raw, &v) == nil && v != "" {
				return strings.TrimSpace(string(v))
			}
		}
	}
	return ""
}

// numberOrString emits numeric ids as JSON numbers (as the create answer's
// sku_id is typed in the SDK) and anything else as a string.
func numberOrString(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func newRequestID() string { return randomHex(12) }
