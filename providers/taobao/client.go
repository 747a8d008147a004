// Package taobao is the client of the Taobao Global Open Platform (the IOP
// gateway used by distributors, "TaoWorld") for OrderDesk's procurement: OAuth
// authorization of buyer accounts, purchase order create, batch pay, query and
// cancel, and verification of push messages. sandbox.go plays the platform's
// side for tests and the demo.
//
// Wire format: see section 1 of providers.md. Facts marked uncertain there are
// handled tolerantly here (ids as numbers or strings, success as bool or string,
// several spellings of pay failure fields); each place says what it assumes.
package taobao

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/wire"
	"sort"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// Live endpoints of the Taobao Global Open Platform.
const (
	// LiveBaseURL is the production gateway; API paths are appended to it.
	LiveBaseURL = "https://api.taobao.global/rest"
	// LiveAuthURL is the base of the production OAuth page (/oauth/authorize).
	LiveAuthURL = "https://api.taobao.global"
	// DefaultPartnerID is sent as partner_id when Config.PartnerID is empty. The
	// official SDKs send their own version string; the gateway signs it like any
	// other parameter and, as far as we know, does not check it.
	DefaultPartnerID = "orderdesk-go-1"
)

// API paths used by this client (all relative to the gateway base).
const (
	PathTokenCreate  = "/auth/token/create"
	PathTokenRefresh = "/auth/token/refresh"
	PathCreate       = "/purchase/order/create"
	PathBatchPay     = "/purchase/order/batch/pay"
	PathQuery        = "/purchase/orders/query"
	PathCancel       = "/purchase/order/asyn/cancel"
)

// MaxPayBatch is the most purchase ids /purchase/order/batch/pay accepts in one
// call; PayPurchaseOrders splits longer lists.
const MaxPayBatch = 10

// Error codes. Gateway codes come in the envelope's "code", business codes in
// "error_code" or in pay_failed_results[].errorCode.
const (
	// CodeIllegalAccessToken: the access token is invalid or expired (refresh it).
	CodeIllegalAccessToken = "IllegalAccessToken"
	// CodeIllegalRefreshToken: the refresh token is invalid or expired; the
	// account must be authorized again. The code name follows the IOP/Lazada
	// gateway [uncertain for Taobao Global].
	CodeIllegalRefreshToken = "IllegalRefreshToken"
	// CodeInvalidCode: the authorization code is unknown, used or expired
	// [uncertain: the sandbox's choice].
	CodeInvalidCode = "InvalidCode"
	// CodeIncompleteSignature: the gateway rejected the signature.
	CodeIncompleteSignature = "IncompleteSignature"
	// CodeMissingParameter: a mandatory parameter is absent.
	CodeMissingParameter = "MissingParameter"
	// CodeInvalidParameter: a parameter has a bad value.
	CodeInvalidParameter = "InvalidParameter"
	// CodeInvalidTimestamp: the timestamp is missing its milliseconds or is
	// more than 7200 s away from the gateway clock [uncertain spelling].
	CodeInvalidTimestamp = "InvalidTimestamp"
	// CodeInvalidAppKey: the app key is unknown [uncertain spelling].
	CodeInvalidAppKey = "InvalidAppKey"
	// CodeInvalidAPIPath: the API path does not exist.
	CodeInvalidAPIPath = "InvalidApiPath"
	// CodeAPICallLimit: rate limited.
	CodeAPICallLimit = "ApiCallLimit"
	// CodeServiceUnavailable: backend failure (ISP), worth a later retry.
	CodeServiceUnavailable = "ServiceUnavailable"
	// CodeInsufficientBalance: the distributor balance is too low to pay.
	CodeInsufficientBalance = "INSUFFICIENT_BALANCE_FOR_PAYMENT"
	// CodeItemNotFound, CodeSKUNotFound and CodeSKURequired reject an order
	// line whose item is unknown, whose SKU does not belong to the item, or which
	// has no SKU although the item has variants. Exact real codes are not
	// published [uncertain: the sandbox's choice]; IsUnknownSKU also matches
	// any code mentioning ITEM or SKU with NOT_FOUND/NOT_EXIST/INVALID.
	CodeItemNotFound = "ITEM_NOT_FOUND"
	CodeSKUNotFound  = "SKU_NOT_FOUND"
	CodeSKURequired  = "SKU_REQUIRED"
	// CodePurchaseNotFound: no such purchase for this account [sandbox's choice].
	CodePurchaseNotFound = "PURCHASE_ORDER_NOT_FOUND"
	// CodeNotPayable: the purchase is not waiting for payment (already paid,
	// closed...) [sandbox's choice]. After a crash during pay, query the purchase.
	CodeNotPayable = "PURCHASE_ORDER_STATUS_NOT_PAYABLE"
	// CodeNotCancellable: the purchase has shipped or is final [sandbox's choice].
	CodeNotCancellable = "PURCHASE_ORDER_CANNOT_CANCEL"
	// CodeTransport marks an error that happened before any answer arrived
	// (network, timeout, unreadable body). Set by this client, never by Taobao.
	CodeTransport = "TransportError"
	// CodeUnexpectedAnswer marks an HTTP 200 answer this client cannot read
	// (not JSON, or a field of an unexpected type). Set by this client.
	CodeUnexpectedAnswer = "UnexpectedAnswer"
)

