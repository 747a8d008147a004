package taobao

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// These tests hold the sandbox to the wire shapes that public clients of
// Taobao's open platform rely on (written from its documentation and what
// github.com/Mlegbder/taobao-global sends and decodes): every parameter a
// string in one JSON body, signed with HMAC-SHA256 over the API path and
// the sorted names and values, in upper-case hex; answers whose code is the
// string "0" and whose ids, amounts and times are JSON numbers. They speak
// raw HTTP, not through our Client.

// sdkSign is the signature as such a client computes it.
func sdkSign(api string, params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(api)
	for _, k := range keys {
		b.WriteString(k + params[k])
	}
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// sdkCall posts params to api as that client does and decodes the answer
// into into, after checking the envelope it checks.
func (e *env) sdkCall(t *testing.T, api string, params map[string]string, into any) {
	t.Helper()
	params["app_key"] = DemoAppKey
	params["sign_method"] = "sha256"
	params["timestamp"] = strconv.FormatInt(e.clock.Now().UnixMilli(), 10)
	params["sign"] = sdkSign(api, params, DemoAppSecret)
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+mount+"/rest"+api, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", api, resp.StatusCode, raw)
	}
	var envelope struct {
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(raw, &envelope); err != nil || envelope.Code != "0" || envelope.RequestID == "" {
		t.Fatalf("%s: envelope %+v (%v), want code the string \"0\" and a request_id\n%s", api, envelope, err, raw)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: the answer does not decode with the client's types: %v\n%s", api, err, raw)
	}
}

// sdkToken is the token answer with the client's field types.
type sdkToken struct {
	ExpiresIn        int64  `json:"expires_in"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	AccountID        string `json:"account_id"`
	UserID           string `json:"user_id"`
	Account          string `json:"account"`
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
}

func TestTaobaoWireShapesOfAPublicClient(t *testing.T) {
	e := newEnv(t, SandboxConfig{})

	// OAuth: the authorization URL as the client's documentation builds it.
	q := url.Values{"response_type": {"code"}, "redirect_uri": {"https://shop.example/callback"}, "force_auth": {"true"}, "client_id": {DemoAppKey}}
	resp, err := http.Get(e.srv.URL + mount + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`data-testid="sandbox-authorize"`)) {
		t.Fatalf("the authorization page for the client's URL: HTTP %d", resp.StatusCode)
	}
	code := e.authorize(t, DemoAccount1, "authorize").Query().Get("code")

	var tok sdkToken
	e.sdkCall(t, PathTokenCreate, map[string]string{"code": code}, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn <= 0 || tok.RefreshExpiresIn <= tok.ExpiresIn || tok.Account != DemoAccount1 || tok.UserID == "" {
		t.Fatalf("token = %+v", tok)
	}
	var refreshed sdkToken
	e.sdkCall(t, PathTokenRefresh, map[string]string{"refresh_token": tok.RefreshToken}, &refreshed)
	if refreshed.AccessToken == "" || refreshed.ExpiresIn <= 0 {
		t.Fatalf("refreshed token = %+v", refreshed)
	}

	// Create: lines and addresses as JSON strings inside the string
	// parameters, amounts in fen as text.
	it := DemoItems[0]
	lines, _ := json.Marshal([]map[string]any{{"item_id": it.ItemID, "sku_id": it.SKUID, "quantity": 2, "currency": "CNY", "price": it.PriceFen, "order_line_no": "L-1"}})
	receiver, _ := json.Marshal(map[string]string{"country": "CN", "state": "广东", "city": "广州市", "district": "白云区", "name": "Warehouse Guangzhou", "address": "夏花二路961号", "zip": "510000", "mobile_phone": "15626113000"})
	var created struct {
		Success bool `json:"success"`
		Data    *struct {
			OuterPurchaseID string `json:"outer_purchase_id"`
			OrderList       []struct {
				PurchaseID     int64 `json:"purchase_id"`
				EstimateAmount int64 `json:"estimate_amount"`
				OrderLineList  []struct {
					ItemID             string `json:"item_id"`
					Quantity           int    `json:"quantity"`
					SubPurchaseOrderID int64  `json:"sub_purchase_order_id"`
					SkuID              int64  `json:"sku_id"`
				} `json:"order_line_list"`
			} `json:"order_list"`
		} `json:"data"`
	}
	e.sdkCall(t, PathCreate, map[string]string{"access_token": refreshed.AccessToken, "outer_purchase_id": "OD-W1",
		"purchase_amount": strconv.FormatInt(2*it.PriceFen, 10), "order_line_list": string(lines), "receiver": string(receiver),
		"need_sys_retry": "false"}, &created)
	if !created.Success || created.Data == nil || len(created.Data.OrderList) != 1 || created.Data.OrderList[0].PurchaseID == 0 ||
		len(created.Data.OrderList[0].OrderLineList) != 1 || created.Data.OrderList[0].OrderLineList[0].SubPurchaseOrderID == 0 {
		t.Fatalf("create = %+v", created)
	}
	pid := created.Data.OrderList[0].PurchaseID

	// Query by purchase_ids, a JSON array of numbers in a string.
	ids, _ := json.Marshal([]int64{pid})
	var queried struct {
		Success bool `json:"success"`
		Data    struct {
			ResultsTotal   int64 `json:"results_total"`
			PurchaseOrders []struct {
				Status            string `json:"status"`
				PurchaseID        int64  `json:"purchase_id"`
				OuterPurchaseID   string `json:"outer_purchase_id"`
				PurchaseAmount    int64  `json:"purchase_amount"`
				CreatedTime       int64  `json:"created_time"`
				ModifyTime        int64  `json:"modify_time"`
				SubPurchaseOrders []struct {
					SubPurchaseOrderID int64  `json:"sub_purchase_order_id"`
					SkuID              int64  `json:"sku_id"`
					Status             string `json:"status"`
				} `json:"sub_purchase_orders"`
			} `json:"purchase_orders"`
		} `json:"data"`
	}
	e.sdkCall(t, PathQuery, map[string]string{"access_token": refreshed.AccessToken, "purchase_ids": string(ids), "page_no": "1", "page_size": "10"}, &queried)
	if !queried.Success || len(queried.Data.PurchaseOrders) != 1 {
		t.Fatalf("query = %+v", queried)
	}
	po := queried.Data.PurchaseOrders[0]
	if po.PurchaseID != pid || po.OuterPurchaseID != "OD-W1" || po.CreatedTime <= 0 || len(po.SubPurchaseOrders) != 1 || po.SubPurchaseOrders[0].SkuID == 0 {
		t.Errorf("purchase order = %+v", po)
	}
}
