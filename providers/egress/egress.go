// Package egress decides which addresses OrderDesk's outgoing calls may reach.
//
// An integration's endpoints are typed by shop admins; without a rule, "Test
// connection" would let anyone with an admin account make the server probe
// its own ports, the cloud's metadata service (169.254.169.254) or the
// office network. The rule: provider calls go to public addresses only,
// unless the instance allows private ones (Policy.AllowPrivate, the
// operator's ORDERDESK_ALLOW_PRIVATE_ENDPOINTS=1) or the URL is under one of
// the instance's own allowed prefixes (the built-in sandboxes).
//
// The rule is applied three times: when an endpoint is saved (CheckURL: the
// scheme, literal IPs, "localhost"), before every request and every redirect
// (the Client's transport), and at connect time on the address the name
// resolved to (the dialer), so a host name that resolves to 127.0.0.1, or
// changes its answer between the check and the call, is refused too.
//
// This package imports nothing of OrderDesk's.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"syscall"
	"time"
)

// Class is the kind of an IP address, as far as reaching it from a server
// goes.
type Class string

// The classes of addresses. Only Public may be called unless the policy
// allows private addresses.
const (
	Public      Class = "public"
	Loopback    Class = "loopback"
	Private     Class = "private"
	LinkLocal   Class = "link-local"
	Unspecified Class = "unspecified"
	Multicast   Class = "multicast"
	SharedCGNAT Class = "shared (carrier-grade NAT)"
	UniqueLocal Class = "unique-local"
	Broadcast   Class = "broadcast"
	Reserved    Class = "reserved"
	Invalid     Class = "invalid"
)

// describe says what an address of the class is, for the refusal's words.
func (c Class) describe() string {
	switch c {
	case Loopback:
		return "a loopback address (this server itself)"
	case Private:
		return "a private network address"
	case LinkLocal:
		return "a link-local address (such as a cloud metadata service)"
	case Unspecified:
		return "an unspecified address (this server itself)"
	case Multicast:
		return "a multicast address"
	case SharedCGNAT:
		return "a carrier-grade NAT address (a provider's internal network)"
	case UniqueLocal:
		return "a unique-local IPv6 address (a private network)"
	case Broadcast:
		return "a broadcast address"
	case Invalid:
		return "not a valid address"
	}
	return "a reserved address that is not on the public internet"
}

// prefixes of the non-public IPv4 ranges (RFC 6890 and its updates).
var v4Ranges = []struct {
	p netip.Prefix
	c Class
}{
	{netip.MustParsePrefix("0.0.0.0/8"), Unspecified}, // "this network": 0.0.0.0 reaches this host
	{netip.MustParsePrefix("127.0.0.0/8"), Loopback},
	{netip.MustParsePrefix("10.0.0.0/8"), Private},
	{netip.MustParsePrefix("172.16.0.0/12"), Private},
	{netip.MustParsePrefix("192.168.0.0/16"), Private},
	{netip.MustParsePrefix("100.64.0.0/10"), SharedCGNAT},
	{netip.MustParsePrefix("169.254.0.0/16"), LinkLocal},
	{netip.MustParsePrefix("224.0.0.0/4"), Multicast},
	{netip.MustParsePrefix("255.255.255.255/32"), Broadcast},
	{netip.MustParsePrefix("240.0.0.0/4"), Reserved},
	{netip.MustParsePrefix("192.0.0.0/24"), Reserved},    // IETF protocol assignments
	{netip.MustParsePrefix("192.0.2.0/24"), Reserved},    // documentation
	{netip.MustParsePrefix("198.51.100.0/24"), Reserved}, // documentation
	{netip.MustParsePrefix("203.0.113.0/24"), Reserved},  // documentation
	{netip.MustParsePrefix("198.18.0.0/15"), Reserved},   // benchmarking
	{netip.MustParsePrefix("192.88.99.0/24"), Reserved},  // retired 6to4 relays
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	nat64Site = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
	v6Doc     = netip.MustParsePrefix("2001:db8::/32")
	v6Compat  = netip.MustParsePrefix("::/96")
	v6Global  = netip.MustParsePrefix("2000::/3")
	v6SiteLoc = netip.MustParsePrefix("fec0::/10")
	v6ULA     = netip.MustParsePrefix("fc00::/7")
)

