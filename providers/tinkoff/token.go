package tinkoff

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Token computes the bank's request/notification signature: take the
// root-level scalar parameters only (Token itself and nested objects or arrays
// such as DATA, Receipt and Shops are left out), add Password, sort by key,
// concatenate the values, SHA-256, lowercase hex. Booleans count as "true" or
// "false", numbers in plain decimal. JSON nulls are left out (an absent value,
// not the text "null").
func Token(params map[string]any, password string) string {
	vals := make(map[string]string, len(params)+1)
	for k, v := range params {
		if k == "Token" {
			continue
		}
		if s, ok := scalarString(v); ok {
			vals[k] = s
		}
	}
	vals["Password"] = password
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(vals[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// scalarString renders a root-level value the way the bank concatenates it;
// ok is false for values that do not take part in the token.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		// The exact text the sender wrote, so a large PaymentId keeps all
		// its digits.
		return x.String(), true
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}
