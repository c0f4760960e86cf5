package control

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// principal is who an authenticated request comes from.
type principal struct {
	kind string // "token" or "user"
	cred *config.ControlCredential
}

// who is the audit name: "token:<name>" or "user:<name>". Never the secret.
func (p *principal) who() string {
	if p == nil {
		return ""
	}
	return p.kind + ":" + p.cred.Name
}

// TokenHeader carries a control token when the Authorization header is taken
// by the web layer's basic auth.
const TokenHeader = "X-Antspace-Token" //nolint:gosec // G101: a header name, not a credential

var (
	errNoCredentials  = errors.New("no credentials: send 'Authorization: Bearer <token>', '" + TokenHeader + ": <token>' or HTTP basic auth")
	errBadCredentials = errors.New("invalid credentials")
)

// authenticate checks the request's bearer token or basic-auth user against
// creds. Its cost does not depend on which credential (if any) matches:
//
//   - a bearer token is compared with every configured token hash, without
//     stopping at a match (a bcrypt hash cannot be looked up by token), or with
//     a dummy hash when no token is configured;
//   - a basic-auth user name is compared in constant time with every configured
//     name, then the password with the matching user's hash, or, when the user
//     is unknown, with a dummy hash of the highest cost among the users. A
//     wrong password for a user whose hash has a lower cost is padded to the
//     same work (padFailure), so every failed basic-auth comparison costs the
//     same whichever user was named.
//
// On failure, attempted names a known user whose password was wrong; it is
// empty for an unknown user, so a password typed into the user-name field
// never reaches the audit log.
func (h *Handler) authenticate(r *http.Request, creds config.ControlCredentials) (p *principal, attempted string, err error) {
	// With basic auth on every endpoint (--web.config.file) the Authorization
	// header belongs to the web layer; the token header carries the control
	// token beside it.
	if token, ok := r.Header[TokenHeader]; ok {
		if len(token) != 1 || strings.TrimSpace(token[0]) == "" {
			return nil, "", errNoCredentials
		}
		return h.checkToken(strings.TrimSpace(token[0]), creds)
	}
	if len(r.Header.Values("Authorization")) > 1 {
		// Which one would count is up to each reader: refuse both.
		return nil, "", errors.New("more than one Authorization header")
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, "", errNoCredentials
	}
	scheme, rest, _ := strings.Cut(authz, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		token := strings.TrimSpace(rest)
		if token == "" {
			return nil, "", errNoCredentials
		}
		return h.checkToken(token, creds)
	case strings.EqualFold(scheme, "Basic"):
		user, pass, ok := r.BasicAuth()
		if !ok {
			return nil, "", errBadCredentials
		}
		var match *config.ControlCredential
		for _, u := range creds.Users {
			if subtle.ConstantTimeCompare([]byte(u.Name), []byte(user)) == 1 {
				match = u
			}
		}
		top := maxCost(creds.Users)
		// Every dummy either path may need exists before comparing, so the
		// first request does not pay for making one that the other path
		// would not.
		for k := bcrypt.MinCost; k <= top; k++ {
			h.dummyHash(k)
		}
		if match == nil {
			_ = h.compare(h.dummyHash(top), []byte(pass))
			return nil, "", errBadCredentials
		}
		if h.compare([]byte(match.Hash), []byte(pass)) != nil {
			h.padFailure(string(match.Hash), top, pass)
			return nil, "user:" + match.Name, errBadCredentials
		}
		return &principal{kind: "user", cred: match}, "", nil
	}
	// The scheme is not quoted back: a client that sends a bare token would
	// find it in the answer and the audit log.
	return nil, "", errors.New("unsupported authorization scheme: use 'Bearer <token>' or Basic")
}

// checkToken compares a bearer token with every configured token hash.
func (h *Handler) checkToken(token string, creds config.ControlCredentials) (*principal, string, error) {
	var match *config.ControlCredential
	if len(creds.Tokens) == 0 {
		_ = h.compare(h.dummyHash(bcrypt.DefaultCost), []byte(token))
		return nil, "", errBadCredentials
	}
	for _, t := range creds.Tokens {
		if h.compare([]byte(t.Hash), []byte(token)) == nil && match == nil {
			match = t
		}
	}
	if match == nil {
		return nil, "", errBadCredentials
	}
	return &principal{kind: "token", cred: match}, "", nil
}

// padFailure makes a failed comparison against hash (of some cost c) cost
// what a comparison at cost top costs, so a user's cost does not tell an
// attacker that the user exists: bcrypt's work doubles with each cost step,
// and 2^c + 2^c + 2^(c+1) + ... + 2^(top-1) = 2^top, the work of the dummy
// comparison an unknown user gets.
func (h *Handler) padFailure(hash string, top int, secret string) {
	c, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return
	}
	for k := max(c, bcrypt.MinCost); k < top; k++ {
		_ = h.compare(h.dummyHash(k), []byte(secret))
	}
}

