package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"volley/load"
	"volley/load/protocols"
	"volley/load/request"
	"volley/stats"
)

// A Go program runs a plan as `volley run` does and reads its result: here
// 200 requests over 4 connections, judged by one threshold.
func ExampleExecute() {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()

	cfg := load.Config{
		Spec:        request.Spec{Request: request.Request{Method: "GET", URL: srv.URL}},
		Connections: 4,
		Requests:    200,
		Timeout:     5 * time.Second,
		MaxBody:     1 << 20,
	}
	client, err := protocols.NewClient(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	errorRate, err := stats.ParseThreshold("error_rate<1%")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := load.Execute(context.Background(), load.Execution{Config: cfg, Thresholds: []stats.Threshold{errorRate}}, client)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d requests, %d 2xx, over %s\n", res.Requests.Total, res.Status["2xx"], res.Protocol)
	fmt.Printf("%s passed: %v\n", res.Thresholds[0].Threshold, res.Thresholds[0].Pass)
	// Output:
	// 200 requests, 200 2xx, over HTTP/1.1
	// error_rate<1% passed: true
}
