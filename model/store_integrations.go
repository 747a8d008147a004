package model

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// sealPurpose binds sealed integration secrets to their use.
const sealPurpose = "integration-secret"

// IntegrationInput creates an integration or, through pointers, changes one.
// A nil field is left as it is; an empty key or secret keeps the stored one.
type IntegrationInput struct {
	Provider     *ProviderType
	Name         *string
	Description  *string
	Status       *IntegrationStatus
	APIKey       *string
	APISecret    *string
	APIEndpoint  *string
	TestEndpoint *string
	Config       map[string]string
	// Tested, when set, is the connection test the new settings passed
	// before they were saved (going live); it is kept as the last test.
	Tested *IntegrationTestResult
	// UnchangedSince, when set, refuses an update (ErrConflict) if the
	// integration was changed after this time (its UpdatedAt when read): what
	// was tested is what gets saved.
	UnchangedSince *time.Time
}

// IntegrationTestResult is the outcome of a connection test, in words.
type IntegrationTestResult struct {
	OK      bool
	Message string
}

func last4(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("•", len(s))
	}
	return s[len(s)-4:]
}

func validEndpoint(s string) bool {
	u, err := url.Parse(s)
	// smtp:// for the e-mail provider; every other provider speaks HTTP.
	return err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "smtp") && u.Host != ""
}

func trimmed(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}

// DraftIntegration returns the integration that in makes of cur (nil cur:
// a new one), and a *ValidationError for the rules every provider shares:
// a known provider that never changes, a name, http(s) or smtp endpoints,
// the endpoint of the mode it is in. The draft comes back even with errors,
// so that the provider-specific rules (services/integrations': which keys a
// provider needs, and their shape) can add theirs to the same answer.
func DraftIntegration(cur *Integration, in IntegrationInput) (*Integration, *ValidationError) {
	v := &ValidationError{}
	next := Integration{Status: IntegrationTest}
	if cur != nil {
		next = *cur
	}
	if in.Provider != nil {
		if cur != nil && *in.Provider != cur.Provider {
			v.Add("provider_type", "the provider of an integration cannot change; create another one")
		} else {
			next.Provider = *in.Provider
		}
	}
	if _, ok := next.Provider.Info(); !ok {
		v.Add("provider_type", "choose a provider")
	}
	if in.Name != nil {
		next.Name = trimmed(in.Name)
	}
	if next.Name == "" {
		v.Add("name", "give the integration a name")
	}
	v.MaxLen("name", next.Name, MaxNameLen)
	if in.Description != nil {
		next.Description = trimmed(in.Description)
	}
	v.MaxLen("description", next.Description, MaxDescriptionLen)
	if in.Status != nil {
		next.Status = *in.Status
	}
	if !next.Status.Valid() {
		v.Add("status", "choose test_mode, active or disabled")
	}
	if in.APIEndpoint != nil {
		next.APIEndpoint = trimmed(in.APIEndpoint)
	}
	if in.TestEndpoint != nil {
		next.TestEndpoint = trimmed(in.TestEndpoint)
	}
	if next.APIEndpoint != "" && !validEndpoint(next.APIEndpoint) {
		v.Add("api_endpoint", "enter an http(s) address")
	}
	if next.TestEndpoint != "" && !validEndpoint(next.TestEndpoint) {
		v.Add("test_endpoint", "enter an http(s) address")
	}
	if next.Status == IntegrationTest && next.TestEndpoint == "" {
		v.Add("test_endpoint", "test mode needs the test endpoint")
	}
	if next.Status == IntegrationActive && next.APIEndpoint == "" {
		v.Add("api_endpoint", "live mode needs the live endpoint")
	}
	if in.Config != nil {
		next.Config = in.Config
	}
	next.Config = orEmpty(next.Config)
	if len(v.Fields) == 0 {
		return &next, nil
	}
	return &next, v
}

