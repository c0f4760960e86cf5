package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	sloggokit "github.com/tjhop/slog-gokit"
)

// logLevels maps --log.level values to go-kit filters and the matching slog
// level for libraries (exporter-toolkit) that log through slog.
var logLevels = map[string]struct {
	filter level.Option
	slog   slog.Level
}{
	"debug": {level.AllowDebug(), slog.LevelDebug},
	"info":  {level.AllowInfo(), slog.LevelInfo},
	"warn":  {level.AllowWarn(), slog.LevelWarn},
	"error": {level.AllowError(), slog.LevelError},
}

// newLogger builds the go-kit logger for the chosen format and level, and a
// slog.Logger that writes through it.
func newLogger(w io.Writer, format, lvl string) (log.Logger, *slog.Logger, error) {
	l, ok := logLevels[lvl]
	if !ok {
		return nil, nil, fmt.Errorf("unknown log level %q", lvl)
	}
	var logger log.Logger
	switch format {
	case "logfmt":
		logger = log.NewLogfmtLogger(log.NewSyncWriter(w))
	case "json":
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	default:
		return nil, nil, fmt.Errorf("unknown log format %q", format)
	}
	logger = level.NewFilter(logger, l.filter)
	// The slog bridge adds its own time and caller; give it the bare logger.
	slogger := slog.New(sloggokit.NewGoKitHandler(logger, l.slog))
	logger = log.With(logger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	return logger, slogger, nil
}
