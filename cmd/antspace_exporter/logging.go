package main

import (
	"io"
	"log/slog"

	"github.com/go-kit/log"

	"github.com/antspace-exporter/antspace_exporter/internal/logging"
)

// newLogger builds the go-kit logger for the chosen format and level, and a
// slog.Logger (for exporter-toolkit) that writes the same format through it.
func newLogger(w io.Writer, format, lvl string) (log.Logger, *slog.Logger, error) {
	return logging.New(w, format, lvl, true)
}
