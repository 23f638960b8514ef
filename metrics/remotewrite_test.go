package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
)

// TestRemoteWriteAuthAndFallback: basic auth from the URL and a bearer
// token arrive and never show in the receiver's name; a receiver that
// refuses native histograms gets the same frame again without them at once,
// and every later frame without them, in one request each. (Against a real
// Prometheus, TestMetricsRealPrometheus checks what is stored.)
func TestRemoteWriteAuthAndFallback(t *testing.T) {
	var auth []string
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, b)
		if err != nil || r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		auth = append(auth, r.Header.Get("Authorization"))
		sizes = append(sizes, len(raw))
		if len(sizes) == 1 {
			http.Error(w, "native histograms are disabled", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	rw, err := NewRemoteWrite(strings.Replace(srv.URL, "http://", "http://writer:pw123@", 1)+"/api/v1/write", RemoteWriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rw.Name(), "pw123") || !strings.Contains(rw.Name(), "prometheus-rw=") {
		t.Errorf("name %q: want the receiver named, the password hidden", rw.Name())
	}
	for range 2 {
		if err := rw.Push(context.Background(), testFrame()); err != nil {
			t.Fatalf("push: %v", err)
		}
	}
	if len(sizes) != 3 || sizes[1] >= sizes[0] || sizes[2] != sizes[1] {
		t.Errorf("request sizes %v: want a refused one with native histograms, then two smaller without", sizes)
	}
	if auth[0] != "Basic d3JpdGVyOnB3MTIz" {
		t.Errorf("Authorization %q, want basic auth from the URL", auth[0])
	}
	rw, _ = NewRemoteWrite(srv.URL, RemoteWriteOptions{BearerToken: "tok"})
	_ = rw.Push(context.Background(), testFrame())
	if auth[len(auth)-1] != "Bearer tok" {
		t.Errorf("Authorization %q, want the bearer token", auth[len(auth)-1])
	}
	if err := rw.Push(context.Background(), testFrame()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRemoteWrite("ftp://127.0.0.1/", RemoteWriteOptions{}); err == nil {
		t.Error("an ftp URL was taken")
	}
}
