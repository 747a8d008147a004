package procurement

import (
	"context"
	"net/url"
	"sort"
	"time"

	"orderdesk/model"
	"orderdesk/providers/otapi"
)

// ReturnPath is where OT sends the operator back after a provider
// authorisation, on the shop's own address.
const ReturnPath = "/oauth/otapi/return"

// returnURL is the shop's return address with the state of this redirect.
func (s *Service) returnURL(t *model.Tenant, state string) string {
	return s.cfg.ShopURL(t) + ReturnPath + "?state=" + url.QueryEscape(state)
}

// AuthURL starts the daily renewal of a Taobao session at OT (seed 002's
// "getting a provider session"): a single-use state bound to the operator,
// then OT's authentication address that the operator's browser is sent to.
// OT sends the browser back to the shop's ReturnPath.
func (s *Service) AuthURL(ctx context.Context, t *model.Tenant, user *model.User) (string, error) {
	c, err := s.connect(ctx, t)
	if err != nil {
		return "", err
	}
	state, err := s.store.CreateOAuthState(ctx, t.ID, c.in.ID, user.ID)
	if err != nil {
		return "", err
	}
	var u string
	if err := c.asOperator(ctx, func(op string) (err error) {
		u, err = c.c.ProviderAuthURL(ctx, op, otapi.ProviderTaobao, s.returnURL(t, state))
		return err
	}); err != nil {
		return "", wordsOf(err)
	}
	return u, nil
}

// CompleteAuth takes the operator back from OT: the state must be the one
// given to this operator (single use); then OT's answer is read (a session,
// or its refusal in words, as a ConflictError) and the session is kept with
// its login and end, as OT's list says them.
func (s *Service) CompleteAuth(ctx context.Context, t *model.Tenant, user *model.User, q url.Values) (*model.OTProviderSession, error) {
	integrationID, err := s.store.UseOAuthState(ctx, t.ID, user.ID, q.Get("state"))
	if err != nil {
		return nil, err
	}
	id, err := otapi.ParseProviderReturn(q)
	if err != nil {
		return nil, &model.ConflictError{Msg: "Nothing was stored: " + otapi.Explain(err)}
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return nil, err
	}
	if c.in.ID != integrationID {
		return nil, &model.ConflictError{Msg: "Nothing was stored: the shop's OT integration changed during the authorisation; start again."}
	}
	var list []otapi.ProviderSession
	if err := c.asOperator(ctx, func(op string) (err error) {
		list, err = c.c.ProviderSessions(ctx, op, otapi.ProviderTaobao)
		return err
	}); err != nil {
		return nil, &model.ConflictError{Msg: "Nothing was stored: " + otapi.Explain(err)}
	}
	for _, ps := range list {
		if ps.ID == id {
			login := ps.Name
			if login == "" {
				login = "session " + id
			}
			return s.store.SaveOTProviderSession(ctx, t, c.in.ID, login, id, ps.ExpiresAt, model.StaffActor(user))
		}
	}
	return nil, &model.ConflictError{Msg: "Nothing was stored: OT does not list the session it gave back; authorise the account again."}
}

// SessionRow is a provider session as the sessions page and the CLI show
// it: what OT lists now, with what the shop knows of it.
type SessionRow struct {
	Login            string
	ExpiresAt        time.Time
	ExpiresEstimated bool
	// Known is the shop's record (who authorised it, when); nil for a
	// session authorised elsewhere (OT's admin).
	Known *model.OTProviderSession
	// AtOT: OT lists it now.
	AtOT bool
}

// Sessions lists the shop's provider sessions: those OT lists now (with
// their expiry, which the shop's records take), and the shop's records OT
// no longer lists (they need authorisation). Without an answer from OT the
// shop's records are listed alone, with OT's words as the error.
func (s *Service) Sessions(ctx context.Context, t *model.Tenant) ([]SessionRow, error) {
	known, err := s.store.FindOTProviderSessions(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return rowsOf(known), err
	}
	var list []otapi.ProviderSession
	if err := c.asOperator(ctx, func(op string) (err error) {
		list, err = c.c.ProviderSessions(ctx, op, otapi.ProviderTaobao)
		return err
	}); err != nil {
		return rowsOf(known), wordsOf(err)
	}
	now := s.store.Now()
	seen := map[int64]bool{}
	var rows []SessionRow
	for _, ps := range list {
		row := SessionRow{Login: ps.Name, ExpiresAt: ps.ExpiresAt, AtOT: true}
		for _, k := range known {
			if k.IntegrationID == c.in.ID && k.Login == ps.Name {
				row.Known, seen[k.ID] = k, true
				if err := s.store.RefreshOTProviderSession(ctx, t.ID, k.ID, ps.ID, ps.ExpiresAt); err != nil {
					return nil, err
				}
				if ps.ExpiresAt.IsZero() {
					row.ExpiresAt, row.ExpiresEstimated = k.ExpiresAt, k.ExpiresEstimated
				} else {
					k.ExpiresAt, k.ExpiresEstimated = ps.ExpiresAt, false
				}
				if ps.Expired(now) && k.Status == model.AccountActive {
					reason := "The Taobao session of " + k.Login + " has ended at OT: authorise it again."
					if err := s.store.MarkOTProviderSessionNeedsAuthorization(ctx, t.ID, k.ID, reason); err != nil {
						return nil, err
					}
					k.Status, k.LastError = model.AccountNeedsAuthorization, reason
				}
			}
		}
		rows = append(rows, row)
	}
	for _, k := range known {
		if seen[k.ID] {
			continue
		}
		if k.IntegrationID == c.in.ID && k.Status == model.AccountActive {
			reason := "OT no longer lists the Taobao session of " + k.Login + ": authorise it again."
			if err := s.store.MarkOTProviderSessionNeedsAuthorization(ctx, t.ID, k.ID, reason); err != nil {
				return nil, err
			}
			k.Status, k.LastError = model.AccountNeedsAuthorization, reason
		}
		rows = append(rows, SessionRow{Login: k.Login, ExpiresAt: k.ExpiresAt, ExpiresEstimated: k.ExpiresEstimated, Known: k})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ExpiresAt.Before(rows[j].ExpiresAt) })
	return rows, nil
}

func rowsOf(known []*model.OTProviderSession) []SessionRow {
	var rows []SessionRow
	for _, k := range known {
		rows = append(rows, SessionRow{Login: k.Login, ExpiresAt: k.ExpiresAt, ExpiresEstimated: k.ExpiresEstimated, Known: k})
	}
	return rows
}
