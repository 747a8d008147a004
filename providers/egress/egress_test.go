package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Classify is a pure function: no address here is ever called.
func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ip   string
		want Class
	}{
		{"127.0.0.1", Loopback},
		{"127.255.0.9", Loopback},
		{"::1", Loopback},
		{"10.0.0.1", Private},
		{"172.16.5.4", Private},
		{"172.31.255.255", Private},
		{"192.168.1.1", Private},
		{"::ffff:10.0.0.1", Private},
		{"::ffff:127.0.0.1", Loopback},
		{"::ffff:169.254.169.254", LinkLocal},
		{"169.254.169.254", LinkLocal},
		{"fe80::1", LinkLocal},
		{"fe80::1%eth0", LinkLocal},
		{"100.64.0.1", SharedCGNAT},
		{"100.127.255.254", SharedCGNAT},
		{"fd00::1", UniqueLocal},
		{"fc00::1", UniqueLocal},
		{"fec0::1", Private},
		{"0.0.0.0", Unspecified},
		{"0.1.2.3", Unspecified},
		{"::", Unspecified},
		{"224.0.0.1", Multicast},
		{"ff02::1", Multicast},
		{"255.255.255.255", Broadcast},
		{"240.0.0.1", Reserved},
		{"192.0.2.10", Reserved},
		{"198.18.0.1", Reserved},
		{"2001:db8::1", Reserved},
		{"2001:0:4136:e378::1", Reserved}, // Teredo hides where it goes
		{"::10.0.0.1", Reserved},          // deprecated IPv4-compatible
		{"64:ff9b::a00:1", Private},       // NAT64 of 10.0.0.1
		{"64:ff9b::808:808", Public},      // NAT64 of 8.8.8.8
		{"2002:a00:1::1", Private},        // 6to4 of 10.0.0.1
		{"2002:7f00:1::1", Loopback},      // 6to4 of 127.0.0.1
		{"8.8.8.8", Public},
		{"172.32.0.1", Public},
		{"100.128.0.1", Public},
		{"2a00:1450:4001::1", Public},
		{"::ffff:8.8.8.8", Public},
	} {
		t.Run(tt.ip+" is "+string(tt.want), func(t *testing.T) {
			if got := Classify(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("Classify(%s) = %s, want %s", tt.ip, got, tt.want)
			}
		})
	}
	if got := Classify(netip.Addr{}); got != Invalid {
		t.Errorf("Classify of the zero Addr = %s", got)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	strict := Policy{Allowed: []string{"http://localhost:8080/sandbox/", "smtp://127.0.0.1:2525"}}
	for _, tt := range []struct {
		name, url string
		ok        bool
		says      string
	}{
		{"a public host name is allowed", "https://api.cdek.ru/v2", true, ""},
		{"a public IP is allowed", "https://8.8.8.8/x", true, ""},
		{"loopback is refused", "http://127.0.0.1:6379/", false, "loopback"},
		{"IPv6 loopback is refused", "http://[::1]:8080/", false, "loopback"},
		{"IPv4-mapped private is refused", "http://[::ffff:10.0.0.1]/", false, "private"},
		{"the metadata service is refused", "http://169.254.169.254/latest/meta-data/", false, "link-local"},
		{"CGNAT is refused", "http://100.64.0.1/", false, "carrier-grade"},
		{"a unique-local address is refused", "https://[fd00::1]/", false, "unique-local"},
		{"0.0.0.0 is refused", "http://0.0.0.0:8080/", false, "this server"},
		{"localhost is refused", "http://localhost:9000/", false, "localhost"},
		{"a .localhost name is refused", "http://admin.localhost/", false, "localhost"},
		{"localhost with a trailing dot is refused", "http://localhost.:9000/", false, "localhost"},
		{"a decimal IPv4 is refused", "http://2130706433/", false, "number"},
		{"a hex IPv4 is refused", "http://0x7f.1/", false, "number"},
		{"a short IPv4 is refused", "http://127.1/", false, "number"},
		{"another scheme is refused", "file:///etc/passwd", false, "URL"},
		{"gopher is refused", "gopher://example.com/", false, "http, https, smtp and smtps"},
		{"no host is refused", "https://", false, "host"},
		{"an allowed prefix is allowed", "http://localhost:8080/sandbox/tinkoff/v2", true, ""},
		{"the allowed prefix's folder itself is allowed", "http://localhost:8080/sandbox", true, ""},
		{"an allowed smtp address is allowed", "smtp://127.0.0.1:2525", true, ""},
		{"the same host outside the prefix is refused", "http://localhost:8080/admin/", false, "localhost"},
		{"climbing out of the prefix is refused", "http://localhost:8080/sandbox/../admin/", false, "localhost"},
		{"another port of the prefix's host is refused", "http://localhost:8081/sandbox/x", false, "localhost"},
		{"user info before the prefix's host is refused", "http://x@localhost:8080/sandbox/x", false, "localhost"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := strict.CheckURL(tt.url)
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want allowed", tt.url, err)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("CheckURL(%q) = %v, want a refusal that says %q", tt.url, err, tt.says)
			}
		})
	}
	open := Policy{AllowPrivate: true}
	for _, u := range []string{"http://127.0.0.1:6379/", "http://10.0.0.1/", "http://localhost/"} {
		if err := open.CheckURL(u); err != nil {
			t.Errorf("an instance that allows private endpoints refused %s: %v", u, err)
		}
	}
	if err := open.CheckURL("ftp://10.0.0.1/"); err == nil {
		t.Error("allowing private endpoints allowed another scheme")
	}
}

