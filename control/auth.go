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
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

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
const TokenHeader = "X-Antspace-Token"

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
//     name, then the password with the matching user's hash, or with a dummy
//     hash of the same cost when the user is unknown.
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
		hash := h.dummyHash(maxCost(creds.Users))
		if match != nil {
			hash = []byte(match.Hash)
		}
		if match == nil {
			_ = bcrypt.CompareHashAndPassword(hash, []byte(pass))
			return nil, "", errBadCredentials
		}
		if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
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
		_ = bcrypt.CompareHashAndPassword(h.dummyHash(bcrypt.DefaultCost), []byte(token))
		return nil, "", errBadCredentials
	}
	for _, t := range creds.Tokens {
		if bcrypt.CompareHashAndPassword([]byte(t.Hash), []byte(token)) == nil && match == nil {
			match = t
		}
	}
	if match == nil {
		return nil, "", errBadCredentials
	}
	return &principal{kind: "token", cred: match}, "", nil
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

// failureLimiter rate-limits failed authentications per client address.
type failureLimiter struct {
	mu      sync.Mutex
	clients map[string]*clientLimit
	now     func() time.Time
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxTrackedClients bounds the limiter's memory; idle entries (whose bucket
// has refilled) are dropped first.
const maxTrackedClients = 10000

func newFailureLimiter() *failureLimiter {
	return &failureLimiter{clients: map[string]*clientLimit{}, now: time.Now}
}

// blocked reports whether addr has used up its failures, and for how long.
func (f *failureLimiter) blocked(addr string, perMin int) (bool, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clients[addr]
	if !ok {
		return false, 0
	}
	now := f.now()
	f.adjust(c, perMin)
	tokens := c.lim.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	wait := time.Duration(math.Ceil((1 - tokens) / float64(c.lim.Limit()) * float64(time.Second)))
	return true, wait
}

// fail records a failed authentication from addr.
func (f *failureLimiter) fail(addr string, perMin int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	c, ok := f.clients[addr]
	if !ok {
		if len(f.clients) >= maxTrackedClients {
			f.prune(now)
		}
		c = &clientLimit{lim: rate.NewLimiter(perMinute(perMin), perMin)}
		f.clients[addr] = c
	}
	f.adjust(c, perMin)
	c.seen = now
	c.lim.AllowN(now, 1)
}

func (f *failureLimiter) adjust(c *clientLimit, perMin int) {
	if c.lim.Burst() != perMin {
		c.lim.SetBurst(perMin)
		c.lim.SetLimit(perMinute(perMin))
	}
}

// prune drops clients whose bucket is full again; if that is not enough,
// the least recently seen half.
func (f *failureLimiter) prune(now time.Time) {
	for k, c := range f.clients {
		if c.lim.TokensAt(now) >= float64(c.lim.Burst()) {
			delete(f.clients, k)
		}
	}
	if len(f.clients) < maxTrackedClients {
		return
	}
	cutoff := now
	for _, c := range f.clients {
		if c.seen.Before(cutoff) {
			cutoff = c.seen
		}
	}
	// Drop everything not seen in the newer half of the time range.
	mid := cutoff.Add(now.Sub(cutoff) / 2)
	for k, c := range f.clients {
		if !c.seen.After(mid) {
			delete(f.clients, k)
		}
	}
}

func perMinute(n int) rate.Limit { return rate.Limit(float64(n) / 60) }

// clientAddr is the rate-limiting key: the connection's IP address. Headers
// such as X-Forwarded-For are ignored because any client can set them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
