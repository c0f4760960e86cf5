package control

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const approvalsYAML = "  approvals: {cooling: 2}\n  approval_timeout: 10m\n"

// request asks for cooling off on hk3-a with token and returns the approval id.
func requestApproval(t *testing.T, env *siteEnv, c call) string {
	t.Helper()
	r := env.do(t, c)
	if r.status != http.StatusAccepted {
		t.Fatalf("request: %d %s", r.status, r.body)
	}
	id, _ := r.json["approval_id"].(string)
	if !validApprovalID(id) {
		t.Fatalf("approval_id %q", id)
	}
	return id
}

func approve(t *testing.T, env *siteEnv, id string, c call) reply {
	t.Helper()
	c.path = "/control/approve?id=" + id
	return env.do(t, c)
}

// cooling with approvals 2: not sent after one request, not sent when the
// same credential approves, nor by one lacking the action or the scope;
// sent exactly once after a second credential approves.
func TestApprovalRoundTrip(t *testing.T) {
	env := newSiteEnv(t, siteOptions{dangerous: true, control: approvalsYAML})
	r := env.do(t, call{path: "/control/cooling?target=hk3-a&state=off", bearer: adminToken})
	if r.status != http.StatusAccepted {
		t.Fatalf("request: %d %s", r.status, r.body)
	}
	id := r.json["approval_id"].(string)
	for k, want := range map[string]any{
		"status": "pending_approval", "action": "cooling", "target": "hk3-a", "requested_by": "token:admin",
		"approvals_received": 1.0, "approvals_required": 2.0, "approve": "POST /control/approve?id=" + id,
		"expires_at": epoch.Add(10 * time.Minute).Format(time.RFC3339),
	} {
		if r.json[k] != want {
			t.Errorf("%s = %v, want %v", k, r.json[k], want)
		}
	}
	if fmt.Sprint(r.json["targets"]) != "[hk3-a]" || fmt.Sprint(r.json["parameters"]) != "map[state:off]" || fmt.Sprint(r.json["approved_by"]) != "[token:admin]" {
		t.Errorf("answer %s", r.body)
	}
	noWrites := func(when string) {
		t.Helper()
		if w := env.writes(); len(w) != 0 {
			t.Fatalf("%s: written %v", when, w)
		}
	}
	noWrites("after the request")

	for _, tc := range []struct {
		name   string
		c      call
		status int
		result string
	}{
		{"the requester again", call{bearer: adminToken}, http.StatusConflict, "already_approved"},
		{"a credential without cooling", call{bearer: resetToken}, http.StatusForbidden, "forbidden"},
		{"a credential whose scope lacks hk3-a", call{bearer: dc2Token}, http.StatusNotFound, "not_found"},
	} {
		r := approve(t, env, id, tc.c)
		if r.status != tc.status {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
		noWrites(tc.name)
	}
	// Out of scope is answered exactly like an unknown id.
	sameAnswer(t, "out of scope", approve(t, env, id, call{bearer: dc2Token}), approve(t, env, strings.Repeat("0", 32), call{bearer: dc2Token}))

	// dave (cooling, scope site=dc1) completes it.
	r = approve(t, env, id, call{bearer: daveToken})
	if r.status != http.StatusOK || r.json["ok"] != true || r.json["verified"] != true {
		t.Fatalf("approval: %d %s", r.status, r.body)
	}
	ap, _ := r.json["approval"].(map[string]any)
	if ap["approval_id"] != id || ap["requested_by"] != "token:admin" || fmt.Sprint(ap["approved_by"]) != "[token:admin token:dave]" {
		t.Errorf("approval in answer: %v", ap)
	}
	if got := env.writes(); !slices.Equal(got, []string{"hk3-a:close"}) {
		t.Fatalf("writes %v, want one close", got)
	}
	// Executed: gone; another approval does nothing.
	if r := approve(t, env, id, call{user: "bob", pass: bobPass}); r.status != http.StatusNotFound {
		t.Errorf("approval after execution: %d %s", r.status, r.body)
	}
	if got := env.writes(); len(got) != 1 {
		t.Errorf("writes %v", got)
	}
	for result, want := range map[string]float64{"pending_approval": 1, "already_approved": 1, "forbidden": 1, "success": 1} {
		if got := env.count("cooling", result); got != want {
			t.Errorf("cooling %s = %v, want %v", result, got, want)
		}
	}
	logs := env.logs.String()
	for _, want := range []string{
		"result=pending_approval status=202 target=hk3-a params=\"state=off\" dry_run=false containers=hk3-a approval_id=" + id,
		"result=already_approved",
		"msg=\"control approval complete; executing\" approval_id=" + id,
		"who=token:dave client=127.0.0.1 action=cooling result=success status=200",
		"approvals=2/2 approved_by=token:admin,token:dave",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("audit log lacks %q:\n%s", want, logs)
		}
	}
}

