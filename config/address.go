package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// NormalizeAddress checks a host:port target and returns its one canonical
// spelling, so that one controller is one key for the per-container
// connection cap, read coalescing, the per-target probe bound and inventory
// lookups: hostnames lower-cased without a trailing dot, IP addresses in
// their standard form (an IPv4-mapped IPv6 address as plain IPv4), the port
// as a decimal number without leading zeros.
//
// Hosts that some resolvers read as an IPv4 address but that are not written
// as one (127.1, 0x7f000001, 2130706433, 0177.0.0.1) are refused: they would
// reach a controller under a second name.
func NormalizeAddress(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("empty; want host:port")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "" {
		return "", fmt.Errorf("%q has no host", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p < 1 {
		return "", fmt.Errorf("%q: port %q is not a number between 1 and 65535", addr, port)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return net.JoinHostPort(ip.Unmap().String(), strconv.FormatUint(p, 10)), nil
	}
	if strings.Contains(addr, "[") {
		return "", fmt.Errorf("%q: %q in brackets is not an IPv6 address", addr, host)
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" || len(h) > 253 {
		return "", fmt.Errorf("%q: host %q is not a host name", addr, host)
	}
	for _, r := range h {
		if !hostNameRune(r) {
			return "", fmt.Errorf("%q: host %q contains characters not allowed in a host name (%q)", addr, host, r)
		}
	}
	labels := strings.Split(h, ".")
	if slices.Contains(labels, "") {
		return "", fmt.Errorf("%q: host %q has an empty label", addr, host)
	}
	// A host whose last label is a number (or 0x…) is an IPv4 address in a
	// legacy notation to inet_aton, not a name.
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return "", fmt.Errorf("%q: host %q is neither an IP address in standard notation nor a host name; write IPv4 as a.b.c.d without leading zeros", addr, host)
	}
	return net.JoinHostPort(h, strconv.FormatUint(p, 10)), nil
}

// hostNameRune reports whether r may appear in a (lower-cased) host name.
func hostNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
}
