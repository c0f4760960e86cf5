package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/mock"
)

// /probe, /sd and /logs answer GET and HEAD; anything else gets 405 with an
// Allow header and what to send instead.
func TestReadOnlyEndpointsRefuseOtherMethods(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3})
	for _, tc := range []struct{ path, usage string }{
		{"/probe?target=hk3-a", "use GET /probe"},
		{"/sd", "use GET /sd"},
		{"/logs?id=1", "use GET /logs"},
	} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			req, err := http.NewRequest(method, env.server.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" || !strings.Contains(string(body), tc.usage) {
				t.Errorf("%s %s: %d, Allow %q, body %q; want 405, Allow \"GET, HEAD\" and %q", method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), body, tc.usage)
			}
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, err := http.NewRequest(method, env.server.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed {
				t.Errorf("%s %s: 405", method, tc.path)
			}
		}
	}
}
