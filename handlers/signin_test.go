package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/model"
)

// postLogin posts one staff sign-in with the CSRF token given and returns the status.
func postLogin(c *client, csrf, email, password string) (int, error) {
	body := url.Values{"_csrf": {csrf}, "email": {email}, "password": {password}}.Encode()
	req, err := http.NewRequest("POST", c.e.base+"/admin/login", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

func TestSignInLimit(t *testing.T) {
	ctx := context.Background()

	t.Run("40 concurrent wrong passwords: at most 5 are checked, the others are slowed down", func(t *testing.T) {
		e := newEnv(t)
		// The default bcrypt cost, so that the checks overlap as they do in
		// production (the tests' lowest cost is over before the next one starts).
		model.PasswordCost = bcrypt.DefaultCost
		_, err := e.store.CreateUser(ctx, e.demo.ID, model.NewUser{Email: "target@demo.test", Role: model.RoleStaff, Password: "the-right-password"})
		model.PasswordCost = bcrypt.MinCost
		if err != nil {
			t.Fatal(err)
		}
		c := e.client(t, "")
		csrf := c.csrf()
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[int]int{}
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				status, err := postLogin(c, csrf, "target@demo.test", "a-wrong-guess")
				if err != nil {
					status = -1
				}
				mu.Lock()
				got[status]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		// 401 is a password that was checked and wrong; 429 one refused unchecked.
		if got[http.StatusUnauthorized] > 5 || got[http.StatusUnauthorized]+got[http.StatusTooManyRequests] != 40 {
			t.Errorf("answers: %v; want at most 5 × 401 (checked) and the rest 429", got)
		}
		if status, err := postLogin(c, csrf, "target@demo.test", "the-right-password"); err != nil || status != http.StatusTooManyRequests {
			t.Errorf("the right password right after the storm: %d %v, want 429", status, err)
		}
	})

	// Each case on a fresh database: the failures of one must not explain another's.
	t.Run("a customer with a staff member's e-mail neither clears nor shares the staff failures", func(t *testing.T) {
		e := newEnv(t)
		shopper := e.client(t, "")
		res, _ := shopper.api("POST", "/api/auth/register/", map[string]string{"email": "staff@demo.test", "password": "customer-password-1"})
		wantStatus(t, res, http.StatusCreated)
		guesser := e.client(t, "")
		csrf := guesser.csrf()
		var statuses []int
		for round := 0; round < 3; round++ {
			for i := 0; i < 2; i++ {
				status, err := postLogin(guesser, csrf, "staff@demo.test", "guess-"+itoa(int64(round*2+i)))
				if err != nil {
					t.Fatal(err)
				}
				statuses = append(statuses, status)
			}
			// The customer signs in between the guesses: this used to clear the
			// staff account's failures.
			customer := e.client(t, "")
			res, body := customer.api("POST", "/api/auth/login/", map[string]string{"email": "staff@demo.test", "password": "customer-password-1"})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("round %d: the customer could not sign in: %d %v", round, res.StatusCode, body)
			}
		}
		want := []int{401, 401, 401, 401, 401, 429}
		if !slices.Equal(statuses, want) {
			t.Errorf("staff guesses answered %v, want %v", statuses, want)
		}
	})

	t.Run("customer failures do not slow down the staff account with the same e-mail", func(t *testing.T) {
		e := newEnv(t)
		c := e.client(t, "")
		var last int
		for i := 0; i < 6; i++ {
			res, _ := c.api("POST", "/api/auth/login/", map[string]string{"email": "owner@demo.test", "password": "not-it-" + itoa(int64(i))})
			last = res.StatusCode
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("the sixth wrong customer sign-in answered %d, want 429", last)
		}
		e.client(t, "").login("owner@demo.test", demoPassword)
	})
}

func TestSessions(t *testing.T) {
	e := newEnv(t)

	t.Run("deactivating a user ends their sessions, and reactivating does not revive them", func(t *testing.T) {
		staff := e.client(t, "")
		staff.login("staff@demo.test", demoPassword)
		res, _ := staff.get("/admin/")
		wantStatus(t, res, http.StatusOK)
		owner := e.client(t, "")
		owner.login("owner@demo.test", demoPassword)
		path := "/admin/settings/users/" + itoa(findUser(t, e, "staff@demo.test").ID)

		res, _ = owner.postForm(path, url.Values{"role": {"staff"}}) // "active" unticked
		wantStatus(t, res, http.StatusSeeOther)
		if res, _ := staff.get("/admin/"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login") {
			t.Fatalf("a deactivated user's session still opens the dashboard: %d", res.StatusCode)
		}
		res, _ = owner.postForm(path, url.Values{"role": {"staff"}, "active": {"1"}})
		wantStatus(t, res, http.StatusSeeOther)
		if res, _ := staff.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("reactivation revived the old session: the dashboard answered %d", res.StatusCode)
		}
		staff.login("staff@demo.test", demoPassword)
		res, _ = staff.get("/admin/")
		wantStatus(t, res, http.StatusOK)
	})

	t.Run("the database holds only a hash of each session token", func(t *testing.T) {
		c := e.client(t, "")
		c.login("owner@demo.test", demoPassword)
		token := c.cookie("orderdesk_session")
		sum := sha256.Sum256([]byte(token))
		var clear, hashed int
		if err := e.store.DB.R.QueryRow(`SELECT count(*) FROM sessions WHERE token = ?`, token).Scan(&clear); err != nil {
			t.Fatal(err)
		}
		if err := e.store.DB.R.QueryRow(`SELECT count(*) FROM sessions WHERE token = ?`, hex.EncodeToString(sum[:])).Scan(&hashed); err != nil {
			t.Fatal(err)
		}
		if clear != 0 || hashed != 1 {
			t.Errorf("sessions stored under the token: %d, under its SHA-256: %d; want 0 and 1", clear, hashed)
		}
		res, _ := c.get("/admin/")
		wantStatus(t, res, http.StatusOK)
	})
}