func maxCost(creds []*config.ControlCredential) int {
	cost := 0
	for _, c := range creds {
		if n, err := bcrypt.Cost([]byte(c.Hash)); err == nil && n > cost {
			cost = n
		}
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	return cost
}

// dummyHash returns a bcrypt hash of a random-free constant at cost, made once
// per cost. Comparing against it costs what a real comparison costs.
func (h *Handler) dummyHash(cost int) []byte {
	h.dummyMu.Lock()
	defer h.dummyMu.Unlock()
	if b, ok := h.dummies[cost]; ok {
		return b
	}
	b, err := bcrypt.GenerateFromPassword([]byte("antspace-exporter-dummy-secret"), cost)
	if err != nil { // cost out of range: fall back to the default cost
		b, _ = bcrypt.GenerateFromPassword([]byte("antspace-exporter-dummy-secret"), bcrypt.DefaultCost)
	}
	h.dummies[cost] = b
	return b
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// authGate admits authentication attempts per client address. Under one
// lock it
//
//   - reserves a failed attempt from the address's token bucket
//     (auth_failures_per_minute per minute, also the burst) before any bcrypt
//     work, and gives it back when the credentials were right: concurrent
//     guesses cannot exceed the limit, because each one holds its failure
//     while it is being compared;
//   - bounds the attempts the address has in progress (Handler.authShare), so
//     one client cannot hold the comparison capacity every other client needs.
type authGate struct {
	mu      sync.Mutex
	clients map[string]*gateClient
	now     func() time.Time
}

type gateClient struct {
	tokens   float64   // failures the address may still make
	at       time.Time // when tokens was last brought up to date
	inFlight int       // admitted attempts not yet done
	seen     time.Time
}

// refusal says why an attempt was not admitted and when to retry.
type refusal struct {
	busy bool // the address has its share of attempts in progress
	wait time.Duration
}

// ticket is an admitted attempt; done must be called exactly once.
type ticket struct {
	g      *authGate
	c      *gateClient
	perMin int
}

// maxTrackedClients bounds the gate's memory; idle entries (nothing in
// progress, bucket full again) are dropped first.
const maxTrackedClients = 10000

func newAuthGate() *authGate {
	return &authGate{clients: map[string]*gateClient{}, now: time.Now}
}

// refill brings c's bucket up to now for a limit of perMin per minute.
func (c *gateClient) refill(now time.Time, perMin int) {
	if el := now.Sub(c.at); el > 0 {
		c.tokens += el.Minutes() * float64(perMin)
	}
	c.tokens = min(c.tokens, float64(perMin)) // also when perMin was lowered by a reload
	c.at = now
}

// admit reserves one failure and one of share in-progress slots for addr.
func (g *authGate) admit(addr string, perMin, share int) (*ticket, *refusal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	c, ok := g.clients[addr]
	if !ok {
		if len(g.clients) >= maxTrackedClients {
			g.prune(now, perMin)
		}
		c = &gateClient{tokens: float64(perMin), at: now}
		g.clients[addr] = c
	}
	c.refill(now, perMin)
	c.seen = now
	if c.tokens < 1 {
		wait := time.Duration(math.Ceil((1 - c.tokens) / float64(perMin) * float64(time.Minute)))
		return nil, &refusal{wait: wait}
	}
	if c.inFlight >= share {
		return nil, &refusal{busy: true, wait: time.Second}
	}
	c.tokens--
	c.inFlight++
	return &ticket{g: g, c: c, perMin: perMin}, nil
}

// done ends the attempt; a successful one gives its failure back.
func (t *ticket) done(success bool) {
	t.g.mu.Lock()
	defer t.g.mu.Unlock()
	now := t.g.now()
	t.c.refill(now, t.perMin)
	t.c.inFlight--
	t.c.seen = now
	if success {
		t.c.tokens = min(t.c.tokens+1, float64(t.perMin))
	}
}

// prune drops idle clients whose bucket is full again; if that is not
// enough, the idle least recently seen half. Clients with attempts in
// progress stay: dropping one would give it a fresh budget.
func (g *authGate) prune(now time.Time, perMin int) {
	for k, c := range g.clients {
		c.refill(now, perMin)
		if c.inFlight == 0 && c.tokens >= float64(perMin) {
			delete(g.clients, k)
		}
	}
	if len(g.clients) < maxTrackedClients {
		return
	}
	cutoff := now
	for _, c := range g.clients {
		if c.seen.Before(cutoff) {
			cutoff = c.seen
		}
	}
	// Drop everything idle not seen in the newer half of the time range.
	mid := cutoff.Add(now.Sub(cutoff) / 2)
	for k, c := range g.clients {
		if c.inFlight == 0 && !c.seen.After(mid) {
			delete(g.clients, k)
		}
	}
}

// clientAddr is the connection's IP address, for the audit log. Headers
// such as X-Forwarded-For are ignored because any client can set them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitKey is the key the authentication limits count by: the IPv4 address,
// or the /64 network of an IPv6 address (one host commonly holds a whole
// /64, so per-address limits would not limit it).
func limitKey(client string) string {
	ip, err := netip.ParseAddr(client)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return client
	}
	p, err := ip.WithZone("").Prefix(64)
	if err != nil {
		return client
	}
	return p.String()
}

// setAuthCapacity sets how many authentications may compare at once (n)
// and how many of them one client address may hold: a quarter, at least one.
func (h *Handler) setAuthCapacity(n int) {
	h.authSlots = make(chan struct{}, n)
	h.authShare = max(1, n/4)
}

// acquireAuth bounds concurrent bcrypt work so a flood of requests from many
// addresses cannot take every CPU.
func (h *Handler) acquireAuth(ctx context.Context) (release func(), err error) {
	select {
	case h.authSlots <- struct{}{}:
		return func() { <-h.authSlots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// HashSecret reads a secret (one line) from r and writes its bcrypt hash
// (cost 10) to w, for the control section's `hash:` fields.
func HashSecret(r io.Reader, w io.Writer) error {
	line, err := bufio.NewReader(io.LimitReader(r, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	secret := strings.TrimRight(line, "\r\n")
	switch {
	case secret == "":
		return errors.New("empty secret: write the token or password to standard input")
	case len(secret) > 72:
		return errors.New("secret longer than 72 bytes, which bcrypt cannot use")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(hash))
	return err
}