// Three approvals: the second is recorded (202), the third executes.
func TestApprovalThree(t *testing.T) {
	env := newSiteEnv(t, siteOptions{dangerous: true, control: "  approvals: {cooling: 3}\n"})
	id := requestApproval(t, env, call{path: "/control/cooling?selector=site=dc1&state=off", user: "bob", pass: bobPass})
	r := approve(t, env, id, call{bearer: carolToken})
	if r.status != http.StatusAccepted || r.json["approvals_received"] != 2.0 || fmt.Sprint(r.json["approved_by"]) != "[user:bob token:carol]" {
		t.Fatalf("second: %d %s", r.status, r.body)
	}
	if w := env.writes(); len(w) != 0 {
		t.Fatalf("written after two of three: %v", w)
	}
	r = approve(t, env, id, call{bearer: dc1Token})
	if r.status != http.StatusOK {
		t.Fatalf("third: %d %s", r.status, r.body)
	}
	if got, want := env.writes(), []string{"hk3-a:close", "hk3-b:close"}; !slices.Equal(got, want) {
		t.Errorf("writes %v, want %v", got, want)
	}
	if env.count("cooling", "approved") != 1 {
		t.Error("approved not counted")
	}
}

// An expired request does not execute; the expiry is audited and counted.
func TestApprovalExpiry(t *testing.T) {
	env := newSiteEnv(t, siteOptions{dangerous: true, control: approvalsYAML})
	id := requestApproval(t, env, call{path: "/control/cooling?target=hk3-a&state=off", bearer: adminToken})
	env.clock.Advance(10*time.Minute - time.Nanosecond)
	if r := env.do(t, call{method: http.MethodGet, path: "/control/pending", bearer: carolToken}); len(r.json["pending"].([]any)) != 1 {
		t.Fatalf("pending just before expiry: %s", r.body)
	}
	env.clock.Advance(time.Nanosecond)
	r := approve(t, env, id, call{bearer: carolToken})
	if r.status != http.StatusNotFound {
		t.Fatalf("approval after expiry: %d %s", r.status, r.body)
	}
	if w := env.writes(); len(w) != 0 {
		t.Fatalf("written: %v", w)
	}
	if got := env.count("cooling", "expired"); got != 1 {
		t.Errorf("expired counted %v", got)
	}
	want := "msg=\"control approval expired\" approval_id=" + id + " action=cooling requested_by=token:admin params=\"state=off\" containers=hk3-a approvals=1/2 approved_by=token:admin expired_at=" +
		epoch.Add(10*time.Minute).Format(time.RFC3339)
	if !strings.Contains(env.logs.String(), want) {
		t.Errorf("audit log lacks %q:\n%s", want, env.logs)
	}
}