// Client calls the Taobao Global gateway for one app (app key + secret). It is
// safe for concurrent use and holds no per-account state: every business call
// takes the account's access token.
type Client struct {
	baseURL   string
	authURL   string
	appKey    string
	appSecret string
	partnerID string
	http      *http.Client
	now       func() time.Time
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(cfg.BaseURL, "/"),
		authURL:   strings.TrimRight(cfg.AuthURL, "/"),
		appKey:    cfg.AppKey,
		appSecret: cfg.AppSecret,
		partnerID: cfg.PartnerID,
		http:      cfg.HTTPClient,
		now:       cfg.Now,
	}
	if c.baseURL == "" {
		c.baseURL = LiveBaseURL
	}
	if c.authURL == "" {
		c.authURL = strings.TrimSuffix(c.baseURL, "/rest")
	}
	if c.partnerID == "" {
		c.partnerID = DefaultPartnerID
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Sign computes the gateway signature: all params except "sign" and except
// empty values (the official SDK drops those), sorted by key in byte order,
// concatenated as apiPath+k1+v1+k2+v2..., HMAC-SHA256 with the app secret,
// upper-case hex. JSON-valued params are signed as their exact serialized text,
// so callers must send the very string they signed.
func Sign(secret, apiPath string, params map[string]string) string {
	return signParams(secret, apiPath, params, false)
}

func signParams(secret, apiPath string, params map[string]string, keepEmpty bool) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k == "sign" || (v == "" && !keepEmpty) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// A hash's Write never fails (hash.Hash says so).
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(apiPath))
	for _, k := range keys {
		mac.Write([]byte(k))
		mac.Write([]byte(params[k]))
	}
	return strings.ToUpper(hex.EncodeToString(mac.Sum(nil)))
}

// AuthorizeURL is the page where an operator signs in to a Taobao buyer
// account and allows our app; the browser then returns to redirectURI with
// ?code=...&state=... (or error=... when refused). force_auth=true makes Taobao
// ask again even when a session exists, so the operator can pick the account.
func (c *Client) AuthorizeURL(redirectURI, state string) string {
	q := url.Values{}
	q.Set("response_type", "code")
	q.Set("force_auth", "true")
	q.Set("client_id", c.appKey)
	q.Set("redirect_uri", redirectURI)
	if state != "" {
		q.Set("state", state)
	}
	return c.authURL + "/oauth/authorize?" + q.Encode()
}

// CreateToken exchanges an authorization code (from the redirect) for tokens.
func (c *Client) CreateToken(ctx context.Context, code string) (*Token, error) {
	return c.token(ctx, PathTokenCreate, map[string]string{"code": code})
}

// RefreshToken gets a fresh access token with a refresh token. When the
// refresh token itself has expired the error satisfies NeedsReauthorization.
func (c *Client) RefreshToken(ctx context.Context, refreshToken string) (*Token, error) {
	return c.token(ctx, PathTokenRefresh, map[string]string{"refresh_token": refreshToken})
}

type tokenWire struct {
	AccessToken      flexString `json:"access_token"`
	RefreshToken     flexString `json:"refresh_token"`
	ExpiresIn        flexInt64  `json:"expires_in"`
	RefreshExpiresIn flexInt64  `json:"refresh_expires_in"`
	AccountID        flexString `json:"account_id"`
	SellerID         flexString `json:"seller_id"`
	UserID           flexString `json:"user_id"`
	ShortCode        flexString `json:"short_code"`
	AccountPlatform  flexString `json:"account_platform"`
	Account          flexString `json:"account"`
}

