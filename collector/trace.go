package collector

import (
	"context"
	"time"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

// ReadTrace is told about each read of a probe: the operation, how long it
// took and its outcome. The exporter's debug view (/probe?debug=true) and
// probe history use it.
type ReadTrace func(operation string, took time.Duration, err error)

type traceKey struct{}

// WithReadTrace returns a context whose probes report each read to f.
func WithReadTrace(ctx context.Context, f ReadTrace) context.Context {
	return context.WithValue(ctx, traceKey{}, f)
}

// traced wraps rd so its reads report to the context's ReadTrace, if any.
func traced(ctx context.Context, rd Reader) Reader {
	if f, ok := ctx.Value(traceKey{}).(ReadTrace); ok && f != nil {
		return tracingReader{rd, f}
	}
	return rd
}

type tracingReader struct {
	Reader
	trace ReadTrace
}

func (t tracingReader) Read(ctx context.Context, address, operation string, maxBodyBytes int64) (*payload.Envelope, error) {
	start := time.Now()
	env, err := t.Reader.Read(ctx, address, operation, maxBodyBytes)
	t.trace(operation, time.Since(start), err)
	return env, err
}