// A request that can no longer run as asked is canceled, not executed:
// a target gone from the inventory, a setpoint now outside the limits, a
// requester whose credential lost the action.
func TestApprovalStale(t *testing.T) {
	for _, tc := range []struct {
		name, control, path string
		reload              func(t *testing.T, env *siteEnv, base string)
		why                 string
	}{
		{"target gone", approvalsYAML, "/control/cooling?selector=site=dc1&state=off",
			func(t *testing.T, env *siteEnv, base string) { env.reload(t, base, "hk3-b") },
			"container hk3-b is no longer in the inventory"},
		{"limits changed", "  approvals: {setpoint: 2}\n", "/control/setpoint?target=hk3-a&celsius=40",
			func(t *testing.T, env *siteEnv, base string) { env.reload(t, base+"  setpoint_max: 35\n") },
			"the parameters no longer pass the limits: celsius 40 is outside"},
		{"requester lost the action", "  approvals: {reset: 2}\n", "/control/reset?target=hk3-a",
			func(t *testing.T, env *siteEnv, base string) {
				env.resetterActions = "[setpoint]"
				env.reload(t, base)
			},
			"the requester token:resetter no longer holds reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newSiteEnv(t, siteOptions{dangerous: true, control: tc.control})
			c := call{path: tc.path, bearer: adminToken}
			if strings.Contains(tc.path, "reset") {
				c.bearer = resetToken
			}
			id := requestApproval(t, env, c)
			tc.reload(t, env, tc.control)
			r := approve(t, env, id, call{user: "bob", pass: bobPass})
			if r.status != http.StatusConflict || !strings.Contains(fmt.Sprint(r.json["error"]), tc.why) {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if w := env.writes(); len(w) != 0 {
				t.Fatalf("written: %v", w)
			}
			// Canceled for good.
			if r := approve(t, env, id, call{bearer: carolToken}); r.status != http.StatusNotFound {
				t.Errorf("after cancel: %d %s", r.status, r.body)
			}
		})
	}
}

// An approver whose scope no longer covers the containers (their labels
// changed) is answered like an unknown id and does not count.
func TestApprovalScopeChanged(t *testing.T) {
	env := newSiteEnv(t, siteOptions{dangerous: true, control: approvalsYAML})
	id := requestApproval(t, env, call{path: "/control/cooling?target=hk3-a&state=off", bearer: adminToken})
	env.site = map[string]string{"hk3-a": "dc9"}
	env.reload(t, approvalsYAML)
	unknown := approve(t, env, strings.Repeat("0", 32), call{bearer: daveToken})
	sameAnswer(t, "scope changed", approve(t, env, id, call{bearer: daveToken}), unknown)
	if w := env.writes(); len(w) != 0 {
		t.Fatalf("written: %v", w)
	}
	// An unscoped approver still completes it, with the container as requested.
	if r := approve(t, env, id, call{bearer: carolToken}); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := env.writes(); !slices.Equal(got, []string{"hk3-a:close"}) {
		t.Errorf("writes %v", got)
	}
}

// Concurrent approvals execute exactly once.
func TestApprovalConcurrent(t *testing.T) {
	for _, required := range []int{2, 3} {
		t.Run(fmt.Sprint(required), func(t *testing.T) {
			env := newSiteEnv(t, siteOptions{dangerous: true, control: fmt.Sprintf("  approvals: {cooling: %d}\n", required)})
			for round := range 3 {
				id := requestApproval(t, env, call{path: "/control/cooling?target=hk3-a&state=off", bearer: adminToken})
				// From different addresses: one client may only have a small
				// share of the authentications in progress.
				approvers := []call{{bearer: carolToken, from: "127.0.0.11"}, {bearer: daveToken, from: "127.0.0.12"},
					{bearer: dc1Token, from: "127.0.0.13"}, {user: "bob", pass: bobPass, from: "127.0.0.14"}}
				statuses := make([]int, len(approvers))
				var wg sync.WaitGroup
				for i, c := range approvers {
					wg.Go(func() {
						statuses[i] = approve(t, env, id, c).status
					})
				}
				wg.Wait()
				count := map[int]int{}
				for _, s := range statuses {
					count[s]++
				}
				// required-2 approvals are recorded (202), one executes, the rest find it gone.
				if count[http.StatusOK] != 1 || count[http.StatusAccepted] != required-2 || count[http.StatusNotFound] != len(approvers)-required+1 {
					t.Errorf("round %d: statuses %v", round, statuses)
				}
				if w := env.mocks["hk3-a"].Writes(); len(w) != round+1 {
					t.Fatalf("round %d: %d writes, want %d", round, len(w), round+1)
				}
			}
		})
	}
}

