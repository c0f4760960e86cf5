package main

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// Bounds of what the probe history keeps, so its memory stays small with a
// large inventory and hostile targets: one short record per inventory
// container (at most maxTrackedContainers), and two rings of recent probes
// (all, and failed only, so a fleet of healthy containers cannot push the
// failures out) whose log text is cut at maxHistoryLogBytes.
const (
	maxTrackedContainers = 10000
	maxReasonBytes       = 512
	maxHistoryLogBytes   = 16 << 10
	defaultHistoryLimit  = 100
)

// probeRecord is one probe as the landing page shows it.
type probeRecord struct {
	ID          uint64
	Target      string // as requested
	Container   string // inventory name; "" for an ad-hoc host:port target
	Address     string
	Module      string
	Start       time.Time
	Duration    time.Duration
	Up          bool
	Reason      string // why it failed, cut at maxReasonBytes
	FieldErrors int
	Logs        string      // preformatted log lines, cut at maxHistoryLogBytes; ring entries only; see logs
	facts       *probeLines // the probe's facts, formatted into its log lines on request (logs); ring entries only
}

// logs is the probe's log lines, as its debug view showed them, cut at
// maxHistoryLogBytes: formatted from its facts now, not when it ran.
func (p *probeRecord) logs() string {
	if p.facts != nil {
		return cut(p.facts.String(), maxHistoryLogBytes)
	}
	return p.Logs
}

// probeHistory keeps the last probe of each inventory container and the
// most recent probes.
type probeHistory struct {
	mu     sync.Mutex
	nextID uint64
	last   map[string]probeRecord // by container name, without Logs
	limit  int                    // entries per ring (--history.limit)
	recent ring
	failed ring
}

type ring struct {
	items []*probeRecord
	next  int
}

func (r *ring) add(p *probeRecord, limit int) {
	if limit <= 0 {
		return
	}
	if len(r.items) < limit {
		r.items = append(r.items, p)
		return
	}
	r.items[r.next] = p
	r.next = (r.next + 1) % limit
}

// newest returns the ring's entries, newest first.
func (r *ring) newest() []*probeRecord {
	out := make([]*probeRecord, 0, len(r.items))
	for i := range r.items {
		idx := (r.next - 1 - i + 2*len(r.items)) % len(r.items)
		out = append(out, r.items[idx])
	}
	return out
}

func newProbeHistory(limit int) *probeHistory {
	if limit < 0 {
		limit = 0
	}
	return &probeHistory{last: map[string]probeRecord{}, limit: limit}
}

// add records a probe. inInventory reports whether a container name is in
// the current inventory; when the per-container table is full, names that
// left the inventory are dropped first, and a container that still finds no
// room is not tracked (the rings still show its probes).
func (h *probeHistory) add(p probeRecord, inInventory func(string) bool) {
	h.addRecord(&p, inInventory)
}

// addRecord is add of a record the history may keep as it is (the rings
// hold p itself).
func (h *probeHistory) addRecord(p *probeRecord, inInventory func(string) bool) {
	p.Reason = cut(p.Reason, maxReasonBytes)
	p.Logs = cut(p.Logs, maxHistoryLogBytes)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	p.ID = h.nextID
	if p.Container != "" {
		_, known := h.last[p.Container]
		if !known && len(h.last) >= maxTrackedContainers {
			for name := range h.last {
				if !inInventory(name) {
					delete(h.last, name)
				}
			}
		}
		if known || len(h.last) < maxTrackedContainers {
			short := *p
			short.Logs, short.facts = "", nil
			h.last[p.Container] = short
		}
	}
	h.recent.add(p, h.limit)
	if !p.Up {
		h.failed.add(p, h.limit)
	}
}

// lastOf returns a container's last probe.
func (h *probeHistory) lastOf(name string) (probeRecord, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.last[name]
	return p, ok
}

// snapshot returns the recent and the recent failed probes, newest first.
func (h *probeHistory) snapshot() (recent, failed []*probeRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.recent.newest(), h.failed.newest()
}