func (c *Client) token(ctx context.Context, api string, params map[string]string) (*Token, error) {
	raw, env, err := c.call(ctx, api, "", params)
	if err != nil {
		return nil, err
	}
	var w tokenWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, c.decodeError(api, env, err)
	}
	// Token fields are documented at the top level; accept them under "data"
	// too in case the gateway wraps them like business answers.
	if w.AccessToken == "" && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, &w); err != nil {
			return nil, c.decodeError(api, env, err)
		}
	}
	if w.AccessToken == "" {
		return nil, &Error{API: api, Code: "NoAccessToken", Message: "the answer has no access_token", RequestID: string(env.RequestID)}
	}
	now := c.now()
	t := &Token{
		AccessToken:      string(w.AccessToken),
		RefreshToken:     string(w.RefreshToken),
		ExpiresIn:        int64(w.ExpiresIn),
		RefreshExpiresIn: int64(w.RefreshExpiresIn),
		AccountID:        string(w.AccountID),
		SellerID:         string(w.SellerID),
		UserID:           string(w.UserID),
		Account:          string(w.Account),
		AccountPlatform:  string(w.AccountPlatform),
		ShortCode:        string(w.ShortCode),
		RequestID:        string(env.RequestID),
	}
	if t.ExpiresIn > 0 {
		t.AccessExpiresAt = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	if t.RefreshExpiresIn > 0 {
		t.RefreshExpiresAt = now.Add(time.Duration(t.RefreshExpiresIn) * time.Second)
	}
	return t, nil
}

type orderLineWire struct {
	ItemID      string `json:"item_id"`
	SKUID       string `json:"sku_id,omitempty"`
	Quantity    int    `json:"quantity"`
	Price       int64  `json:"price"`
	Currency    string `json:"currency"`
	OrderLineNo string `json:"order_line_no"`
	Title       string `json:"title,omitempty"`
}

type createDataWire struct {
	OuterPurchaseID flexString `json:"outer_purchase_id"`
	PaymentURL      flexString `json:"payment_url"`
	Success         flexBool   `json:"success"`
	ErrorCode       flexString `json:"error_code"`
	ErrorMessage    flexString `json:"error_message"`
	ErrorMsg        flexString `json:"error_msg"`
	OrderList       []struct {
		PurchaseID       flexInt64  `json:"purchase_id"`
		SupplierNick     flexString `json:"supplier_nick"`
		EstimateAmount   flexInt64  `json:"estimate_amount"`
		EstimateCurrency flexString `json:"estimate_currency"`
		SourceMarket     flexString `json:"source_market"`
		OrderLineList    []struct {
			SubPurchaseOrderID flexInt64  `json:"sub_purchase_order_id"`
			ItemID             flexString `json:"item_id"`
			SKUID              flexString `json:"sku_id"`
			Quantity           flexInt64  `json:"quantity"`
			OrderLineNo        flexString `json:"order_line_no"`
		} `json:"order_line_list"`
	} `json:"order_list"`
}

