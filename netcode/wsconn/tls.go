//go:build !js

package wsconn

import (
	"crypto/tls"
	"net"
)

func tlsClient(c net.Conn, serverName string) net.Conn {
	return tls.Client(c, &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12})
}