// byID finds a probe still held in a ring.
func (h *probeHistory) byID(id uint64) (*probeRecord, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range []*ring{&h.recent, &h.failed} {
		for _, p := range r.items {
			if p.ID == id {
				return p, true
			}
		}
	}
	return nil, false
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Keep valid UTF-8: back off to a rune start.
	i := n
	for i > 0 && i > n-4 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…(cut)"
}

// logsHandler serves /logs?id=N: the log lines of a probe still in the
// history, as the landing page links them.
type logsHandler struct{ history *probeHistory }

func (h *logsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !readMethod(w, r, "use GET /logs?id=<probe id from the landing page>") {
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, "malformed query: "+err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := singleParam(q["id"], "id", true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		http.Error(w, fmt.Sprintf("parameter \"id\": %q is not a probe id", raw), http.StatusBadRequest)
		return
	}
	p, ok := h.history.byID(id)
	if !ok {
		http.Error(w, fmt.Sprintf("probe %d is no longer in the history (it keeps the last probes only; see the landing page)", id), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff") // device text inside; never rendered as HTML
	_, _ = fmt.Fprintf(w, "Logs for probe %d of %s (%s):\n%s", p.ID, p.Target, p.Start.UTC().Format(time.RFC3339), p.logs())
}

// historyHTML renders the landing page's probe sections: the inventory with
// each container's last probe, then the recent and recent failed probes.
func historyHTML(c *config.Config, h *probeHistory, now time.Time) string {
	var b strings.Builder
	if c.HasInventory() {
		b.WriteString("<h2>Containers</h2>\n<table><thead><tr><th>Container</th><th>Type</th><th>Address</th>" +
			"<th>Last probe</th><th>Duration</th><th>Result</th><th>Reason</th><th>Debug</th></tr></thead><tbody>\n")
		for _, ct := range c.Containers {
			name := html.EscapeString(ct.Name)
			q := url.QueryEscape(ct.Name)
			fmt.Fprintf(&b, `<tr><td><a href="/probe?target=%s">%s</a></td><td>%s</td><td>%s</td>`,
				q, name, html.EscapeString(ct.Type), html.EscapeString(ct.Address))
			if p, ok := h.lastOf(ct.Name); ok {
				fmt.Fprintf(&b, "<td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
					ago(p.Start, now), p.Duration.Round(time.Millisecond), result(p), html.EscapeString(p.Reason))
			} else {
				b.WriteString("<td>never</td><td></td><td></td><td></td>")
			}
			fmt.Fprintf(&b, `<td><a href="/probe?target=%s&amp;debug=true">debug</a></td></tr>`+"\n", q)
		}
		b.WriteString("</tbody></table>\n")
	}
	recent, failed := h.snapshot()
	writeRing(&b, "Recent probes", recent, now)
	writeRing(&b, "Recent failed probes", failed, now)
	return b.String()
}

func writeRing(b *strings.Builder, title string, ps []*probeRecord, now time.Time) {
	fmt.Fprintf(b, "<h2>%s</h2>\n", title)
	if len(ps) == 0 {
		b.WriteString("<p>none yet</p>\n")
		return
	}
	b.WriteString("<table><thead><tr><th>Target</th><th>Module</th><th>Time</th><th>Duration</th><th>Result</th><th>Reason</th><th>Logs</th></tr></thead><tbody>\n")
	for _, p := range ps {
		fmt.Fprintf(b, `<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td><a href="/logs?id=%d">logs</a></td></tr>`+"\n",
			html.EscapeString(p.Target), html.EscapeString(p.Module), ago(p.Start, now), p.Duration.Round(time.Millisecond),
			result(*p), html.EscapeString(p.Reason), p.ID)
	}
	b.WriteString("</tbody></table>\n")
}

func result(p probeRecord) string {
	switch {
	case !p.Up:
		return "down"
	case p.FieldErrors > 0:
		return fmt.Sprintf("up (%d field errors)", p.FieldErrors)
	}
	return "up"
}

func ago(t, now time.Time) string {
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format("2006-01-02 15:04:05Z"), now.Sub(t).Round(time.Second))
}
