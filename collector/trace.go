package collector

import (
	"context"
	"time"
)

// ReadTrace is told about one Read of a probe: the operation, the URL asked
// for, how long it took and its outcome. The exporter's debug view
// (/probe?debug=true) and probe log use it.
type ReadTrace func(operation, url string, took time.Duration, err error)

type traceKey struct{}

// WithReadTrace returns a context whose Reads report to f.
func WithReadTrace(ctx context.Context, f ReadTrace) context.Context {
	return context.WithValue(ctx, traceKey{}, f)
}

func traceRead(ctx context.Context, address, operation string, start time.Time, err error) {
	if f, ok := ctx.Value(traceKey{}).(ReadTrace); ok && f != nil {
		f(operation, DeviceURL(address, operation, nil), time.Since(start), err)
	}
}
