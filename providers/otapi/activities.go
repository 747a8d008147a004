package otapi

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// The background activity types of autobuy's four interactive operations
// (OT admin code's BackgroundActivities::TYPE_PROVIDER_ORDERS_INTEGRATION_*).
const (
	ActivityExporting     = "ProviderOrdersIntegrationExporting"
	ActivitySynchronizing = "ProviderOrdersIntegrationSynchronizing"
	ActivityLinking       = "ProviderOrdersIntegrationLinking"
	ActivityUnlinking     = "ProviderOrdersIntegrationUnlinking"
)

// ExportParameters selects the lines of an order: the whole order (every
// line that can be exported, or every linked line when unlinking), or only
// the lines listed.
type ExportParameters struct {
	OrderID      string
	OrderLineIDs []string
}

// XML renders p as the <Parameters> document the method takes.
func (p ExportParameters) XML() string {
	type ids struct {
		ID []string `xml:"Id"`
	}
	x := struct {
		XMLName xml.Name `xml:"Parameters"`
		OrderID string   `xml:"OrderId"`
		// A pointer, so that the whole order sends no <OrderLineIds> at
		// all rather than an empty one.
		LineIDs *ids `xml:"OrderLineIds,omitempty"`
	}{OrderID: p.OrderID}
	if len(p.OrderLineIDs) > 0 {
		x.LineIDs = &ids{ID: p.OrderLineIDs}
	}
	return marshalXML(x)
}

// LinkParameters names an order and the provider orders (bought by hand,
// e.g. Tmall items) whose items are to be linked to its lines.
type LinkParameters struct {
	OrderID          string
	ProviderOrderIDs []string
}

// XML renders p as <Parameters><OrderId/><ProviderOrderIds><Id/>… [U]: no
// public code shows RunOrderLinkingWithProvider's document; this follows
// the export's pattern.
func (p LinkParameters) XML() string {
	return marshalXML(struct {
		XMLName xml.Name `xml:"Parameters"`
		OrderID string   `xml:"OrderId"`
		IDs     []string `xml:"ProviderOrderIds>Id"`
	}{OrderID: p.OrderID, IDs: p.ProviderOrderIDs})
}

// syncXML renders the order ids of a synchronisation as
// <Parameters><OrderIds><Id/>… [C]; no ids means every exported order.
func syncXML(orderIDs []string) string {
	type ids struct {
		ID []string `xml:"Id"`
	}
	x := struct {
		XMLName xml.Name `xml:"Parameters"`
		IDs     *ids     `xml:"OrderIds,omitempty"`
	}{}
	if len(orderIDs) > 0 {
		x.IDs = &ids{ID: orderIDs}
	}
	return marshalXML(x)
}

// ActivityID identifies a background activity (BackgroundActivityIdentificationInfo).
type ActivityID struct {
	Type string
	ID   string
}

// RunOrderExportingToProvider starts exporting an order (or some of its
// lines) to the provider with the given provider session and returns the
// background activity to follow with BackgroundActivity. The activity
// checks items, configurations and prices first and asks the operator
// about each mismatch (Activity.IsAwaitingAction; answer with
// AnswerActivity).
func (c *Client) RunOrderExportingToProvider(ctx context.Context, operatorSession, providerType, providerSession string, p ExportParameters) (*ActivityID, error) {
	return c.runActivity(ctx, "RunOrderExportingToProvider", ActivityExporting, operatorSession, providerType, providerSession, p.XML())
}

// RunOrdersSynchronizingWithProvider starts a synchronisation of exported
// orders with the provider (statuses, track numbers); no orderIDs means
// every exported order. OT also synchronises by itself in the background.
func (c *Client) RunOrdersSynchronizingWithProvider(ctx context.Context, operatorSession, providerType, providerSession string, orderIDs []string) (*ActivityID, error) {
	return c.runActivity(ctx, "RunOrdersSynchronizingWithProvider", ActivitySynchronizing, operatorSession, providerType, providerSession, syncXML(orderIDs))
}

// RunOrderLinkingWithProvider starts linking an order's lines to provider
// orders bought by hand; OT matches the items itself and asks the operator
// about those it cannot match. [U] the method's parameters follow the
// export's.
func (c *Client) RunOrderLinkingWithProvider(ctx context.Context, operatorSession, providerType, providerSession string, p LinkParameters) (*ActivityID, error) {
	return c.runActivity(ctx, "RunOrderLinkingWithProvider", ActivityLinking, operatorSession, providerType, providerSession, p.XML())
}

// RunOrderUnlinkingFromProvider starts unlinking lines of an order from
// their provider orders (all linked lines when none are listed), e.g.
// before exporting them again. The provider order itself stays at the
// provider. [U] the method's parameters follow the export's.
func (c *Client) RunOrderUnlinkingFromProvider(ctx context.Context, operatorSession, providerType, providerSession string, p ExportParameters) (*ActivityID, error) {
	return c.runActivity(ctx, "RunOrderUnlinkingFromProvider", ActivityUnlinking, operatorSession, providerType, providerSession, p.XML())
}