// CreatePurchaseOrder creates the purchase on Taobao for the account whose
// access token is given. Retrying with the same OuterPurchaseID is safe: Taobao
// treats it as the idempotency key and answers with the existing purchase(s).
// Lines are sent in snake_case (item_id, sku_id, order_line_no); some PHP
// integrations use camelCase inside the same list, which the sandbox accepts
// too [uncertain which the live server requires].
func (c *Client) CreatePurchaseOrder(ctx context.Context, accessToken string, req PurchaseOrderRequest) (*PurchaseOrderResult, error) {
	if req.OuterPurchaseID == "" {
		return nil, errors.New("taobao: CreatePurchaseOrder: OuterPurchaseID is required")
	}
	if len(req.Lines) == 0 {
		return nil, errors.New("taobao: CreatePurchaseOrder: no order lines")
	}
	lines := make([]orderLineWire, len(req.Lines))
	var total int64
	for i, l := range req.Lines {
		cur := l.Currency
		if cur == "" {
			cur = "CNY"
		}
		no := l.OrderLineNo
		if no == "" {
			no = strconv.Itoa(i + 1)
		}
		lines[i] = orderLineWire{ItemID: l.ItemID, SKUID: l.SKUID, Quantity: l.Quantity, Price: l.PriceFen, Currency: cur, OrderLineNo: no, Title: l.Title}
		total += l.PriceFen * int64(l.Quantity)
	}
	if req.PurchaseAmountFen > 0 {
		total = req.PurchaseAmountFen
	}
	params := map[string]string{
		"outer_purchase_id": req.OuterPurchaseID,
		"purchase_amount":   strconv.FormatInt(total, 10),
		"order_line_list":   mustJSON(lines),
		"receiver":          mustJSON(req.Receiver),
	}
	if req.Warehouse != nil {
		params["warehouse_address_info"] = mustJSON(req.Warehouse)
	}
	setIf(params, "seller_order_number", req.SellerOrderNumber)
	setIf(params, "order_source", req.OrderSource)
	setIf(params, "channel_order_type", req.ChannelOrderType)
	setIf(params, "order_remark", req.OrderRemark)
	if req.SupportPartialSuccess {
		params["support_partial_success"] = "true"
	}
	_, env, err := c.call(ctx, PathCreate, accessToken, params)
	if err != nil {
		return nil, err
	}
	var d createDataWire
	if len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return nil, c.decodeError(PathCreate, env, err)
		}
	}
	if d.Success.Set && !d.Success.Value {
		msg := firstNonEmpty(string(d.ErrorMessage), string(d.ErrorMsg))
		return nil, &Error{API: PathCreate, Code: firstNonEmpty(string(d.ErrorCode), "CreateFailed"), Message: msg, RequestID: string(env.RequestID)}
	}
	res := &PurchaseOrderResult{
		OuterPurchaseID: string(d.OuterPurchaseID),
		PaymentURL:      string(d.PaymentURL),
		RequestID:       string(env.RequestID),
	}
	for _, o := range d.OrderList {
		cp := CreatedPurchase{
			PurchaseID:        int64(o.PurchaseID),
			SupplierNick:      string(o.SupplierNick),
			EstimateAmountFen: int64(o.EstimateAmount),
			EstimateCurrency:  string(o.EstimateCurrency),
			SourceMarket:      string(o.SourceMarket),
		}
		for _, l := range o.OrderLineList {
			cp.Lines = append(cp.Lines, CreatedLine{
				SubPurchaseOrderID: int64(l.SubPurchaseOrderID),
				ItemID:             string(l.ItemID),
				SKUID:              string(l.SKUID),
				Quantity:           int64(l.Quantity),
				OrderLineNo:        string(l.OrderLineNo),
			})
		}
		res.Orders = append(res.Orders, cp)
	}
	if len(res.Orders) == 0 {
		return nil, &Error{API: PathCreate, Code: "NoPurchaseCreated", Message: "the answer lists no purchase order", RequestID: string(env.RequestID)}
	}
	return res, nil
}

type payDataWire struct {
	PayFailureIDs []flexInt64 `json:"pay_failure_purchase_order_ids"`
	WillPayIDs    []flexInt64 `json:"will_pay_purchase_order_ids"`
	Failed        []struct {
		// The failure entry names vary between sources: gspOrderId/errorCode/
		// errorMessage (production PHP) and purchase_order_id/reason (an older Go
		// SDK). We accept all of them.
		GspOrderID      flexInt64  `json:"gspOrderId"`
		PurchaseOrderID flexInt64  `json:"purchase_order_id"`
		PurchaseID      flexInt64  `json:"purchase_id"`
		ErrorCode       flexString `json:"errorCode"`
		ErrorCodeSnake  flexString `json:"error_code"`
		ErrorMessage    flexString `json:"errorMessage"`
		ErrorMsgSnake   flexString `json:"error_message"`
		Reason          flexString `json:"reason"`
	} `json:"pay_failed_results"`
}

