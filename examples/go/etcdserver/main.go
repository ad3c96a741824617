// Command etcdserver runs a single-member etcd server in-process (go.etcd.io/etcd/server/v3
// embed) on loopback, for the multi-replica demo and for trying the proxy's -etcd mode
// without installing etcd. It is not a production etcd: run a real cluster for that.
//
//	etcdserver [-listen 127.0.0.1:2379] [-data-dir DIR] [-addr-file FILE]
//
// With -listen 127.0.0.1:0 it picks free ports; -addr-file receives the client endpoint once
// the server is ready. Without -data-dir the data lives in a temporary directory removed on
// exit. SIGINT/SIGTERM stop it.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:2379", "client address (loopback; port 0 picks a free one)")
	dataDir := flag.String("data-dir", "", "data directory (default: a temporary one, removed on exit)")
	addrFile := flag.String("addr-file", "", "write the client endpoint to this file once ready")
	flag.Parse()
	if err := run(*listen, *dataDir, *addrFile); err != nil {
		fmt.Fprintln(os.Stderr, "etcdserver:", err)
		os.Exit(1)
	}
}

func run(listen, dataDir, addrFile string) error {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %s: this demo server listens on loopback only", listen)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	if port == 0 {
		if port, err = freePort(); err != nil {
			return err
		}
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "rr-etcd-"); err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
	}
	cu := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(port))}
	pu := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(peerPort))}
	cfg := embed.NewConfig()
	cfg.Name = "route-registry-demo"
	cfg.Dir = dataDir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.MaxTxnOps = 1 << 16 // a provider's whole route set is one transaction
	cfg.MaxRequestBytes = 16 << 20
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		return fmt.Errorf("not ready after 30 s")
	}
	fmt.Printf("etcd ready at %s (data %s)\n", cu.String(), dataDir)
	if addrFile != "" {
		if err := os.WriteFile(addrFile+".tmp", []byte(cu.String()+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(addrFile+".tmp", addrFile); err != nil {
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
		return nil
	case err := <-e.Err():
		return err
	}
}
