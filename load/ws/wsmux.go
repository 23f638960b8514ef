package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/gorilla/websocket"

	"volley/load"
	"volley/load/message"
	"volley/stats"
)

// wsMuxClient is a WSClient in echo mode seen as a MuxClient: the engine
// runs it on its multiplexed path, many messages in flight per connection,
// each connection a message.Mux over WebSocket links.
type wsMuxClient struct{ *Client }

var (
	_ load.MuxClient = wsMuxClient{}
	_ message.Link   = (*wsLink)(nil)
	_ message.Dialer = (*wsDialer)(nil)
)

// Streams is the most messages awaiting their echo on one connection.
func (c wsMuxClient) Streams() int { return c.streams }

// NewMuxConn hands out a connection opened by Open, or one that connects on
// its first message; its echoes are answered through a.
func (c wsMuxClient) NewMuxConn(a load.Answers) (load.MuxConn, error) {
	d := &wsDialer{c: c.Client, typ: websocket.TextMessage}
	if c.cfg.Binary {
		d.typ = websocket.BinaryMessage
	}
	m := message.NewMux(message.MuxConfig{
		Answers: a, Dialer: d, Frame: c.frame(), Match: c.cfg.Match,
		Streams: c.streams, Timeout: c.timeout, Epoch: c.epoch,
	})
	c.mu.Lock()
	c.muxes = append(c.muxes, m)
	ws := c.takeLocked()
	c.mu.Unlock()
	if ws != nil {
		l, err := d.link(ws, m)
		if err != nil {
			return nil, err
		}
		if err := m.Attach(l); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// wsDialer opens the WebSocket links of a Mux with the client's handshake.
type wsDialer struct {
	c   *Client
	typ int // text or binary frames
}

func (d *wsDialer) Dial(ctx context.Context, m *message.Mux) (message.Link, error) {
	ws, err := d.c.handshake(ctx)
	if err != nil {
		return nil, err
	}
	return d.link(ws, m)
}

// link makes ws a link of m: its reads go through the connection volley
// dialled, which turns a passed read deadline into m.Expire.
func (d *wsDialer) link(ws *websocket.Conn, m *message.Mux) (*wsLink, error) {
	nc, ok := ws.UnderlyingConn().(*wsNetConn)
	if !ok {
		_ = ws.Close()
		return nil, errors.New("websocket: connection not dialled by volley")
	}
	l := &wsLink{ws: ws, nc: nc, typ: d.typ, rbuf: make([]byte, wsReadBuffer)}
	nc.m, nc.l = m, l
	return l, nil
}

func (d *wsDialer) Classify(err error) stats.ErrorKind { return Classify(err) }

// Failed counts how a connection ended: the server's close code, 1002 for
// an invalid frame, 1006 when it dropped without a close frame.
func (d *wsDialer) Failed(err error) {
	var ce *websocket.CloseError
	switch kind := Classify(err); {
	case errors.As(err, &ce):
		d.c.noteClose(ce.Code)
	case kind == stats.ErrProtocol:
		d.c.noteClose(websocket.CloseProtocolError)
	case kind == stats.ErrReset || kind == stats.ErrClosed:
		d.c.noteClose(websocket.CloseAbnormalClosure)
	}
}

// wsLink is one opened WebSocket connection of a Mux, with its reader's
// buffer.
type wsLink struct {
	ws   *websocket.Conn
	nc   *wsNetConn
	typ  int
	rbuf []byte
}

func (l *wsLink) WriteMessage(msg []byte, deadline time.Time) error {
	_ = l.ws.SetWriteDeadline(deadline)
	return l.ws.WriteMessage(l.typ, msg)
}

func (l *wsLink) SetReadDeadline(t time.Time) error { return l.nc.SetReadDeadline(t) }

// Close sends a normal close frame first when volley closes the link; after
// an error it only closes the connection.
func (l *wsLink) Close(err error) {
	if err == nil {
		closeWS(l.ws)
		return
	}
	_ = l.ws.Close()
}

// ReadMessage reads one data message into l.rbuf, growing it if need be.
func (l *wsLink) ReadMessage() ([]byte, error) {
	_, r, err := l.ws.NextReader()
	if err != nil {
		return nil, err
	}
	n := 0
	for {
		if n == len(l.rbuf) {
			l.rbuf = append(l.rbuf, make([]byte, len(l.rbuf))...)
		}
		k, err := r.Read(l.rbuf[n:])
		n += k
		if err == io.EOF {
			return l.rbuf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// wsNetConn is the network connection under a WebSocket connection. While a
// Mux reads through it, a read deadline does not end the read: the
// messages overdue are answered as timeouts, the deadline moves to the next
// oldest and the read goes on, so that gorilla/websocket (which treats any
// read error, a deadline included, as the end of the connection) never
// sees it.
type wsNetConn struct {
	net.Conn
	m *message.Mux // set before the reader starts; nil for the handshake and subscribers
	l *wsLink
}

func (c *wsNetConn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		if err == nil || c.m == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if !c.m.Expire(c.l, err) {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}