// PayPurchaseOrders pays purchases from the account's distributor balance,
// MaxPayBatch ids per call. A purchase that cannot be paid (e.g. balance too
// low) is listed in Failures, not returned as an error; the error is for the
// call itself (token expired, gateway down). When a later batch fails, the
// result of the earlier batches is returned together with the error.
func (c *Client) PayPurchaseOrders(ctx context.Context, accessToken string, purchaseIDs []int64) (*PayResult, error) {
	res := &PayResult{}
	for start := 0; start < len(purchaseIDs); start += MaxPayBatch {
		end := min(start+MaxPayBatch, len(purchaseIDs))
		if err := c.payBatch(ctx, accessToken, purchaseIDs[start:end], res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (c *Client) payBatch(ctx context.Context, accessToken string, ids []int64, res *PayResult) error {
	_, env, err := c.call(ctx, PathBatchPay, accessToken, map[string]string{"purchaseOrderIdList": mustJSON(ids)})
	if err != nil {
		return err
	}
	var d payDataWire
	if len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return c.decodeError(PathBatchPay, env, err)
		}
	}
	for _, id := range d.WillPayIDs {
		res.WillPay = append(res.WillPay, int64(id))
	}
	seen := map[int64]bool{}
	for _, f := range d.Failed {
		id := int64(f.GspOrderID)
		if id == 0 {
			id = int64(f.PurchaseOrderID)
		}
		if id == 0 {
			id = int64(f.PurchaseID)
		}
		seen[id] = true
		res.Failures = append(res.Failures, PayFailure{
			PurchaseID: id,
			Code:       firstNonEmpty(string(f.ErrorCode), string(f.ErrorCodeSnake)),
			Message:    firstNonEmpty(string(f.ErrorMessage), string(f.ErrorMsgSnake), string(f.Reason)),
		})
		res.FailedID = appendUnique(res.FailedID, id)
	}
	for _, id := range d.PayFailureIDs {
		res.FailedID = appendUnique(res.FailedID, int64(id))
		if !seen[int64(id)] {
			res.Failures = append(res.Failures, PayFailure{PurchaseID: int64(id)})
		}
	}
	return nil
}

type logisticWire struct {
	LogisticCompanyName flexString `json:"logistic_company_name"`
	LogisticNumber      flexString `json:"logistic_number"`
	RtsTime             flexInt64  `json:"rts_time"`
}

type queryDataWire struct {
	ResultsTotal   flexInt64 `json:"results_total"`
	PageNo         flexInt64 `json:"page_no"`
	PageSize       flexInt64 `json:"page_size"`
	PurchaseOrders []struct {
		PurchaseID        flexInt64  `json:"purchase_id"`
		OuterPurchaseID   flexString `json:"outer_purchase_id"`
		Status            flexString `json:"status"`
		PurchaseAmount    flexInt64  `json:"purchase_amount"`
		PayAmount         flexInt64  `json:"pay_amount"`
		PurchaseCurrency  flexString `json:"purchase_currency"`
		SupplierNick      flexString `json:"supplier_nick"`
		PayTime           flexInt64  `json:"pay_time"`
		CreatedTime       flexInt64  `json:"created_time"`
		ModifyTime        flexInt64  `json:"modify_time"`
		SubPurchaseOrders []struct {
			SubPurchaseOrderID  flexInt64      `json:"sub_purchase_order_id"`
			Status              flexString     `json:"status"`
			ItemID              flexString     `json:"item_id"`
			SKUID               flexString     `json:"sku_id"`
			Title               flexString     `json:"title"`
			Quantity            flexInt64      `json:"quantity"`
			PurchaseAmount      flexInt64      `json:"purchase_amount"`
			PayAmount           flexInt64      `json:"pay_amount"`
			LogisticOrders      []logisticWire `json:"logistic_orders"`
			IntlLogisticOrders  []logisticWire `json:"international_logistic_orders"`
			RefundStatus        flexInt64      `json:"refund_status"`
			CloseReason         flexString     `json:"close_reason"`
			ErrorCode           flexString     `json:"error_code"`
			ErrorMessage        flexString     `json:"error_message"`
			LogisticCompanyName flexString     `json:"logistic_company_name"`
			LogisticNumber      flexString     `json:"logistic_number"`
			RtsTime             flexInt64      `json:"rts_time"`
		} `json:"sub_purchase_orders"`
	} `json:"purchase_orders"`
}

// QueryPurchaseOrders reads purchases of the account: by ids, by our
// OuterPurchaseID (how the app finds a purchase after a crash lost the create
// answer), by status or by modification time.
func (c *Client) QueryPurchaseOrders(ctx context.Context, accessToken string, q PurchaseQuery) (*PurchaseQueryResult, error) {
	params := map[string]string{}
	if len(q.PurchaseIDs) > 0 {
		params["purchase_ids"] = mustJSON(q.PurchaseIDs)
	}
	setIf(params, "outer_purchase_id", q.OuterPurchaseID)
	setIf(params, "status", q.Status)
	if q.PageNo > 0 {
		params["page_no"] = strconv.Itoa(q.PageNo)
	}
	if q.PageSize > 0 {
		params["page_size"] = strconv.Itoa(q.PageSize)
	}
	if !q.ModifiedFrom.IsZero() {
		params["modify_time_start"] = strconv.FormatInt(q.ModifiedFrom.UnixMilli(), 10)
	}
	if !q.ModifiedTo.IsZero() {
		params["modify_time_end"] = strconv.FormatInt(q.ModifiedTo.UnixMilli(), 10)
	}
	_, env, err := c.call(ctx, PathQuery, accessToken, params)
	if err != nil {
		return nil, err
	}
	var d queryDataWire
	if len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return nil, c.decodeError(PathQuery, env, err)
		}
	}
	res := &PurchaseQueryResult{
		Total:     int64(d.ResultsTotal),
		PageNo:    int64(d.PageNo),
		PageSize:  int64(d.PageSize),
		RequestID: string(env.RequestID),
	}
	for _, p := range d.PurchaseOrders {
		po := PurchaseOrder{
			PurchaseID:        int64(p.PurchaseID),
			OuterPurchaseID:   string(p.OuterPurchaseID),
			Status:            string(p.Status),
			PurchaseAmountFen: int64(p.PurchaseAmount),
			PayAmountFen:      int64(p.PayAmount),
			Currency:          string(p.PurchaseCurrency),
			SupplierNick:      string(p.SupplierNick),
			PayTime:           msToTime(int64(p.PayTime)),
			CreatedTime:       msToTime(int64(p.CreatedTime)),
			ModifyTime:        msToTime(int64(p.ModifyTime)),
		}
		for _, s := range p.SubPurchaseOrders {
			so := SubPurchaseOrder{
				SubPurchaseOrderID: int64(s.SubPurchaseOrderID),
				Status:             string(s.Status),
				ItemID:             string(s.ItemID),
				SKUID:              string(s.SKUID),
				Title:              string(s.Title),
				Quantity:           int64(s.Quantity),
				PurchaseAmountFen:  int64(s.PurchaseAmount),
				PayAmountFen:       int64(s.PayAmount),
				RefundStatus:       int64(s.RefundStatus),
				CloseReason:        string(s.CloseReason),
				ErrorCode:          string(s.ErrorCode),
				ErrorMessage:       string(s.ErrorMessage),
			}
			for _, l := range s.LogisticOrders {
				so.LogisticOrders = append(so.LogisticOrders, LogisticOrder{CompanyName: string(l.LogisticCompanyName), Number: string(l.LogisticNumber), ShippedAt: msToTime(int64(l.RtsTime))})
			}
			// Older answers carry one shipment in deprecated flat fields.
			if len(so.LogisticOrders) == 0 && s.LogisticNumber != "" {
				so.LogisticOrders = append(so.LogisticOrders, LogisticOrder{CompanyName: string(s.LogisticCompanyName), Number: string(s.LogisticNumber), ShippedAt: msToTime(int64(s.RtsTime))})
			}
			for _, l := range s.IntlLogisticOrders {
				so.InternationalLogisticOrders = append(so.InternationalLogisticOrders, LogisticOrder{CompanyName: string(l.LogisticCompanyName), Number: string(l.LogisticNumber), ShippedAt: msToTime(int64(l.RtsTime))})
			}
			po.SubOrders = append(po.SubOrders, so)
		}
		res.Orders = append(res.Orders, po)
	}
	return res, nil
}