// GET /control/pending lists the open requests a credential may see.
func TestPendingList(t *testing.T) {
	env := newSiteEnv(t, siteOptions{dangerous: true, control: approvalsYAML})
	id := requestApproval(t, env, call{path: "/control/cooling?target=hk3-a&state=off", bearer: dc1Token})
	list := func(c call) []any {
		t.Helper()
		c.method, c.path = http.MethodGet, "/control/pending"
		r := env.do(t, c)
		if r.status != http.StatusOK || r.json["max_pending"] != 20.0 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return r.json["pending"].([]any)
	}
	for _, tc := range []struct {
		name string
		c    call
		see  bool
		can  bool
	}{
		{"requester", call{bearer: dc1Token}, true, false},
		{"approver", call{bearer: carolToken}, true, true},
		{"in scope without cooling", call{user: "alice", pass: alicePass}, true, false},
		{"outside the scope", call{bearer: dc2Token}, false, false},
	} {
		got := list(tc.c)
		if !tc.see {
			if len(got) != 0 {
				t.Errorf("%s sees %v", tc.name, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%s: %v", tc.name, got)
		}
		e := got[0].(map[string]any)
		if e["approval_id"] != id || e["can_approve"] != tc.can || e["requested_by"] != "token:dc1-ops" {
			t.Errorf("%s: %v", tc.name, e)
		}
	}
	for _, c := range []call{
		{method: http.MethodGet, path: "/control/pending"},
		{method: http.MethodGet, path: "/control/pending", bearer: wrongSecret},
	} {
		if r := env.do(t, c); r.status != http.StatusUnauthorized {
			t.Errorf("unauthenticated: %d", r.status)
		}
	}
	if r := env.do(t, call{method: http.MethodPost, path: "/control/pending", bearer: adminToken}); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
		t.Errorf("POST: %d %v", r.status, r.header)
	}
	if r := env.do(t, call{method: http.MethodGet, path: "/control/pending?all=1", bearer: adminToken}); r.status != http.StatusBadRequest {
		t.Errorf("with a parameter: %d", r.status)
	}
	if env.count("pending", "success") != 4 {
		t.Errorf("pending listings counted %v", env.count("pending", "success"))
	}
}

// Pending requests are bounded: beyond max_pending_approvals, 503.
func TestPendingBounded(t *testing.T) {
	env := newSiteEnv(t, siteOptions{dangerous: true, control: approvalsYAML + "  max_pending_approvals: 2\n"})
	requestApproval(t, env, call{path: "/control/cooling?target=hk3-a&state=off", bearer: adminToken})
	// One credential may hold at most half the places.
	r := env.do(t, call{path: "/control/cooling?target=hk3-b&state=off", bearer: adminToken})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(r.json["error"]), "token:admin already has 1 requests waiting") {
		t.Fatalf("second by the same credential: %d %s", r.status, r.body)
	}
	requestApproval(t, env, call{path: "/control/cooling?target=hk3-a&state=off", user: "bob", pass: bobPass})
	r = env.do(t, call{path: "/control/cooling?target=hk3-b&state=off", bearer: carolToken})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "600" || !strings.Contains(fmt.Sprint(r.json["error"]), "max_pending_approvals") {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	if env.count("cooling", "pending_full") != 2 {
		t.Error("pending_full not counted")
	}
	// A dry run needs no approval and takes no place.
	if r := env.do(t, call{path: "/control/cooling?target=hk3-b&state=off&dry_run=true", bearer: adminToken}); r.status != http.StatusOK {
		t.Errorf("dry run: %d %s", r.status, r.body)
	}
	// Expired ones free their place.
	env.clock.Advance(10 * time.Minute)
	requestApproval(t, env, call{path: "/control/cooling?target=hk3-b&state=off", bearer: carolToken})
	if w := env.writes(); len(w) != 0 {
		t.Errorf("written: %v", w)
	}
}

// /control/approve takes exactly one well-formed id in the query string.
func TestApproveParsing(t *testing.T) {
	env := newSiteEnv(t, siteOptions{dangerous: true, control: approvalsYAML})
	id := requestApproval(t, env, call{path: "/control/cooling?target=hk3-a&state=off", bearer: adminToken})
	for _, tc := range []struct {
		name   string
		c      call
		status int
	}{
		{"no id", call{path: "/control/approve"}, http.StatusBadRequest},
		{"empty id", call{path: "/control/approve?id="}, http.StatusBadRequest},
		{"id twice", call{path: "/control/approve?id=" + id + "&id=" + id}, http.StatusBadRequest},
		{"upper case", call{path: "/control/approve?id=" + strings.ToUpper(id)}, http.StatusBadRequest},
		{"short", call{path: "/control/approve?id=" + id[:31]}, http.StatusBadRequest},
		{"other parameter", call{path: "/control/approve?id=" + id + "&state=on"}, http.StatusBadRequest},
		{"body", call{path: "/control/approve?id=" + id, body: "state=on", contentType: "application/x-www-form-urlencoded"}, http.StatusBadRequest},
		{"bad query", call{path: "/control/approve?id=%zz"}, http.StatusBadRequest},
		{"GET", call{method: http.MethodGet, path: "/control/approve?id=" + id}, http.StatusMethodNotAllowed},
		{"unknown id", call{path: "/control/approve?id=" + strings.Repeat("ab", 16)}, http.StatusNotFound},
	} {
		tc.c.bearer = carolToken
		if r := env.do(t, tc.c); r.status != tc.status {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	if w := env.writes(); len(w) != 0 {
		t.Fatalf("written: %v", w)
	}
	// Still approvable after all that.
	if r := approve(t, env, id, call{bearer: carolToken}); r.status != http.StatusOK {
		t.Errorf("%d %s", r.status, r.body)
	}
}

func TestApprovalIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, err := newApprovalID()
		if err != nil {
			t.Fatal(err)
		}
		if !validApprovalID(id) || seen[id] {
			t.Fatalf("id %q (seen %v)", id, seen[id])
		}
		seen[id] = true
	}
}

// An approved request sends exactly the parameters asked for, to exactly
// the containers asked for.
func TestApprovalSendsWhatWasAsked(t *testing.T) {
	env := newSiteEnv(t, siteOptions{control: "  approvals: {setpoint: 2}\n"})
	id := requestApproval(t, env, call{path: "/control/setpoint", body: `{"selector":"site=dc1","celsius":31.5}`, contentType: "application/json", bearer: adminToken})
	r := approve(t, env, id, call{user: "bob", pass: bobPass})
	if r.status != http.StatusOK || fmt.Sprint(r.json["parameters"]) != "map[celsius:31.5]" || r.json["selector"] != "site=dc1" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got, want := env.writes(), []string{"hk3-a:setTemp=31.5", "hk3-b:setTemp=31.5"}; !slices.Equal(got, want) {
		t.Errorf("writes %v, want %v", got, want)
	}
	// Other actions are not gated.
	if r := env.do(t, call{path: "/control/reset?target=imm-a", bearer: adminToken}); r.status != http.StatusOK {
		t.Errorf("reset: %d %s", r.status, r.body)
	}
}
