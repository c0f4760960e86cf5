package mock

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// Server is a Container served on a real TCP listener.
type Server struct {
	*Container
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Start creates a container and serves it on addr ("127.0.0.1:0" picks a free port).
func Start(o Options, addr string) (*Server, error) {
	c, err := NewContainer(o)
	if err != nil {
		return nil, err
	}
	return Serve(c, addr)
}

// Serve serves an existing container on addr.
func Serve(c *Container, addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Container: c,
		ln:        ln,
		srv:       &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second},
		done:      make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns the listening address as host:port, what the exporter takes as a target.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the base URL, e.g. http://127.0.0.1:8000.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close closes the listener and every connection, releasing hanging requests.
func (s *Server) Close() error {
	s.Stop()
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
