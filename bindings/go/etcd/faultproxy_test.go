package etcd

import (
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// faultProxy is a loopback TCP proxy in front of etcd that can refuse connections, kill the
// open ones, or cut a connection after a number of bytes sent by etcd.
type faultProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   map[net.Conn]bool
	blocked bool
	cut     atomic.Int64 // >0: cut the next server->client stream after that many bytes
	ncuts   atomic.Int64
}

func startFaultProxy(tb testing.TB, endpoint string) *faultProxy {
	u, err := url.Parse(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	fp := &faultProxy{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	go fp.accept()
	tb.Cleanup(func() { ln.Close(); fp.killAll() })
	return fp
}

func (fp *faultProxy) endpoint() string { return "http://" + fp.ln.Addr().String() }

func (fp *faultProxy) setBlocked(b bool) {
	fp.mu.Lock()
	fp.blocked = b
	fp.mu.Unlock()
}

func (fp *faultProxy) cutAfter(n int64) { fp.cut.Store(n) }

func (fp *faultProxy) cuts() int64 { return fp.ncuts.Load() }

func (fp *faultProxy) killAll() {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for c := range fp.conns {
		c.Close()
	}
}

func (fp *faultProxy) accept() {
	for {
		c, err := fp.ln.Accept()
		if err != nil {
			return
		}
		fp.mu.Lock()
		blocked := fp.blocked
		fp.mu.Unlock()
		if blocked {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", fp.target)
		if err != nil {
			c.Close()
			continue
		}
		fp.mu.Lock()
		fp.conns[c], fp.conns[s] = true, true
		fp.mu.Unlock()
		closeBoth := func() {
			c.Close()
			s.Close()
			fp.mu.Lock()
			delete(fp.conns, c)
			delete(fp.conns, s)
			fp.mu.Unlock()
		}
		go func() { _, _ = io.Copy(s, c); closeBoth() }()
		go func() { fp.copyDown(c, s); closeBoth() }()
	}
}

// copyDown copies etcd's bytes to the client; once armed, it cuts after the given count.
func (fp *faultProxy) copyDown(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	var budget int64 = -1
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if budget < 0 {
				if c := fp.cut.Swap(0); c > 0 {
					budget = c
				}
			}
			if budget >= 0 {
				if int64(n) >= budget {
					_, _ = dst.Write(buf[:budget])
					fp.ncuts.Add(1)
					return
				}
				budget -= int64(n)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
