package main

import (
	"net/url"
	"strings"
	"testing"
)

// probeQuery.parse reads target, module and debug as url.ParseQuery does,
// by hand for a plain query and through url.ParseQuery for any other.
func TestProbeQueryMatchesParseQuery(t *testing.T) {
	for _, raw := range []string{
		"", "target=c", "target=c&module=hk3", "target=a&target=b", "target=", "module=hk3", "target=c&debug=true",
		"target=a%20b", "target=a+b", "target=c;x", "target=c&&debug=false", "debug", "target", "=x&target=y",
		"target=a=b", "x=1&target=%zz", "TARGET=c", "target=1&target=2&target=3&debug=true&debug=x",
		"target=c" + strings.Repeat("&x=1", maxFastQueryParams+1), "target=%E2%9C%93&module=%zz",
	} {
		var q probeQuery
		q.parse(&url.URL{RawQuery: raw})
		want, _ := url.ParseQuery(raw)
		for _, p := range []struct {
			key string
			got queryParam
		}{{"target", q.target}, {"module", q.module}, {"debug", q.debug}} {
			w := want[p.key]
			if p.got.n != len(w) || (len(w) > 0 && p.got.first != w[0]) {
				t.Errorf("%q: %s given %d times, first %q; url.ParseQuery: %q", raw, p.key, p.got.n, p.got.first, w)
			}
		}
	}
}
