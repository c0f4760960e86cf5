package main

import (
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// proberLog writes the outcome lines of probes (failed, fields unreadable,
// minerInfo failed) to the exporter's log at the level --log.prober chose,
// and keeps a target that fails the same way scrape after scrape from
// flooding it: the first failure is logged, identical repeats only once per
// repeat interval (with how many were left out), and the recovery once.
type proberLog struct {
	level  func(log.Logger) log.Logger
	repeat time.Duration // 0 logs every failure
	now    func() time.Time

	mu    sync.Mutex
	state map[problemKey]*problemState
}

// problemKey is a target and a kind of problem (a struct, not a joined
// string, so looking one up allocates nothing).
type problemKey struct{ key, kind string }

type problemState struct {
	reason     string
	since      time.Time
	lastLogged time.Time
	suppressed int
}

// maxProblemStates bounds the repeat tracking (targets in no-inventory mode
// are arbitrary); past it a problem is logged every time.
const maxProblemStates = 2 * maxTrackedContainers

var proberLevels = map[string]func(log.Logger) log.Logger{
	"debug": level.Debug, "info": level.Info, "warn": level.Warn, "error": level.Error,
}

// newProberLog logs probe problems at lvl (debug, info, warn, error; the
// flag is an enum, anything else means warn).
func newProberLog(lvl string, repeat time.Duration) *proberLog {
	f, ok := proberLevels[lvl]
	if !ok {
		f = level.Warn
	}
	return &proberLog{level: f, repeat: repeat, now: time.Now, state: map[problemKey]*problemState{}}
}

// problem logs (or counts) one probe problem of a kind ("probe", "fields",
// "minerInfo") for a target; reason decides what counts as the same problem.
func (p *proberLog) problem(l log.Logger, key, kind, reason string, keyvals ...any) {
	if p.repeat <= 0 {
		p.level(l).Log(keyvals...)
		return
	}
	now := p.now()
	k := problemKey{key, kind}
	p.mu.Lock()
	st, ok := p.state[k]
	if ok && st.reason == reason && now.Sub(st.lastLogged) < p.repeat {
		st.suppressed++
		p.mu.Unlock()
		return
	}
	suppressed, since := 0, now
	if ok && st.reason == reason {
		suppressed, since = st.suppressed, st.since
	}
	if ok || len(p.state) < maxProblemStates {
		p.state[k] = &problemState{reason: reason, since: since, lastLogged: now}
	}
	p.mu.Unlock()
	if suppressed > 0 {
		keyvals = append(keyvals, "repeated", suppressed, "failing_since", since.UTC().Format(time.RFC3339))
	}
	p.level(l).Log(keyvals...)
}

// resolved logs, once, that a problem a target had is gone.
func (p *proberLog) resolved(l log.Logger, key, kind, msg string) {
	p.resolvedLazy(func() log.Logger { return l }, key, kind, msg)
}

// resolvedLazy is resolved with the logger built only when the line is
// logged.
func (p *proberLog) resolvedLazy(l func() log.Logger, key, kind, msg string) {
	if p.repeat <= 0 {
		return
	}
	k := problemKey{key, kind}
	p.mu.Lock()
	st, ok := p.state[k]
	delete(p.state, k)
	p.mu.Unlock()
	if ok {
		level.Info(l()).Log("msg", msg, "problem_since", st.since.UTC().Format(time.RFC3339), "repeats_not_logged", st.suppressed)
	}
}

// tracking reports whether any target has a problem whose recovery is to be
// logged; when none has, a probe that succeeded has nothing to look up.
func (p *proberLog) tracking() bool {
	if p.repeat <= 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.state) > 0
}