// Keys returns the keys an integration has after in: the new key and secret
// where given, else the stored ones.
func (in IntegrationInput) Keys(stored IntegrationSecrets) IntegrationSecrets {
	if k := trimmed(in.APIKey); k != "" {
		stored.APIKey = k
	}
	if s := trimmed(in.APISecret); s != "" {
		stored.APISecret = s
	}
	return stored
}

// CreateIntegration adds an integration. Only owners and admins may, and only
// they may create one that is live at once.
func (s *Store) CreateIntegration(ctx context.Context, tenantID int64, actor *User, in IntegrationInput) (_ *Integration, err error) {
	defer wrapErr(&err, "create integration (tenantID=%d)", tenantID)
	if actor != nil && !actor.Role.CanManageUsers() {
		return nil, ErrForbidden
	}
	next, verr := DraftIntegration(nil, in)
	if verr != nil {
		return nil, verr
	}
	key, secret := trimmed(in.APIKey), trimmed(in.APISecret)
	keyEnc, err := s.Keys.Seal(sealPurpose, []byte(key))
	if err != nil {
		return nil, err
	}
	secretEnc := ""
	if secret != "" {
		if secretEnc, err = s.Keys.Seal(sealPurpose, []byte(secret)); err != nil {
			return nil, err
		}
	}
	cfg, err := json.Marshal(next.Config)
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var testedAt, testedOK any // NULL: never tested
		testedMsg := ""
		if in.Tested != nil {
			testedAt, testedOK, testedMsg = now, in.Tested.OK, in.Tested.Message
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO integrations (tenant_id, provider_type, name, description, status, api_key_enc,
			api_key_last4, api_secret_enc, api_secret_last4, api_endpoint, test_endpoint, config, last_test_at, last_test_ok,
			last_test_message, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, string(next.Provider), next.Name, next.Description,
			string(next.Status), keyEnc, last4(key), secretEnc, last4(secret), next.APIEndpoint, next.TestEndpoint, string(cfg),
			testedAt, testedOK, testedMsg, now, now)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return insertIntegrationChange(ctx, tx, tenantID, id, actorName(actor), "", next.Status, true, "created", now)
	})
	if err != nil {
		return nil, err
	}
	return s.FindIntegrationByID(ctx, tenantID, id)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func actorName(u *User) string {
	if u == nil {
		return string(SystemActor)
	}
	return string(StaffActor(u))
}

func insertIntegrationChange(ctx context.Context, tx *sql.Tx, tenantID, id int64, actor string, from, to IntegrationStatus, keys bool, note string, now any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO integration_changes (tenant_id, integration_id, actor, from_status, to_status, keys_replaced, note, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, id, actor, string(from), string(to), keys, note, now)
	return err
}