// Classify says what kind of address ip is. IPv6 forms that carry an IPv4
// address (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16)
// are classified by the IPv4 address they reach.
func Classify(ip netip.Addr) Class {
	if !ip.IsValid() {
		return Invalid
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		for _, r := range v4Ranges {
			if r.p.Contains(ip) {
				return r.c
			}
		}
		return Public
	}
	switch {
	case ip.IsUnspecified():
		return Unspecified
	case ip.IsLoopback():
		return Loopback
	case ip.IsMulticast():
		return Multicast
	case ip.IsLinkLocalUnicast():
		return LinkLocal
	case v6ULA.Contains(ip):
		return UniqueLocal
	case v6SiteLoc.Contains(ip), nat64Site.Contains(ip):
		// Deprecated site-local addresses and local-use NAT64 reach the
		// site's own network.
		return Private
	case nat64.Contains(ip):
		b := ip.As16()
		return Classify(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		b := ip.As16()
		return Classify(netip.AddrFrom4([4]byte(b[2:6])))
	case v6Compat.Contains(ip), teredo.Contains(ip), v6Doc.Contains(ip), !v6Global.Contains(ip):
		// Teredo hides the IPv4 address it reaches; the deprecated
		// IPv4-compatible form and everything outside 2000::/3 are not
		// public unicast.
		return Reserved
	}
	return Public
}

// ErrRefused matches every refusal of this package (errors.Is).
var ErrRefused = errors.New("egress: address refused")

// Error is a refused call: the address is internal, or the URL cannot be
// called at all. Its message is meant for people.
type Error struct {
	// Target is what was refused: the URL's host, or host:port.
	Target string
	// Class is the kind of address, when an address was the reason.
	Class Class
	// Reason says why in words.
	Reason string
}

// Error says what was refused and why, in words for a shop admin.
func (e *Error) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrRefused) true.
func (e *Error) Is(target error) bool { return target == ErrRefused }

const allowHint = " OrderDesk does not call internal addresses unless the instance allows it (ORDERDESK_ALLOW_PRIVATE_ENDPOINTS=1)."

func refusedAddress(target string, ip netip.Addr, c Class) *Error {
	// Name the address a host name led to, not an IP literal twice.
	what, host := target, target
	if h, _, err := net.SplitHostPort(target); err == nil {
		host = h
	}
	if ip.IsValid() && ip.String() != strings.Trim(host, "[]") {
		what = target + " (" + ip.String() + ")"
	}
	return &Error{Target: target, Class: c, Reason: "The address " + what + " is " + c.describe() + "." + allowHint}
}

// Policy says which addresses outgoing provider calls may reach. The zero
// Policy allows public addresses only.
type Policy struct {
	// AllowPrivate lets calls reach every address, internal ones included
	// (an instance whose providers run on its own network).
	AllowPrivate bool
	// Allowed are URL prefixes that may be called whatever their address:
	// scheme, host (with port) and path prefix, e.g. the instance's own
	// "http://localhost:8080/sandbox/" or "smtp://127.0.0.1:2525".
	Allowed []string
}

// schemes are the URL schemes provider endpoints use.
var schemes = map[string]bool{"http": true, "https": true, "smtp": true, "smtps": true}

// CheckURL checks an endpoint before it is saved or called: an http(s) or
// smtp(s) URL with a host, and unless the policy allows it, neither
// "localhost" nor a literal internal IP. Host names are checked again on
// the addresses they resolve to when a call connects.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Hostname() == "" {
		return &Error{Target: raw, Class: Invalid, Reason: fmt.Sprintf("%q is not a URL with a host.", raw)}
	}
	if !schemes[strings.ToLower(u.Scheme)] {
		return &Error{Target: raw, Class: Invalid, Reason: fmt.Sprintf("%q: OrderDesk calls http, https, smtp and smtps addresses only.", raw)}
	}
	if p.AllowPrivate || p.allowed(u) {
		return nil
	}
	return checkHost(u.Host, u.Hostname())
}