// runActivity calls one of the Run… methods and reads the activity's id
// ({Type, Id}; Id may be {"Value": …}).
func (c *Client) runActivity(ctx context.Context, method, typ, operatorSession, providerType, providerSession, doc string) (*ActivityID, error) {
	res, err := c.Call(ctx, method, map[string]string{
		"sessionId": operatorSession, "providerType": providerType, "providerSessionId": providerSession, "xmlParameters": doc,
	})
	if err != nil {
		return nil, providerSessionError(err)
	}
	var w struct {
		Type string          `json:"Type"`
		ID   json.RawMessage `json:"Id"`
	}
	if err := json.Unmarshal(res, &w); err != nil || value(w.ID) == "" {
		return nil, &Error{Method: method, Code: CodeInternalError, Description: "answer without an activity id"}
	}
	if w.Type == "" {
		w.Type = typ
	}
	return &ActivityID{Type: w.Type, ID: value(w.ID)}, nil
}

// providerSessionError tells a provider session that OT no longer accepts
// from an expired operator session: the first needs a person to authorise
// the provider account again, the second only a new sign-in. [U] OT's code
// for it is not public: ProviderSessionExpired is taken as is, and a
// SessionExpired or NotFound that speaks of the provider session is taken
// as one.
func providerSessionError(err error) error {
	e, ok := err.(*Error)
	if !ok || e.Code == CodeProviderSessionExpired {
		return err
	}
	if (e.Code == CodeSessionExpired || e.Code == CodeNotFound) && strings.Contains(strings.ToLower(e.Description), "provider session") {
		c := *e
		c.SubCode, c.Code = e.Code, CodeProviderSessionExpired
		return &c
	}
	return err
}

// Action is a choice an activity waiting for the operator offers.
type Action struct {
	ID          string
	DisplayName string
}

// Step is one entry of an activity's log.
type Step struct {
	// Type is the kind of step: Info, Warning, Question (a step that
	// offers Actions) or Error ([U]: the set of step types is not public).
	Type          string
	Message       string
	TimeFromStart string
	Actions       []Action
	// Code names the error of an Error step when OT gives one [U]; see
	// Activity.Err.
	Code string
}

// Activity is the state of a background activity
// (BackgroundActivityFullInfo).
type Activity struct {
	ID               string
	Type             string
	Description      string
	IsFinished       bool
	IsCancelled      bool
	IsAwaitingAction bool
	ProgressPercent  int
	// Actions are the answers the activity waits for, while
	// IsAwaitingAction.
	Actions []Action
	Steps   []Step
}

// Question returns what the activity asks the operator and the answers it
// offers: the last step that offers actions, while it awaits an answer.
func (a *Activity) Question() (string, []Action) {
	if !a.IsAwaitingAction {
		return "", nil
	}
	for i := len(a.Steps) - 1; i >= 0; i-- {
		if len(a.Steps[i].Actions) > 0 {
			return a.Steps[i].Message, a.Steps[i].Actions
		}
	}
	return a.Description, a.Actions
}

// Reasons an activity failed, set as Error.SubCode when Err is
// CodeActivityFailed. [U] OT's steps carry words, not codes, as far as the
// public record shows: a step's Code is taken when it has one, else the
// reason is read from the words (English or Russian, seed 002's).
const (
	ReasonUnpaidOrdersLimit      = "UnpaidOrdersLimit"
	ReasonInvalidBuyoutAddress   = "InvalidBuyoutAddress"
	ReasonOrderNotPaid           = "OrderNotPaid"
	ReasonProviderSessionExpired = "ProviderSessionExpired"
	ReasonCancelled              = "Cancelled"
)

// stepReason is the reason of an Error step.
func stepReason(s Step) string {
	if s.Code != "" {
		return s.Code
	}
	m := strings.ToLower(s.Message)
	switch {
	case strings.Contains(m, "unpaid orders") || strings.Contains(m, "лимит неоплаченных"):
		return ReasonUnpaidOrdersLimit
	case strings.Contains(m, "buyout address") || strings.Contains(m, "адреса для выкупа"):
		return ReasonInvalidBuyoutAddress
	case strings.Contains(m, "is not paid") || strings.Contains(m, "не оплачен"):
		return ReasonOrderNotPaid
	case strings.Contains(m, "provider session"):
		return ReasonProviderSessionExpired
	}
	return ""
}

// Err returns nil while the activity runs or when it finished well, and an
// *Error (Code CodeActivityFailed, SubCode one of the Reason constants or
// "", Description the failing step's words) when it finished with an
// error step or was cancelled.
func (a *Activity) Err() error {
	if !a.IsFinished && !a.IsCancelled {
		return nil
	}
	for _, s := range a.Steps {
		if strings.EqualFold(s.Type, "Error") {
			return &Error{Method: a.Type, Code: CodeActivityFailed, SubCode: stepReason(s), Description: s.Message}
		}
	}
	if a.IsCancelled {
		return &Error{Method: a.Type, Code: CodeActivityFailed, SubCode: ReasonCancelled, Description: "the activity was cancelled"}
	}
	return nil
}

