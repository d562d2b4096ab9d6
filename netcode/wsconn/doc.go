// Package wsconn carries protocol frames over WebSocket (github.com/lxzan/gws):
// one protobuf message per binary frame. The server side drains an outbox
// link onto the socket and hands complete frames to a handler; the client
// side dials and does the same in reverse.
//
// In a browser (GOOS=js) only the client side is built, on the browser's
// own WebSocket object (client_js.go): gws, the server side and raw
// sockets stay out of that build.
//
// wsconn knows nothing of rooms: it imports netcode and its outbox only.
package wsconn
