package dial

import (
	"errors"
	"net"
	"testing"

	"volley/stats"
)

// TestInvalidNameFailsWithoutLookup checks that a .invalid name (RFC 6761)
// fails as a DNS error without any query leaving the machine.
func TestInvalidNameFailsWithoutLookup(t *testing.T) {
	for _, host := range []string{"volley-test.invalid", "INVALID", "a.b.Invalid."} {
		err := refuseInvalidName(net.JoinHostPort(host, "80"))
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound || Classify(err) != stats.ErrDNS {
			t.Errorf("refuseInvalidName(%q) = %v, want a not-found DNS error", host, err)
		}
	}
	for _, host := range []string{"127.0.0.1", "invalid.example", "notinvalid", "::1"} {
		if err := refuseInvalidName(net.JoinHostPort(host, "80")); err != nil {
			t.Errorf("refuseInvalidName(%q) = %v, want nil", host, err)
		}
	}
}
