// Package logging builds the one log format the exporter and the mock write,
// go-kit/log as the API: every line starts with ts, level and caller, in
// that order, whoever logged it (the exporter's code through go-kit, the
// exporter-toolkit through log/slog, the mock).
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	sloggokit "github.com/tjhop/slog-gokit"
)

// Formats are the values of --log.format.
var Formats = []string{"logfmt", "json"}

// Levels are the values of --log.level.
var Levels = []string{"debug", "info", "warn", "error"}

var levels = map[string]struct {
	filter level.Option
	slog   slog.Level
}{
	"debug": {level.AllowDebug(), slog.LevelDebug},
	"info":  {level.AllowInfo(), slog.LevelInfo},
	"warn":  {level.AllowWarn(), slog.LevelWarn},
	"error": {level.AllowError(), slog.LevelError},
}

// New returns a go-kit logger writing format to w, dropping lines below lvl,
// and a slog.Logger for libraries that log through slog, writing the same
// lines. withCaller adds caller=file:line.
func New(w io.Writer, format, lvl string, withCaller bool) (log.Logger, *slog.Logger, error) {
	l, ok := levels[lvl]
	if !ok {
		return nil, nil, fmt.Errorf("unknown log level %q (one of debug, info, warn, error)", lvl)
	}
	var out log.Logger
	switch format {
	case "logfmt":
		out = log.NewLogfmtLogger(log.NewSyncWriter(w))
	case "json":
		out = log.NewJSONLogger(log.NewSyncWriter(w))
	default:
		return nil, nil, fmt.Errorf("unknown log format %q (one of logfmt, json)", format)
	}
	base := level.NewFilter(canonical{out}, l.filter)
	// The slog bridge adds its own time, level and caller; canonical
	// renames and orders them like everyone else's.
	slogger := slog.New(sloggokit.NewGoKitHandler(base, l.slog))
	logger := log.With(base, "ts", log.DefaultTimestampUTC)
	if withCaller {
		logger = log.With(logger, "caller", log.DefaultCaller)
	}
	return logger, slogger, nil
}

// canonical puts ts, level and caller first, in that order, and writes the
// slog bridge's time key as ts, in UTC like log.DefaultTimestampUTC.
type canonical struct{ next log.Logger }

func (c canonical) Log(keyvals ...any) error {
	var ts, lvl, caller any
	rest := make([]any, 0, len(keyvals))
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 >= len(keyvals) {
			rest = append(rest, keyvals[i], log.ErrMissingValue)
			break
		}
		k, v := keyvals[i], keyvals[i+1]
		switch {
		case k == "ts" || k == slog.TimeKey:
			if t, ok := v.(time.Time); ok {
				v = t.UTC()
			}
			ts = v
		case k == level.Key():
			lvl = v
		case k == "caller":
			caller = v
		default:
			rest = append(rest, k, v)
		}
	}
	out := make([]any, 0, len(rest)+6)
	if ts == nil {
		ts = time.Now().UTC()
	}
	out = append(out, "ts", ts)
	if lvl != nil {
		out = append(out, level.Key(), lvl)
	}
	if caller != nil {
		out = append(out, "caller", caller)
	}
	return c.next.Log(append(out, rest...)...)
}

// Canonical wraps a logger so its lines follow the same order (ts, level,
// caller first), for loggers built outside New (the probe debug view).
func Canonical(l log.Logger) log.Logger { return canonical{l} }