// CancelPurchaseOrder asks Taobao to cancel a purchase. The real API is
// asynchronous: success means the request was accepted; query the purchase to
// see TRADE_CLOSED. An empty reason is sent as "other" [uncertain: the allowed
// reason values are not published].
func (c *Client) CancelPurchaseOrder(ctx context.Context, accessToken string, purchaseID int64, reason string) error {
	if reason == "" {
		reason = "other"
	}
	_, _, err := c.call(ctx, PathCancel, accessToken, map[string]string{
		"purchase_id":   strconv.FormatInt(purchaseID, 10),
		"cancel_reason": reason,
	})
	return err
}

// envelope is the union of the gateway and business answer fields.
type envelope struct {
	Type         flexString      `json:"type"`
	Code         flexString      `json:"code"`
	Message      flexString      `json:"message"`
	RequestID    flexString      `json:"request_id"`
	Success      flexBool        `json:"success"`
	ErrorCode    flexString      `json:"error_code"`
	ErrorMsg     flexString      `json:"error_msg"`
	ErrorMessage flexString      `json:"error_message"`
	Data         json.RawMessage `json:"data"`
}

// call signs and sends one request: system params and sign in the query,
// business params as a urlencoded POST body. It returns the raw body and the
// decoded envelope, or an *Error for gateway and business failures.
func (c *Client) call(ctx context.Context, api, accessToken string, business map[string]string) ([]byte, *envelope, error) {
	sys := map[string]string{
		"app_key":     c.appKey,
		"sign_method": "sha256",
		"timestamp":   strconv.FormatInt(c.now().UnixMilli(), 10),
		"partner_id":  c.partnerID,
	}
	if !strings.HasPrefix(api, "/auth/token/") {
		if accessToken == "" {
			return nil, nil, &Error{API: api, Code: CodeMissingParameter, Message: "no access token given for " + api}
		}
		sys["access_token"] = accessToken
	}
	all := make(map[string]string, len(sys)+len(business))
	for k, v := range business {
		all[k] = v
	}
	for k, v := range sys {
		all[k] = v
	}
	sign := Sign(c.appSecret, api, all)
	query := url.Values{}
	for k, v := range sys {
		query.Set(k, v)
	}
	query.Set("sign", sign)
	form := url.Values{}
	for k, v := range business {
		// Empty values are neither signed nor sent, so both sides agree.
		if v != "" {
			form.Set(k, v)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+api+"?"+query.Encode(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, &Error{API: api, Code: CodeTransport, Message: err.Error(), Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, &Error{API: api, Code: CodeTransport, Message: err.Error(), Err: err}
	}
	body, err := httpbody.ReadAndClose(resp, 8<<20)
	if err != nil {
		return nil, nil, &Error{API: api, Code: CodeTransport, Message: err.Error(), Err: err, HTTPStatus: resp.StatusCode}
	}
	var env envelope
	if jerr := json.Unmarshal(bytes.TrimSpace(body), &env); jerr != nil {
		e := &Error{API: api, HTTPStatus: resp.StatusCode, Code: CodeUnexpectedAnswer, Message: "unreadable answer: " + wire.Snippet(body), Err: jerr}
		if resp.StatusCode != http.StatusOK {
			e.Type = "ISP"
			e.Code = "HTTP" + strconv.Itoa(resp.StatusCode)
		}
		return nil, nil, e
	}
	if err := envelopeError(api, resp.StatusCode, &env); err != nil {
		return nil, nil, err
	}
	return body, &env, nil
}

// envelopeError turns a failed envelope into an *Error. Gateway failures carry
// a non-"0" code; business failures carry success=false (bool or string) or an
// error_code other than "0".
func envelopeError(api string, status int, env *envelope) error {
	code := strings.TrimSpace(string(env.Code))
	if code != "" && code != "0" {
		return &Error{API: api, Type: string(env.Type), Code: code, Message: firstNonEmpty(string(env.Message), string(env.ErrorMsg)), RequestID: string(env.RequestID), HTTPStatus: status}
	}
	ec := strings.TrimSpace(string(env.ErrorCode))
	failed := env.Success.Set && !env.Success.Value
	if !env.Success.Set && ec != "" && ec != "0" {
		failed = true
	}
	if failed {
		return &Error{API: api, Type: string(env.Type), Code: firstNonEmpty(ec, "UnknownError"), Message: firstNonEmpty(string(env.ErrorMsg), string(env.ErrorMessage), string(env.Message)), RequestID: string(env.RequestID), HTTPStatus: status}
	}
	if status != http.StatusOK {
		return &Error{API: api, Type: "ISP", Code: "HTTP" + strconv.Itoa(status), Message: http.StatusText(status), RequestID: string(env.RequestID), HTTPStatus: status}
	}
	return nil
}

func (c *Client) decodeError(api string, env *envelope, err error) error {
	return &Error{API: api, Code: CodeUnexpectedAnswer, Message: "unexpected answer shape: " + err.Error(), RequestID: string(env.RequestID), Err: err}
}

// Error is a failure reported by Taobao (gateway or business), met on the way
// to it (Code == CodeTransport), or an answer we could not read (Code ==
// CodeUnexpectedAnswer).
type Error struct {
	// Type is the gateway's category: "ISV" (our request), "ISP" (their
	// backend), "SYSTEM" (gateway); empty for business errors.
	Type      string
	Code      string
	Message   string
	RequestID string
	// API is the path called, e.g. "/purchase/order/create".
	API        string
	HTTPStatus int
	// Err is the underlying error for transport failures.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("taobao: ")
	if e.API != "" {
		b.WriteString(e.API)
		b.WriteString(": ")
	}
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request_id ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the transport error, if any (so errors.Is(err,
// context.DeadlineExceeded) works).
func (e *Error) Unwrap() error { return e.Err }

func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsTokenExpired reports whether Taobao rejected the access token
// (IllegalAccessToken): refresh it with RefreshToken and retry once.
func IsTokenExpired(err error) bool {
	c := codeOf(err)
	// "AccessTokenExpired"/"InvalidAccessToken" are accepted in case the
	// gateway ever uses the spellings other Alibaba gateways use [uncertain].
	return strings.EqualFold(c, CodeIllegalAccessToken) || strings.EqualFold(c, "AccessTokenExpired") || strings.EqualFold(c, "InvalidAccessToken")
}

// NeedsReauthorization reports whether the account's authorization is gone
// (refresh token expired, or the authorization code is invalid): an operator
// must authorize the account again through AuthorizeURL.
func NeedsReauthorization(err error) bool {
	c := codeOf(err)
	return strings.EqualFold(c, CodeIllegalRefreshToken) || strings.EqualFold(c, CodeInvalidCode) || strings.EqualFold(c, "RefreshTokenExpired")
}

// IsInsufficientBalance reports whether a payment failed because the
// distributor balance is too low. It works on errors and on PayFailure.Err().
func IsInsufficientBalance(err error) bool {
	return strings.EqualFold(codeOf(err), CodeInsufficientBalance)
}

// IsUnknownSKU reports whether Taobao rejected an order line because its item
// or SKU is unknown, or the SKU is missing.
func IsUnknownSKU(err error) bool {
	c := strings.ToUpper(codeOf(err))
	switch c {
	case CodeItemNotFound, CodeSKUNotFound, CodeSKURequired:
		return true
	}
	if strings.Contains(c, "SKU") || strings.Contains(c, "ITEM") {
		return strings.Contains(c, "NOT_FOUND") || strings.Contains(c, "NOT_EXIST") || strings.Contains(c, "INVALID") || strings.Contains(c, "MISSING") || strings.Contains(c, "REQUIRED")
	}
	return false
}

// IsTemporary reports whether retrying later may succeed: backend (ISP)
// failures, HTTP 5xx, rate limiting and transport errors. Retrying a create is
// safe thanks to OuterPurchaseID; retrying a pay may answer CodeNotPayable if
// the first attempt went through, so query the purchase then.
func IsTemporary(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if errors.Is(e.Err, context.Canceled) {
		return false
	}
	return e.Code == CodeTransport || strings.EqualFold(e.Type, "ISP") || e.HTTPStatus >= 500 ||
		strings.EqualFold(e.Code, CodeAPICallLimit) || strings.EqualFold(e.Code, CodeServiceUnavailable)
}

// Explain returns a short plain-English sentence for shop staff saying what
// went wrong and what to do. It returns "" for nil.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrBadSignature) {
		return "A message claiming to come from Taobao had a wrong signature and was ignored."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Something went wrong while talking to Taobao: " + err.Error()
	}
	code := strings.ToUpper(e.Code)
	switch {
	case IsTokenExpired(e):
		return "The Taobao session has expired: renew the account on the Procurement → Accounts page."
	case NeedsReauthorization(e):
		return "The Taobao authorization has expired or is no longer valid: authorize the account again on the Procurement → Accounts page."
	case IsInsufficientBalance(e):
		return "The Taobao account balance is too low to pay this purchase: top it up."
	case IsUnknownSKU(e):
		return "Taobao does not know this product or its variant (SKU): check the Taobao item and SKU ids on the product."
	case code == strings.ToUpper(CodeNotPayable):
		return "This purchase is not waiting for payment on Taobao (it may already be paid or closed): refresh its status."
	case code == strings.ToUpper(CodeNotCancellable):
		return "This purchase can no longer be cancelled on Taobao."
	case code == strings.ToUpper(CodePurchaseNotFound):
		return "Taobao does not know this purchase for this account."
	case code == strings.ToUpper(CodeIncompleteSignature) || code == strings.ToUpper(CodeInvalidAppKey):
		return "Taobao refused the app's credentials: check the App Key and App Secret in Integrations."
	case code == strings.ToUpper(CodeAPICallLimit):
		return "Too many requests to Taobao right now: wait a minute and try again."
	case e.Code == CodeTransport && (errors.Is(e.Err, context.DeadlineExceeded) || strings.Contains(strings.ToLower(e.Message), "timeout")):
		return "Taobao did not answer in time: try again in a few minutes."
	case IsTemporary(e):
		return "Taobao is not answering properly right now: try again in a few minutes."
	case e.Code == CodeUnexpectedAnswer:
		return "Taobao sent an answer OrderDesk does not understand: try again later, and tell support if it keeps happening."
	case code == strings.ToUpper(CodeMissingParameter) || code == strings.ToUpper(CodeInvalidParameter):
		return "Taobao rejected the request as incomplete or invalid (" + e.Code + "): " + e.Message
	}
	msg := "Taobao refused the request (" + e.Code + ")"
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg + "."
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain structs, slices and numbers reach here.
		panic(fmt.Sprintf("taobao: marshal: %v", err))
	}
	return string(b)
}

func setIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func appendUnique(list []int64, id int64) []int64 {
	for _, x := range list {
		if x == id {
			return list
		}
	}
	return append(list, id)
}