// counting is a loopback server that counts the requests it saw.
func counting(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path == "/sandbox/redirect" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestClientRefusesInternalAddressesBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	srv, seen := counting(t)
	other, otherSeen := counting(t)
	c := Policy{Allowed: []string{srv.URL + "/sandbox/"}}.Client(5 * time.Second)

	res, err := c.Get(srv.URL + "/sandbox/ping")
	if err != nil {
		t.Fatalf("the allowed prefix: %v", err)
	}
	res.Body.Close()
	if seen.Load() != 1 {
		t.Fatalf("requests at the allowed server: %d, want 1", seen.Load())
	}

	for _, u := range []string{
		srv.URL + "/admin/",        // the allowed host outside the prefix
		other.URL + "/sandbox/x",   // another loopback port
		srv.URL + "/sandbox/../x/", // climbing out of the prefix
	} {
		_, err := c.Get(u)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("GET %s: %v, want refused", u, err)
		}
	}
	// A redirect from the allowed prefix to a loopback address that is not
	// allowed is refused too: every hop is checked.
	_, err = c.Get(srv.URL + "/sandbox/redirect?to=" + other.URL + "/secret")
	if !errors.Is(err, ErrRefused) {
		t.Errorf("redirect to another loopback port: %v, want refused", err)
	}
	if got := seen.Load(); got != 2 {
		t.Errorf("requests at the allowed server: %d, want 2 (ping and the redirect)", got)
	}
	if got := otherSeen.Load(); got != 0 {
		t.Errorf("the server that is not allowed saw %d requests, want none", got)
	}
}

// The dialer checks the address it connects to, whatever name led there: a
// loopback listener that is not allowed never sees a connection.
func TestDialerChecksTheResolvedAddress(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan string, 4) // the remote address of each connection
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- conn.RemoteAddr().String()
			conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Policy{}.dialer().DialContext(ctx, "tcp", l.Addr().String())
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("dial to %s: %v, want refused as loopback", l.Addr(), err)
	}
	// DialFor gives the plain dialer to an allowed smtp address.
	dial, err := Policy{Allowed: []string{"smtp://" + l.Addr().String()}}.DialFor("smtp://" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("the allowed smtp address: %v", err)
	}
	defer conn.Close()
	if _, err := (Policy{}).DialFor("smtp://" + l.Addr().String()); !errors.Is(err, ErrRefused) {
		t.Errorf("DialFor a loopback smtp address that is not allowed: %v", err)
	}
	// Connections are accepted in order: had the refused dial connected, its
	// connection would come first.
	select {
	case first := <-accepted:
		if first != conn.LocalAddr().String() {
			t.Errorf("the first connection accepted came from %s, not from the allowed dial (%s)", first, conn.LocalAddr())
		}
	case <-ctx.Done():
		t.Fatal("the allowed connection was never accepted")
	}
}
