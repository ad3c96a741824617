module github.com/route-registry/examples/proxy

go 1.24

require github.com/route-registry/routes v0.0.0

replace github.com/route-registry/routes => ../../../bindings/go
