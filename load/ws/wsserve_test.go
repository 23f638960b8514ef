package ws

import (
	"net/http"

	"github.com/gorilla/websocket"
)

// wsServe is an HTTP handler that upgrades with up and hands the WebSocket
// connection to serve, closing it when serve returns.
func wsServe(up *websocket.Upgrader, serve func(c *websocket.Conn, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		serve(c, r)
	}
}

// echoAll echoes every message on c in its frame type until c fails,
// calling each (when set) after each echo.
func echoAll(c *websocket.Conn, each func()) {
	for {
		typ, msg, err := c.ReadMessage()
		if err != nil || c.WriteMessage(typ, msg) != nil {
			return
		}
		if each != nil {
			each()
		}
	}
}