// UpdateIntegration changes an integration. Going live (or leaving live) is for
// owners and admins; new production keys can come in the same step (seed 001,
// step 3). Every change of status or keys is recorded with who made it. A
// change of status, keys, endpoints or config forgets the last test, in the
// same write, since it was of the old settings, unless in.Tested is the test
// of the new ones.
func (s *Store) UpdateIntegration(ctx context.Context, tenantID int64, actor *User, id int64, in IntegrationInput) (_ *Integration, err error) {
	defer wrapErr(&err, "update integration (tenantID=%d id=%d)", tenantID, id)
	if actor != nil && !actor.Role.CanManageUsers() {
		return nil, ErrForbidden
	}
	cur, err := s.FindIntegrationByID(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	next, verr := DraftIntegration(cur, in)
	if verr != nil {
		return nil, verr
	}
	sets := []string{"name = ?", "description = ?", "status = ?", "api_endpoint = ?", "test_endpoint = ?", "updated_at = ?"}
	now := s.now()
	args := []any{next.Name, next.Description, string(next.Status), next.APIEndpoint, next.TestEndpoint, now}
	keysReplaced := false
	for _, kv := range []struct {
		val        *string
		enc, last4 string
	}{{in.APIKey, "api_key_enc", "api_key_last4"}, {in.APISecret, "api_secret_enc", "api_secret_last4"}} {
		plain := trimmed(kv.val)
		if plain == "" {
			continue // empty keeps the stored secret
		}
		sealed, err := s.Keys.Seal(sealPurpose, []byte(plain))
		if err != nil {
			return nil, err
		}
		sets = append(sets, kv.enc+" = ?", kv.last4+" = ?")
		args = append(args, sealed, last4(plain))
		keysReplaced = true
	}
	if in.Config != nil {
		cfg, err := json.Marshal(next.Config)
		if err != nil {
			return nil, err
		}
		sets = append(sets, "config = ?")
		args = append(args, string(cfg))
	}
	// A test is of the settings and the mode it ran in: another status calls
	// another endpoint (or none), so its last test says nothing of it.
	settingsChanged := keysReplaced || in.Config != nil || next.APIEndpoint != cur.APIEndpoint || next.TestEndpoint != cur.TestEndpoint ||
		next.Status != cur.Status
	switch {
	case in.Tested != nil:
		sets = append(sets, "last_test_at = ?", "last_test_ok = ?", "last_test_message = ?")
		args = append(args, now, in.Tested.OK, in.Tested.Message)
	case settingsChanged:
		sets = append(sets, "last_test_at = NULL", "last_test_ok = NULL", "last_test_message = ''")
	}
	args = append(args, tenantID, id)
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if in.UnchangedSince != nil {
			// Read in the write transaction: no change can slip in between
			// this check and the update.
			var updated time.Time
			if err := tx.QueryRowContext(ctx, `SELECT updated_at FROM integrations WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&updated); err != nil {
				return notFound(err)
			}
			if !updated.Equal(*in.UnchangedSince) {
				return &ConflictError{Msg: "The integration was changed by someone else meanwhile; reload it and try again."}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE integrations SET `+strings.Join(sets, ", ")+` WHERE tenant_id = ? AND id = ?`, args...); err != nil {
			return err
		}
		if next.Status != cur.Status || keysReplaced {
			note := ""
			if next.Status == IntegrationActive && cur.Status != IntegrationActive {
				note = "now live: calls go to " + next.APIEndpoint
			} else if cur.Status == IntegrationActive && next.Status != IntegrationActive {
				note = "no longer live"
			}
			if in.Tested != nil && in.Tested.OK && next.Status == IntegrationActive {
				note = strings.TrimPrefix(note+"; ", "; ") + "live test passed"
			}
			return insertIntegrationChange(ctx, tx, tenantID, id, actorName(actor), cur.Status, next.Status, keysReplaced, note, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.FindIntegrationByID(ctx, tenantID, id)
}

const integrationColumns = `id, tenant_id, provider_type, name, description, status, api_key_last4, api_secret_last4,
	api_endpoint, test_endpoint, config, last_test_at, coalesce(last_test_ok, 0), last_test_message, created_at, updated_at`

func scanIntegration(row interface{ Scan(...any) error }) (*Integration, error) {
	i := &Integration{}
	var cfg string
	var tested sql.NullTime
	err := row.Scan(&i.ID, &i.TenantID, &i.Provider, &i.Name, &i.Description, &i.Status, &i.APIKeyLast4, &i.APISecretLast4,
		&i.APIEndpoint, &i.TestEndpoint, &cfg, &tested, &i.LastTestOK, &i.LastTestMessage, &i.CreatedAt, &i.UpdatedAt)
	if err != nil {
		return nil, notFound(err)
	}
	if tested.Valid {
		i.LastTestAt = &tested.Time
	}
	i.Config = map[string]string{}
	if err := json.Unmarshal([]byte(cfg), &i.Config); err != nil {
		return nil, fmt.Errorf("integration %d: config: %w", i.ID, err)
	}
	return i, nil
}

// FindIntegrationByID returns the tenant's integration or ErrNotFound.
func (s *Store) FindIntegrationByID(ctx context.Context, tenantID, id int64) (_ *Integration, err error) {
	defer wrapErr(&err, "find integration by id (tenantID=%d id=%d)", tenantID, id)
	return scanIntegration(s.DB.R.QueryRowContext(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE tenant_id = ? AND id = ?`, tenantID, id))
}

// FindIntegrationForWebhook returns an integration by id alone: a provider's
// webhook names the integration in its URL, and the tenant follows from it.
func (s *Store) FindIntegrationForWebhook(ctx context.Context, provider ProviderType, id int64) (_ *Integration, err error) {
	defer wrapErr(&err, "find integration for webhook (id=%d)", id)
	return scanIntegration(s.DB.R.QueryRowContext(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id = ? AND provider_type = ?`, id, string(provider)))
}

// FindIntegrations lists the tenant's integrations by provider and name.
func (s *Store) FindIntegrations(ctx context.Context, tenantID int64) (_ []*Integration, err error) {
	defer wrapErr(&err, "find integrations (tenantID=%d)", tenantID)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE tenant_id = ? ORDER BY provider_type, name, id`, tenantID)
	return collect(rows, err, scanIntegration)
}

// UsableIntegration returns the tenant's integration for a provider that calls may
// go through: a live one first, else one in test mode.
func (s *Store) UsableIntegration(ctx context.Context, tenantID int64, provider ProviderType) (_ *Integration, err error) {
	defer wrapErr(&err, "usable integration (tenantID=%d)", tenantID)
	return scanIntegration(s.DB.R.QueryRowContext(ctx, `SELECT `+integrationColumns+` FROM integrations
		WHERE tenant_id = ? AND provider_type = ? AND status IN ('active', 'test_mode')
		ORDER BY status = 'active' DESC, updated_at DESC, id DESC LIMIT 1`, tenantID, string(provider)))
}

// OpenIntegrationSecrets decrypts an integration's keys for the call about to
// be made.
func (s *Store) OpenIntegrationSecrets(ctx context.Context, tenantID, id int64) (_ IntegrationSecrets, err error) {
	defer wrapErr(&err, "open integration secrets (tenantID=%d id=%d)", tenantID, id)
	var keyEnc, secretEnc string
	err = s.DB.R.QueryRowContext(ctx, `SELECT api_key_enc, api_secret_enc FROM integrations WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&keyEnc, &secretEnc)
	if err != nil {
		return IntegrationSecrets{}, notFound(err)
	}
	var out IntegrationSecrets
	if keyEnc != "" {
		b, err := s.Keys.Open(sealPurpose, keyEnc)
		if err != nil {
			return out, errors.New("the integration's key cannot be decrypted: was ORDERDESK_SECRET_KEY changed?")
		}
		out.APIKey = string(b)
	}
	if secretEnc != "" {
		b, err := s.Keys.Open(sealPurpose, secretEnc)
		if err != nil {
			return out, errors.New("the integration's secret cannot be decrypted: was ORDERDESK_SECRET_KEY changed?")
		}
		out.APISecret = string(b)
	}
	return out, nil
}

// RecordIntegrationTest keeps the result of the last "Test connection".
func (s *Store) RecordIntegrationTest(ctx context.Context, tenantID, id int64, ok bool, message string) (err error) {
	defer wrapErr(&err, "record integration test (tenantID=%d id=%d)", tenantID, id)
	_, err = s.DB.W.ExecContext(ctx, `UPDATE integrations SET last_test_at = ?, last_test_ok = ?, last_test_message = ? WHERE tenant_id = ? AND id = ?`,
		s.now(), ok, message, tenantID, id)
	return err
}

// FindIntegrationChanges lists an integration's recorded changes, newest first.
func (s *Store) FindIntegrationChanges(ctx context.Context, tenantID, id int64) (_ []IntegrationChange, err error) {
	defer wrapErr(&err, "find integration changes (tenantID=%d id=%d)", tenantID, id)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT actor, from_status, to_status, keys_replaced, note, created_at FROM integration_changes
		WHERE tenant_id = ? AND integration_id = ? ORDER BY id DESC`, tenantID, id)
	return collect(rows, err, func(r rowScanner) (IntegrationChange, error) {
		var c IntegrationChange
		err := r.Scan(&c.Actor, &c.From, &c.To, &c.KeysReplaced, &c.Note, &c.CreatedAt)
		return c, err
	})
}
