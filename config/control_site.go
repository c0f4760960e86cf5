package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Defaults and hard bounds of the control section's site settings.
const (
	DefaultMaxBatch = 50
	// MaxMaxBatch bounds control.max_batch.
	MaxMaxBatch = 1000
	// DefaultBatchTimeout bounds a whole /control request's device work.
	DefaultBatchTimeout = 60 * time.Second
	// MaxBatchTimeout keeps a batch's answer inside the exporter's HTTP
	// write timeout (3 minutes), with room to encode and send it.
	MaxBatchTimeout            = 150 * time.Second
	DefaultApprovalTimeout     = 15 * time.Minute
	MaxApprovalTimeout         = 24 * time.Hour
	DefaultMaxPendingApprovals = 20
	MaxMaxPendingApprovals     = 1000
	// MaxApprovalsRequired bounds a control.approvals entry.
	MaxApprovalsRequired = 10
)

// ControlSite are the settings for a site with several teams and many
// containers: approvals for dangerous actions, batch and pending bounds.
// They are inlined into the control: section.
type ControlSite struct {
	// Approvals maps an action to the number of distinct credentials that
	// must approve it (the requester counts as the first); 1 or absent means
	// the action runs at once.
	Approvals map[string]int `yaml:"approvals,omitempty"`
	// ApprovalTimeout is how long a request waits for its approvals.
	ApprovalTimeout model.Duration `yaml:"approval_timeout,omitempty"`
	// MaxPendingApprovals bounds how many requests wait at once.
	MaxPendingApprovals int `yaml:"max_pending_approvals,omitempty"`
	// MaxBatch bounds how many containers one request may write.
	MaxBatch int `yaml:"max_batch,omitempty"`
	// BatchTimeout bounds one request's device work (writes and read-backs of
	// every container); containers whose turn comes later are not sent.
	BatchTimeout model.Duration `yaml:"batch_timeout,omitempty"`
}

// SiteLimits are the effective site settings, defaults filled in.
type SiteLimits struct {
	MaxBatch            int
	BatchTimeout        time.Duration
	ApprovalTimeout     time.Duration
	MaxPendingApprovals int
}

func defaultSiteLimits(l *ControlLimits) {
	l.SiteLimits = SiteLimits{
		MaxBatch:            DefaultMaxBatch,
		BatchTimeout:        DefaultBatchTimeout,
		ApprovalTimeout:     DefaultApprovalTimeout,
		MaxPendingApprovals: DefaultMaxPendingApprovals,
	}
}

func (ctl *Control) siteLimits(l *ControlLimits) {
	if ctl.MaxBatch > 0 {
		l.MaxBatch = ctl.MaxBatch
	}
	if ctl.BatchTimeout > 0 {
		l.BatchTimeout = time.Duration(ctl.BatchTimeout)
	}
	if ctl.ApprovalTimeout > 0 {
		l.ApprovalTimeout = time.Duration(ctl.ApprovalTimeout)
	}
	if ctl.MaxPendingApprovals > 0 {
		l.MaxPendingApprovals = ctl.MaxPendingApprovals
	}
}

// ApprovalsRequired is how many distinct credentials must approve action
// (the requester included) before it runs; 1 means it runs at once. Nil-safe.
func (ctl *Control) ApprovalsRequired(action string) int {
	if ctl == nil || ctl.Approvals[action] < 1 {
		return 1
	}
	return ctl.Approvals[action]
}

func (ctl *Control) validateSite() error {
	switch {
	case ctl.MaxBatch < 0 || ctl.MaxBatch > MaxMaxBatch:
		return fmt.Errorf("control.max_batch must be between 1 and %d (0 or absent: %d)", MaxMaxBatch, DefaultMaxBatch)
	case ctl.BatchTimeout < 0 || time.Duration(ctl.BatchTimeout) > MaxBatchTimeout:
		return fmt.Errorf("control.batch_timeout must be at most %s (the answer must arrive before the HTTP write timeout)", model.Duration(MaxBatchTimeout))
	case ctl.ApprovalTimeout < 0 || time.Duration(ctl.ApprovalTimeout) > MaxApprovalTimeout:
		return fmt.Errorf("control.approval_timeout must be at most %s", model.Duration(MaxApprovalTimeout))
	case ctl.MaxPendingApprovals < 0 || ctl.MaxPendingApprovals > MaxMaxPendingApprovals:
		return fmt.Errorf("control.max_pending_approvals must be between 1 and %d (0 or absent: %d)", MaxMaxPendingApprovals, DefaultMaxPendingApprovals)
	}
	actions := make([]string, 0, len(ctl.Approvals))
	for a := range ctl.Approvals {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		n := ctl.Approvals[a]
		if !knownAction(a) {
			return fmt.Errorf("control.approvals: unknown action %q (known: %s)", a, strings.Join(ControlActions, ", "))
		}
		if n < 1 || n > MaxApprovalsRequired {
			return fmt.Errorf("control.approvals.%s: must be between 1 and %d (the requester counts as the first approval)", a, MaxApprovalsRequired)
		}
	}
	return nil
}

// validateApprovalHolders refuses approvals that no request could collect:
// fewer credentials (inline and from credentials_file) hold the action than
// must approve it.
func (ctl *Control) validateApprovalHolders(all ControlCredentials) error {
	actions := make([]string, 0, len(ctl.Approvals))
	for a := range ctl.Approvals {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	creds := append(append([]*ControlCredential(nil), all.Tokens...), all.Users...)
	for _, a := range actions {
		n := ctl.Approvals[a]
		holders := 0
		for _, c := range creds {
			if c != nil && c.Allows(a) {
				holders++
			}
		}
		// A request that can never collect its approvals only waits and expires.
		if len(creds) > 0 && holders < n {
			return fmt.Errorf("control.approvals.%s: needs %d distinct credentials holding %s, but only %d do", a, n, a, holders)
		}
	}
	return nil
}

func knownAction(a string) bool {
	return slices.Contains(ControlActions, a)
}
