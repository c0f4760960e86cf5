package main

import (
	"net/http"
	"time"
)

// serverLimits bound what one client can hold of the exporter's own HTTP
// server: a client that sends its headers or body slowly, or reads the answer
// slowly, is cut off instead of keeping a connection and a goroutine forever.
type serverLimits struct {
	ReadHeaderTimeout time.Duration // request line and headers
	ReadTimeout       time.Duration // the whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the answer; longer than any probe
	IdleTimeout       time.Duration // a keep-alive connection between requests
	MaxHeaderBytes    int
}

var defaultServerLimits = serverLimits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      3 * time.Minute,
	IdleTimeout:       2 * time.Minute,
	MaxHeaderBytes:    64 << 10,
}

func newHTTPServer(h http.Handler, l serverLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}
