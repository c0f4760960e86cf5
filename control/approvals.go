package control

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// Approvals: an action listed in control.approvals does not run when asked;
// the request waits, in memory only, until enough distinct credentials have
// approved it (POST /control/approve?id=...), then runs exactly as asked.
// Pending requests are bounded in number (control.max_pending_approvals) and
// lifetime (control.approval_timeout) and are lost on restart.

// Endpoints beside the actions.
const (
	endpointApprove = "approve"
	endpointPending = "pending"
)

// approvalIDBytes is the entropy of an approval id (hex-encoded: twice as
// many characters).
const approvalIDBytes = 16

// identity names a credential across config reloads: "token:<name>" or
// "user:<name>", as the audit log writes it.
type identity string

// pendingRequest is a request waiting for approvals. Everything that decides
// what will be sent is fixed when it is made.
type pendingRequest struct {
	id      string
	action  string
	raw     map[string]string // the validated parameters, to re-check against the limits at execution
	q       *request
	targets []*config.Container // as resolved at request time
	// approvals in order; the requester is the first.
	approvals []identity
	required  int
	client    string // the requester's address, for the audit log
	created   time.Time
	expires   time.Time
}

func (p *pendingRequest) requester() identity { return p.approvals[0] }

func (p *pendingRequest) targetNames() []string {
	names := make([]string, len(p.targets))
	for i, ct := range p.targets {
		names[i] = ct.Name
	}
	return names
}

// approvalStore holds the pending requests.
type approvalStore struct {
	mu      sync.Mutex
	pending map[string]*pendingRequest
}

func newApprovalStore() *approvalStore {
	return &approvalStore{pending: map[string]*pendingRequest{}}
}

