package etcd

import (
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// DialConfig is a client configuration for endpoints (comma-separated, e.g.
// "http://127.0.0.1:2379") that suits a Mirror and a Publisher: the connection's reconnect
// backoff is capped at 1 s (so a mirror applies changes again within seconds of etcd coming
// back), dead connections are noticed by keep-alive pings within 3 s, and the client's own
// log lines are off (the mirror reports through log/slog).
func DialConfig(endpoints string) clientv3.Config {
	var eps []string
	for _, e := range strings.Split(endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	return clientv3.Config{
		Endpoints:            eps,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: time.Second,
		Logger:               zap.NewNop(),
		MaxCallSendMsgSize:   64 << 20,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		})},
	}
}

// Dial connects with DialConfig(endpoints).
func Dial(endpoints string) (*clientv3.Client, error) {
	return clientv3.New(DialConfig(endpoints))
}
