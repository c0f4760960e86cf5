package main

import "net/http"

// readMethod reports whether r is a GET or HEAD. Otherwise it answers 405
// with an Allow header and usage (what to send instead) and reports false.
func readMethod(w http.ResponseWriter, r *http.Request, usage string) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, usage, http.StatusMethodNotAllowed)
	return false
}