// newApprovalID returns 128 random bits from crypto/rand, hex-encoded.
func newApprovalID() (string, error) {
	b := make([]byte, approvalIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func validApprovalID(id string) bool {
	if len(id) != 2*approvalIDBytes {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// expire drops the requests whose time is up, writing an audit line and
// counting each. It runs at every /control request, so an expiry is logged
// at the next request after it (the line says when it expired).
func (h *Handler) expire() {
	now := h.now()
	h.approvals.mu.Lock()
	var gone []*pendingRequest
	for id, p := range h.approvals.pending {
		if !now.Before(p.expires) {
			gone = append(gone, p)
			delete(h.approvals.pending, id)
		}
	}
	h.approvals.mu.Unlock()
	sort.Slice(gone, func(i, j int) bool { return gone[i].created.Before(gone[j].created) })
	for _, p := range gone {
		h.requests.WithLabelValues(p.action, "expired").Inc()
		_ = level.Warn(h.logger).Log("msg", "control approval expired", "approval_id", p.id, "action", p.action,
			"requested_by", p.requester(), "params", formatParams(p.q.parameters()), "containers", strings.Join(p.targetNames(), ","),
			"approvals", fmt.Sprintf("%d/%d", len(p.approvals), p.required), "approved_by", joinIDs(p.approvals),
			"expired_at", p.expires.UTC().Format(time.RFC3339))
	}
}

func joinIDs(ids []identity) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ",")
}

// auditApproval is what the audit line says about an approval.
type auditApproval struct {
	id          string
	requestedBy identity
	approvals   []identity
	required    int
}

func (a *auditApproval) logFields(kv []any) []any {
	if a == nil {
		return kv
	}
	return append(kv, "approval_id", a.id, "requested_by", string(a.requestedBy),
		"approvals", fmt.Sprintf("%d/%d", len(a.approvals), a.required), "approved_by", joinIDs(a.approvals))
}

// approvalAnswer is the approval part of an executed request's answer.
type approvalAnswer struct {
	ID          string   `json:"approval_id"`
	RequestedBy string   `json:"requested_by"`
	ApprovedBy  []string `json:"approved_by"`
	Required    int      `json:"approvals_required"`
}

func (a *auditApproval) answer() *approvalAnswer {
	if a == nil {
		return nil
	}
	by := make([]string, len(a.approvals))
	for i, id := range a.approvals {
		by[i] = string(id)
	}
	return &approvalAnswer{ID: a.id, RequestedBy: string(a.requestedBy), ApprovedBy: by, Required: a.required}
}

// pendingAnswer describes a waiting request: the 202 answer, an approval that
// is not yet the last, and an entry of GET /control/pending.
type pendingAnswer struct {
	ApprovalID string         `json:"approval_id"`
	Status     string         `json:"status"`
	Action     string         `json:"action"`
	Target     string         `json:"target,omitempty"`
	Selector   string         `json:"selector,omitempty"`
	Targets    []string       `json:"targets"`
	Parameters map[string]any `json:"parameters"`
	// RequestedBy is the credential that made the request; it counts as the first approval.
	RequestedBy string   `json:"requested_by"`
	RequestedAt string   `json:"requested_at"`
	ApprovedBy  []string `json:"approved_by"`
	Received    int      `json:"approvals_received"`
	Required    int      `json:"approvals_required"`
	ExpiresAt   string   `json:"expires_at"`
	Approve     string   `json:"approve"`
	// CanApprove (GET /control/pending only): whether the asking credential may approve it.
	CanApprove *bool `json:"can_approve,omitempty"`
}

func (p *pendingRequest) answer() pendingAnswer {
	by := make([]string, len(p.approvals))
	for i, id := range p.approvals {
		by[i] = string(id)
	}
	return pendingAnswer{
		ApprovalID: p.id, Status: "pending_approval", Action: p.action,
		Target: p.q.target, Selector: p.q.selector, Targets: p.targetNames(), Parameters: p.q.parameters(),
		RequestedBy: string(p.requester()), RequestedAt: p.created.UTC().Format(time.RFC3339),
		ApprovedBy: by, Received: len(p.approvals), Required: p.required,
		ExpiresAt: p.expires.UTC().Format(time.RFC3339),
		Approve:   "POST " + Prefix + endpointApprove + "?id=" + p.id,
	}
}

// holdForApproval holds back a request whose action needs approvals: it records it as
// pending and answers 202. It reports whether it answered.
func (h *Handler) holdForApproval(w http.ResponseWriter, a *audit, p *principal, cfg *config.Config, q *request, raw map[string]string, targets []*config.Container) bool {
	required := cfg.Control.ApprovalsRequired(q.action)
	if required <= 1 || q.dryRun {
		return false
	}
	lim := cfg.Control.Limits()
	id, err := newApprovalID()
	if err != nil {
		h.refuse(w, a, &httpError{status: http.StatusInternalServerError, result: "internal_error", msg: "could not make an approval id; nothing was sent"})
		return true
	}
	now := h.now()
	params := maps.Clone(raw)
	delete(params, "dry_run")
	pr := &pendingRequest{
		id: id, action: q.action, raw: params, q: q, targets: slices.Clone(targets),
		approvals: []identity{identity(p.who())}, required: required, client: a.client,
		created: now, expires: now.Add(lim.ApprovalTimeout),
	}
	h.approvals.mu.Lock()
	// One credential may fill at most half the places, so a runaway script
	// cannot keep everyone else from asking.
	mine, first, firstMine := 0, time.Time{}, time.Time{}
	for _, x := range h.approvals.pending {
		if first.IsZero() || x.expires.Before(first) {
			first = x.expires
		}
		if x.requester() == pr.requester() {
			mine++
			if firstMine.IsZero() || x.expires.Before(firstMine) {
				firstMine = x.expires
			}
		}
	}
	perRequester := max(1, lim.MaxPendingApprovals/2)
	var full string
	switch {
	case len(h.approvals.pending) >= lim.MaxPendingApprovals:
		full = fmt.Sprintf("%d requests are already waiting for approval (control.max_pending_approvals)", lim.MaxPendingApprovals)
	case mine >= perRequester:
		full = fmt.Sprintf("%s already has %d requests waiting for approval, the most one credential may have (half of control.max_pending_approvals)", pr.requester(), mine)
		first = firstMine
	}
	if full != "" {
		h.approvals.mu.Unlock()
		secs := max(1, int(math.Ceil(first.Sub(now).Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		h.refuse(w, a, &httpError{status: http.StatusServiceUnavailable, result: "pending_full",
			msg: full + "; approve them or let them expire; nothing was sent"})
		return true
	}
	h.approvals.pending[id] = pr
	ans := pr.answer()
	h.approvals.mu.Unlock()

	a.approval = &auditApproval{id: id, requestedBy: pr.requester(), approvals: slices.Clone(pr.approvals), required: required}
	a.status, a.result = http.StatusAccepted, "pending_approval"
	a.containers = pr.targetNames()
	writeJSON(w, http.StatusAccepted, ans)
	return true
}

// findCredential returns the current credential of an identity, if any.
func findCredential(creds config.ControlCredentials, id identity) *config.ControlCredential {
	kind, name, _ := strings.Cut(string(id), ":")
	list := creds.Tokens
	if kind == "user" {
		list = creds.Users
	}
	for _, c := range list {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// parseApprovalID reads the only parameter of /control/approve, id, from the
// query string; anything else (a body, another or a repeated parameter) is 400.
func parseApprovalID(r *http.Request) (string, *httpError) {
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		return "", badRequest("%s%s takes no body: send POST %s%s?id=<approval_id>", Prefix, endpointApprove, Prefix, endpointApprove)
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", badRequest("query string: %v", err)
	}
	for k := range vals {
		if k != "id" {
			return "", badRequest("unknown parameter %q (%s%s takes only id)", truncate(k, 40), Prefix, endpointApprove)
		}
	}
	ids := vals["id"]
	switch {
	case len(ids) == 0 || ids[0] == "":
		return "", badRequest("missing id=<approval_id> (from the 202 answer or GET %s%s)", Prefix, endpointPending)
	case len(ids) > 1:
		return "", badRequest("parameter \"id\" given more than once")
	case !validApprovalID(ids[0]):
		return "", badRequest("id must be an approval_id: %d lowercase hex digits", 2*approvalIDBytes)
	}
	return ids[0], nil
}

// noSuchApproval is the answer for an id that is unknown, expired, executed,
// dropped, or whose containers the asking credential may not see: they are
// indistinguishable on purpose.
func noSuchApproval() *httpError {
	return &httpError{status: http.StatusNotFound, result: "not_found",
		msg: "no open approval request with this id (unknown, expired, already executed or canceled); GET " + Prefix + endpointPending + " lists the open ones"}
}

// stillValid re-checks a pending request against the current configuration:
// the requester's credential must still hold the action and cover every
// container, every container must still be in the inventory at the same
// address and type, and the parameters must still pass the limits and mean
// exactly what they meant. It returns the containers to write and the
// approvals that still count.
func stillValid(cfg *config.Config, pr *pendingRequest) ([]*config.Container, []identity, string) {
	creds := cfg.Control.Credentials()
	lim := cfg.Control.Limits()
	targets := make([]*config.Container, len(pr.targets))
	for i, old := range pr.targets {
		ct, ok := cfg.Lookup(old.Name)
		if !ok || ct.Name != old.Name {
			return nil, nil, fmt.Sprintf("container %s is no longer in the inventory", old.Name)
		}
		if ct.Address != old.Address || ct.Type != old.Type {
			return nil, nil, fmt.Sprintf("container %s changed in the inventory (address or type)", old.Name)
		}
		targets[i] = ct
	}
	var valid []identity
	for i, id := range pr.approvals {
		c := findCredential(creds, id)
		ok := c != nil && c.Allows(pr.action) && covers(c, targets)
		if i == 0 && !ok {
			return nil, nil, fmt.Sprintf("the requester %s no longer holds %s for every container", id, pr.action)
		}
		if ok {
			valid = append(valid, id)
		}
	}
	q, herr := parseRequest(pr.action, pr.raw, lim)
	if herr != nil {
		return nil, nil, "the parameters no longer pass the limits: " + herr.msg
	}
	if q.operation != pr.q.operation || q.extra.Encode() != pr.q.extra.Encode() || formatParams(q.parameters()) != formatParams(pr.q.parameters()) {
		return nil, nil, "the parameters would now be sent differently"
	}
	if len(targets) > lim.MaxBatch {
		return nil, nil, fmt.Sprintf("%d containers are more than control.max_batch (%d)", len(targets), lim.MaxBatch)
	}
	return targets, valid, ""
}

// serveApprove adds the principal's approval to a pending request and, when
// that makes the required count, runs the request as asked.
func (h *Handler) serveApprove(w http.ResponseWriter, r *http.Request, a *audit, p *principal, cfg *config.Config) {
	id, herr := parseApprovalID(r)
	if herr != nil {
		h.refuse(w, a, herr)
		return
	}
	me := identity(p.who())

	h.approvals.mu.Lock()
	pr, ok := h.approvals.pending[id]
	if !ok || !h.now().Before(pr.expires) || !covers(p.cred, pr.targets) {
		h.approvals.mu.Unlock()
		e := noSuchApproval()
		switch {
		case ok && !h.now().Before(pr.expires):
			e.detail = "approval " + id + " expired"
		case ok:
			e.detail = "approval " + id + " is for containers outside the credential's scope (" + p.cred.ScopeString() + ")"
		}
		h.refuse(w, a, e)
		return
	}
	a.action = pr.action
	a.approval = &auditApproval{id: id, requestedBy: pr.requester(), approvals: slices.Clone(pr.approvals), required: pr.required}
	a.params, a.target, a.selector = pr.q.parameters(), pr.q.target, pr.q.selector
	a.containers = pr.targetNames()
	if !p.cred.Allows(pr.action) {
		h.approvals.mu.Unlock()
		h.refuse(w, a, &httpError{status: http.StatusForbidden, result: "forbidden",
			msg: fmt.Sprintf("%s may not %s, so it may not approve it either (allowed actions: %s)", me, pr.action, strings.Join(p.cred.Actions, ", "))})
		return
	}
	if act, _ := h.lookup(pr.action); act.Dangerous && !h.dangerous {
		h.approvals.mu.Unlock()
		h.refuse(w, a, &httpError{status: http.StatusForbidden, result: "dangerous_disabled",
			msg: fmt.Sprintf("%s is a dangerous action and is disabled; start the exporter with %s to allow it", pr.action, DangerousFlag)})
		return
	}
	if slices.Contains(pr.approvals, me) {
		h.approvals.mu.Unlock()
		h.refuse(w, a, &httpError{status: http.StatusConflict, result: "already_approved",
			msg: fmt.Sprintf("%s has already approved this request; another credential holding %s must approve it (%d of %d approvals)", me, pr.action, len(pr.approvals), pr.required)})
		return
	}
	targets, valid, why := stillValid(cfg, pr)
	if why != "" {
		delete(h.approvals.pending, id)
		h.approvals.mu.Unlock()
		h.refuse(w, a, &httpError{status: http.StatusConflict, result: "approval_stale",
			msg: fmt.Sprintf("the request can no longer run as asked: %s; it was canceled and nothing was sent", why)})
		return
	}
	if !covers(p.cred, targets) {
		// The containers' labels changed since the request: the approver's
		// scope no longer covers them.
		h.approvals.mu.Unlock()
		e := noSuchApproval()
		e.detail = "approval " + id + " is for containers now outside the credential's scope (" + p.cred.ScopeString() + ")"
		a.action = endpointApprove // answered exactly like an unknown id
		h.refuse(w, a, e)
		return
	}
	pr.approvals = append(valid, me)
	// A reload may raise the count, never lower it.
	pr.required = max(pr.required, cfg.Control.ApprovalsRequired(pr.action))
	a.approval.approvals, a.approval.required = slices.Clone(pr.approvals), pr.required
	if len(pr.approvals) < pr.required {
		ans := pr.answer()
		h.approvals.mu.Unlock()
		a.status, a.result = http.StatusAccepted, "approved"
		writeJSON(w, http.StatusAccepted, ans)
		return
	}
	// This approval completes the request: it leaves the store under the
	// lock, so it runs exactly once however many approvals race.
	delete(h.approvals.pending, id)
	h.approvals.mu.Unlock()
	_ = level.Info(h.logger).Log("msg", "control approval complete; executing", "approval_id", id, "action", pr.action,
		"requested_by", pr.requester(), "requester_client", pr.client, "approved_by", joinIDs(pr.approvals))
	h.execute(w, r, a, pr.q, targets, cfg.Control.Limits())
}

// pendingList is the answer of GET /control/pending.
type pendingList struct {
	Pending    []pendingAnswer `json:"pending"`
	MaxPending int             `json:"max_pending"`
}

// servePending lists the open requests whose containers the principal's
// scope covers.
func (h *Handler) servePending(w http.ResponseWriter, r *http.Request, a *audit, p *principal, cfg *config.Config) {
	if r.URL.RawQuery != "" || r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		h.refuse(w, a, badRequest("GET %s%s takes no parameters", Prefix, endpointPending))
		return
	}
	out := pendingList{Pending: []pendingAnswer{}, MaxPending: cfg.Control.Limits().MaxPendingApprovals}
	me := identity(p.who())
	h.approvals.mu.Lock()
	for _, pr := range h.approvals.pending {
		if !covers(p.cred, pr.targets) {
			continue
		}
		e := pr.answer()
		can := p.cred.Allows(pr.action) && !slices.Contains(pr.approvals, me)
		e.CanApprove = &can
		out.Pending = append(out.Pending, e)
	}
	h.approvals.mu.Unlock()
	sort.Slice(out.Pending, func(i, j int) bool {
		if out.Pending[i].RequestedAt != out.Pending[j].RequestedAt {
			return out.Pending[i].RequestedAt < out.Pending[j].RequestedAt
		}
		return out.Pending[i].ApprovalID < out.Pending[j].ApprovalID
	})
	a.status, a.result = http.StatusOK, "success"
	writeJSON(w, http.StatusOK, out)
}

// methodFor is the one method an endpoint accepts.
func methodFor(endpoint string) string {
	if endpoint == endpointPending {
		return http.MethodGet
	}
	return http.MethodPost
}
