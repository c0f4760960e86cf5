package control

import (
	"context"
	"sync"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// A container's outcome in a request's answer (result.Outcome).
const (
	outcomeVerified   = "verified"   // accepted and read back
	outcomeUnverified = "unverified" // accepted; the change did not show in time
	outcomeError      = "error"      // refused or failed: HTTP status, ok:false, connection refused, bad answer
	outcomeTimeout    = "timeout"    // no answer within control.timeout (or batch_timeout): it may or may not have been applied
	outcomeNotSent    = "not_sent"   // control.batch_timeout ran out before its turn: nothing was sent
	outcomeDryRun     = "dry_run"    // dry run: would be sent
)

// runBatch writes to every target, at most lim.BatchConcurrency at once. The
// whole batch must end within lim.BatchTimeout so that its answer is written
// before the HTTP server's write timeout: a write or read-back still running
// then is cut short (each is bounded by its own timeout too), and a target
// whose turn comes after it is not sent at all.
func (h *Handler) runBatch(ctx context.Context, targets []*config.Container, q *request, lim config.ControlLimits) []result {
	ctx, cancel := context.WithTimeout(ctx, lim.BatchTimeout)
	defer cancel()
	results := make([]result, len(targets))
	sem := make(chan struct{}, max(1, lim.BatchConcurrency))
	var wg sync.WaitGroup
	for i, ct := range targets {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		// Both cases can be ready at once; the deadline wins.
		if ctx.Err() != nil {
			if acquired {
				<-sem
			}
			results[i] = result{Container: ct.Name, Type: ct.Type, Outcome: outcomeNotSent,
				Error: "control.batch_timeout ran out before this container's turn; nothing was sent"}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = h.writeOne(ctx, ct, q, lim)
		})
	}
	wg.Wait()
	return results
}

func countOutcomes(results []result) map[string]int {
	out := map[string]int{}
	for _, r := range results {
		out[r.Outcome]++
	}
	return out
}
