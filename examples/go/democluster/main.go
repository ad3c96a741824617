// Command democluster shows several proxy replicas agreeing through etcd, on loopback: it
// builds and starts an embedded etcd (examples/go/etcdserver), one publisher
// (examples/go/publish) and two proxy replicas (examples/go/proxy -etcd), sends requests for
// the same host to both replicas, changes the routes file, shows both replicas switch, kills
// the publisher and shows its routes expire with its lease. It exits 0 when everything
// happened as described. Run it from its directory (`make demo-cluster` at the top level).
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const host = "app.example.test"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "democluster:", err)
		os.Exit(1)
	}
	fmt.Println("demo-cluster: ok")
}

type procs struct{ list []*exec.Cmd }

func (p *procs) start(name string, logDir string, bin string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.list = append(p.list, cmd)
	return cmd, nil
}

// stopAll stops the processes in reverse order (SIGTERM, then SIGKILL after 5 s).
func (p *procs) stopAll() {
	for i := len(p.list) - 1; i >= 0; i-- {
		c := p.list[i]
		if c.ProcessState != nil {
			continue
		}
		_ = c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// upstream serves "upstream NAME" on a free loopback port.
func upstream(name string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s", name)
	})}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { srv.Close() }, nil
}

var client = &http.Client{Timeout: 2 * time.Second}

// get sends GET path with Host h to a replica; the status and body.
func get(replica, h, path string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, "http://"+replica+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	req.Host = h
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// waitAll waits until every replica answers a request for host as want says.
func waitAll(replicas []string, what string, d time.Duration, want func(int, string) bool) error {
	deadline := time.Now().Add(d)
	for {
		ok := true
		for _, r := range replicas {
			if st, body := get(r, host, "/"); !want(st, body) {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, r := range replicas {
				st, body := get(r, host, "/")
				fmt.Fprintf(&b, " [%s: %d %s]", r, st, body)
			}
			return fmt.Errorf("%s: not after %v:%s", what, d, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func show(replicas []string, label string) {
	for i, r := range replicas {
		st, body := get(r, host, "/")
		_, mirror := get(r, r, "/api/mirror")
		fmt.Printf("  %sreplica %d (%s): GET http://%s/ -> %d %s   mirror %s\n", label, i+1, r, host, st, body, mirror)
	}
}

func writeRoutes(path, upstreamAddr string) error {
	body := fmt.Sprintf(`[
  {"alias": "app", "upstream": "http://%s", "kind": "http"},
  {"alias": "db", "upstream": "tcp://%s", "kind": "stream"}
]
`, upstreamAddr, upstreamAddr)
	if err := os.WriteFile(path+".tmp", []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

func build(bin, dir, out string) error {
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w", bin, err)
	}
	return nil
}

func run() error {
	tmp, err := os.MkdirTemp("", "rr-demo-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	examples, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	bins := map[string]string{}
	for _, name := range []string{"etcdserver", "publish", "proxy"} {
		bins[name] = filepath.Join(tmp, name)
		if err := build(name, filepath.Join(examples, name), bins[name]); err != nil {
			return err
		}
	}
	addrA, stopA, err := upstream("A")
	if err != nil {
		return err
	}
	defer stopA()
	addrB, stopB, err := upstream("B")
	if err != nil {
		return err
	}
	defer stopB()

	var ps procs
	defer ps.stopAll()
	addrFile := filepath.Join(tmp, "etcd.addr")
	if _, err := ps.start("etcdserver", tmp, bins["etcdserver"], "-listen", "127.0.0.1:0", "-addr-file", addrFile); err != nil {
		return err
	}
	var endpoint string
	for deadline := time.Now().Add(30 * time.Second); endpoint == ""; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(addrFile); err == nil {
			endpoint = strings.TrimSpace(string(b))
		} else if time.Now().After(deadline) {
			return errors.New("etcd did not start within 30 s")
		}
	}
	fmt.Printf("etcd at %s; upstream A at %s, upstream B at %s\n", endpoint, addrA, addrB)

	routesFile := filepath.Join(tmp, "routes.json")
	if err := writeRoutes(routesFile, addrA); err != nil {
		return err
	}
	pub, err := ps.start("publish", tmp, bins["publish"], "-etcd", endpoint, "-routes", routesFile,
		"-provider", "demo", "-lease-ttl", "2s", "-poll", "100ms")
	if err != nil {
		return err
	}
	var replicas []string
	for i := 1; i <= 2; i++ {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		if _, err := ps.start(fmt.Sprintf("proxy%d", i), tmp, bins["proxy"], "-etcd", endpoint, "-listen", addr, "-interval", "1s"); err != nil {
			return err
		}
		replicas = append(replicas, addr)
	}
	fmt.Printf("publisher (provider demo, lease TTL 2s) and two proxy replicas at %s and %s\n", replicas[0], replicas[1])

	if err := waitAll(replicas, "both replicas route to A", 20*time.Second, func(st int, b string) bool { return st == 200 && b == "upstream A" }); err != nil {
		return err
	}
	fmt.Println("1. the publisher published app -> A; both replicas serve it:")
	show(replicas, "")

	if err := writeRoutes(routesFile, addrB); err != nil {
		return err
	}
	changed := time.Now()
	if err := waitAll(replicas, "both replicas switch to B", 10*time.Second, func(st int, b string) bool { return st == 200 && b == "upstream B" }); err != nil {
		return err
	}
	fmt.Printf("2. routes file changed to app -> B; both replicas switched within %v:\n", time.Since(changed).Round(time.Millisecond))
	show(replicas, "")

	_ = pub.Process.Kill() // a crash: nothing revokes the lease
	_ = pub.Wait()
	killed := time.Now()
	if err := waitAll(replicas, "the dead publisher's routes expire", 15*time.Second, func(st int, _ string) bool { return st == 404 }); err != nil {
		return err
	}
	fmt.Printf("3. publisher killed (SIGKILL); its lease expired and both replicas dropped its routes after %v:\n", time.Since(killed).Round(time.Millisecond))
	show(replicas, "")
	return nil
}