// BackgroundActivity reads the state of an activity; follow it until
// IsFinished, answering it (AnswerActivity) while IsAwaitingAction. [U] the
// method name GetBackgroundActivityInfo(language, sessionId, activityType,
// activityId) comes from OT's own admin code
// (ActivitiesUtil::getActivityInfoAction); the query parameter names
// activityType and activityId follow its argument names.
func (c *Client) BackgroundActivity(ctx context.Context, operatorSession string, id ActivityID) (*Activity, error) {
	res, err := c.Call(ctx, "GetBackgroundActivityInfo", map[string]string{
		"sessionId": operatorSession, "activityType": id.Type, "activityId": id.ID,
	})
	if err != nil {
		return nil, err
	}
	var w struct {
		ID               json.RawMessage `json:"Id"`
		Type             string          `json:"Type"`
		Description      string          `json:"Description"`
		IsFinished       json.RawMessage `json:"IsFinished"`
		IsCancelled      json.RawMessage `json:"IsCancelled"`
		IsAwaitingAction json.RawMessage `json:"IsAwaitingAction"`
		ProgressPercent  json.RawMessage `json:"ProgressPercent"`
		Actions          json.RawMessage `json:"Actions"`
		Steps            json.RawMessage `json:"Steps"`
	}
	if err := json.Unmarshal(res, &w); err != nil {
		return nil, fmt.Errorf("otapi: GetBackgroundActivityInfo: decode answer: %w", err)
	}
	a := &Activity{ID: value(w.ID), Type: w.Type, Description: w.Description,
		IsFinished: truthy(w.IsFinished), IsCancelled: truthy(w.IsCancelled), IsAwaitingAction: truthy(w.IsAwaitingAction)}
	if a.ID == "" {
		a.ID = id.ID
	}
	if a.Type == "" {
		a.Type = id.Type
	}
	if p := value(w.ProgressPercent); p != "" {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("otapi: GetBackgroundActivityInfo: progress %q: %w", p, err)
		}
		a.ProgressPercent = int(f)
	}
	a.Actions = actions(w.Actions)
	for _, item := range list(w.Steps) {
		var s struct {
			Type          string          `json:"Type"`
			Message       string          `json:"Message"`
			TimeFromStart json.RawMessage `json:"TimeFromStart"`
			Actions       json.RawMessage `json:"Actions"`
			Code          json.RawMessage `json:"ErrorCode"`
		}
		if json.Unmarshal(item, &s) == nil {
			a.Steps = append(a.Steps, Step{Type: s.Type, Message: s.Message, TimeFromStart: scalar(s.TimeFromStart), Actions: actions(s.Actions), Code: scalar(s.Code)})
		}
	}
	return a, nil
}

func actions(raw json.RawMessage) []Action {
	var out []Action
	for _, item := range list(raw) {
		var a struct {
			ID          json.RawMessage `json:"Id"`
			DisplayName string          `json:"DisplayName"`
		}
		if json.Unmarshal(item, &a) == nil {
			out = append(out, Action{ID: value(a.ID), DisplayName: a.DisplayName})
		}
	}
	return out
}

// truthy reads true, "true", 1 and "1" as true.
func truthy(raw json.RawMessage) bool {
	switch strings.Trim(strings.ToLower(strings.TrimSpace(string(raw))), `"`) {
	case "true", "1":
		return true
	}
	return false
}

// AnswerActivity chooses one of the actions an activity awaiting the
// operator offers (an Action.ID of Activity.Actions); the activity goes on.
// [U] the method name DoActionForBackgroundActivity(language, sessionId,
// activityType, activityId, actionId) comes from OT's own admin code
// (ActivitiesUtil::doActivityActionAction); the query parameter names
// follow its argument names.
func (c *Client) AnswerActivity(ctx context.Context, operatorSession string, id ActivityID, actionID string) error {
	_, err := c.Call(ctx, "DoActionForBackgroundActivity", map[string]string{
		"sessionId": operatorSession, "activityType": id.Type, "activityId": id.ID, "actionId": actionID,
	})
	return err
}

// CancelActivity stops an activity that has not finished. [U] no public
// code shows OT's method; CancelBackgroundActivity(sessionId, activityType,
// activityId) is this package's guess, isolated here.
func (c *Client) CancelActivity(ctx context.Context, operatorSession string, id ActivityID) error {
	_, err := c.Call(ctx, "CancelBackgroundActivity", map[string]string{
		"sessionId": operatorSession, "activityType": id.Type, "activityId": id.ID,
	})
	return err
}