// checkHost refuses a host that names this machine or a literal internal
// address; target is what the refusal names (host or host:port).
func checkHost(target, host string) error {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return &Error{Target: target, Class: Loopback, Reason: "The address " + target + " is this server itself (localhost)." + allowHint}
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if c := Classify(ip); c != Public {
			return refusedAddress(target, ip, c)
		}
		return nil
	}
	// A last label that is a number makes the host an IPv4 address in
	// another notation ("2130706433", "0x7f.1", "127.1"), which resolvers
	// accept (the WHATWG URL standard's "ends in a number" rule): no top-level
	// domain is numeric, so such a host is never a name.
	labels := strings.Split(h, ".")
	if last := labels[len(labels)-1]; last != "" && (strings.HasPrefix(last, "0x") || strings.Trim(last, "0123456789") == "") {
		return &Error{Target: target, Class: Invalid, Reason: "The address " + target + " is a number, not a host name: write the provider's host name or a plain IP address."}
	}
	return nil
}

// allowed reports whether u is under one of the policy's allowed prefixes.
// The path is compared cleaned, so "/sandbox/../admin" is not under
// "/sandbox/".
func (p Policy) allowed(u *url.URL) bool {
	for _, raw := range p.Allowed {
		a, err := url.Parse(raw)
		if err != nil || a.Host == "" {
			continue
		}
		if !strings.EqualFold(a.Scheme, u.Scheme) || !strings.EqualFold(a.Host, u.Host) || u.User != nil {
			continue
		}
		if a.Path == "" || a.Path == "/" {
			return true
		}
		clean := path.Clean("/" + u.Path)
		if strings.HasSuffix(u.Path, "/") && clean != "/" {
			clean += "/"
		}
		if strings.HasPrefix(clean, a.Path) || clean+"/" == a.Path {
			return true
		}
	}
	return false
}

// checkDial is the dialer's check of the address a connection is about to
// be made to (after name resolution): only public addresses unless the
// policy allows private ones.
func (p Policy) checkDial(address string) error {
	if p.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &Error{Target: address, Class: Invalid, Reason: "OrderDesk could not check the address " + address + " before connecting."}
	}
	if c := Classify(ap.Addr()); c != Public {
		return refusedAddress(address, ap.Addr(), c)
	}
	return nil
}

// dialer returns a dialer that checks every address it connects to (every
// address a name resolves to, each attempt of Happy Eyeballs).
func (p Policy) dialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		ControlContext: func(_ context.Context, _, address string, _ syscall.RawConn) error {
			return p.checkDial(address)
		}}
}

// DialFunc dials a network address, like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DialFor checks raw (an smtp://host:port endpoint, say) and returns the
// dialer to reach it with: a plain one for an allowed prefix, else one that
// refuses internal addresses at connect time. For clients that dial TCP
// themselves.
func (p Policy) DialFor(raw string) (DialFunc, error) {
	if err := p.CheckURL(raw); err != nil {
		return nil, err
	}
	if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && p.allowed(u) {
		var d net.Dialer
		return d.DialContext, nil
	}
	return p.dialer().DialContext, nil
}

// Client returns an HTTP client whose every request, redirects included, is
// checked with CheckURL and whose connections are checked on the resolved
// address. It uses no proxy from the environment: through a proxy the
// address actually reached could not be checked. Build one and keep it: it
// holds the connection pool.
func (p Policy) Client(timeout time.Duration) *http.Client {
	open := http.DefaultTransport.(*http.Transport).Clone()
	open.Proxy = nil
	guarded := open.Clone()
	guarded.DialContext = p.dialer().DialContext
	return &http.Client{Timeout: timeout, Transport: &transport{p: p, open: open, guarded: guarded}}
}

type leavingKey struct{}

// WithLeaving gives ctx a function that each request made under it through a
// Client calls as it leaves for the network: the server gives back its turn
// to compute (its admission) while the request waits on a provider.
func WithLeaving(ctx context.Context, leaving func()) context.Context {
	return context.WithValue(ctx, leavingKey{}, leaving)
}

// transport sends requests under an allowed prefix through a plain
// transport and every other one, after CheckURL, through the guarded one;
// the two keep separate connection pools, so a connection opened for an
// allowed URL is never reused for another.
type transport struct {
	p             Policy
	open, guarded *http.Transport
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if leaving, ok := r.Context().Value(leavingKey{}).(func()); ok {
		leaving()
	}
	if t.p.allowed(r.URL) {
		return t.open.RoundTrip(r)
	}
	if err := t.p.CheckURL(r.URL.String()); err != nil {
		// A RoundTripper closes the request body, even when it refuses.
		if r.Body != nil {
			if cerr := r.Body.Close(); cerr != nil {
				return nil, errors.Join(err, cerr)
			}
		}
		return nil, err
	}
	return t.guarded.RoundTrip(r)
}
